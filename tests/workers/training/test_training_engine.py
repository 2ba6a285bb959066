"""The loop on the real ``digits`` data with a tiny local CNN, through ``train_model`` (the seam below
``train``)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pytest
import torch
from torch import nn

from app.benchmarks.recipes import Recipe
from app.benchmarks.splits import Splits
from workers.training.engine import train_model
from workers.training.results import EpochMetrics, TrainingFailed, TrainResult

Factory = Callable[[], nn.Module]


def _metrics(r: TrainResult) -> tuple[object, ...]:
    return (
        r.train_loss, r.train_acc, r.val_loss, r.val_acc, r.test_loss, r.test_acc, r.test2_loss, r.test2_acc,
        [dataclasses.replace(e, elapsed_s=0.0) for e in r.epochs],
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tiny_factory: Factory, digits_splits: Splits, recipe: Recipe) -> dict[str, object]:
    """Three 2-epoch runs (seed 0 twice, seed 1 once), shared by the tests below to keep the suite fast."""
    calls: list[EpochMetrics] = []
    a = train_model(tiny_factory, digits_splits, recipe, 0, spec_hash="h", max_epochs=2, on_epoch=calls.append)
    b = train_model(tiny_factory, digits_splits, recipe, 0, spec_hash="h", max_epochs=2)
    c = train_model(tiny_factory, digits_splits, recipe, 1, spec_hash="h", max_epochs=2)
    return {"a": a, "b": b, "c": c, "calls": calls}


def test_same_seed_reproduces_bit_for_bit(runs: dict[str, TrainResult]) -> None:
    assert _metrics(runs["a"]) == _metrics(runs["b"])


def test_different_seed_gives_different_numbers(runs: dict[str, TrainResult]) -> None:
    a, c = runs["a"], runs["c"]
    assert a.val_loss != c.val_loss and a.train_loss != c.train_loss


def test_on_epoch_fires_once_per_epoch(runs: dict[str, object]) -> None:
    calls = runs["calls"]
    result = runs["a"]
    assert isinstance(result, TrainResult)
    assert [m.epoch for m in calls] == [1, 2]  # type: ignore[attr-defined]
    assert all(m.epochs == 2 for m in calls)  # type: ignore[attr-defined]
    assert calls == result.epochs
    elapsed = [m.elapsed_s for m in result.epochs]
    assert 0 < elapsed[0] < elapsed[1]


def test_result_is_stamped_and_capped_runs_are_tagged(runs: dict[str, TrainResult], recipe: Recipe) -> None:
    r = runs["a"]
    assert r.recipe_version == f"{recipe.version}+epochs2"
    assert r.seed == 0 and r.spec_hash == "h" and r.device == "cpu"
    assert r.torch_version == torch.__version__ and r.code_version
    assert r.images_per_second > 0 and r.wall_seconds > r.epochs[-1].elapsed_s
    assert r.test2_loss is not None and r.test2_acc is not None  # digits has a second test set
    assert r.val_loss == r.epochs[-1].val_loss


def test_tiny_model_learns_digits(runs: dict[str, TrainResult]) -> None:
    r = runs["a"]
    assert r.val_acc > 0.5 and r.test_acc > 0.5  # chance is 0.1


def test_uncapped_run_keeps_the_recipe_version(tiny_factory: Factory, digits_splits: Splits, recipe: Recipe) -> None:
    short = dataclasses.replace(recipe, epochs=1)
    r = train_model(tiny_factory, digits_splits, short, 0, max_epochs=5)
    assert r.recipe_version == recipe.version and len(r.epochs) == 1


def test_divergence_is_reported_with_its_epoch(tiny_factory: Factory, digits_splits: Splits, recipe: Recipe) -> None:
    bad = dataclasses.replace(recipe, optimizer="sgd", lr=1e30, grad_clip=None)
    with pytest.raises(TrainingFailed) as info:
        train_model(tiny_factory, digits_splits, bad, 0, max_epochs=2)
    assert info.value.kind == "diverged"
    assert info.value.epoch == 1
    assert "epoch 1 (step" in info.value.message


def test_time_limit(tiny_factory: Factory, digits_splits: Splits, recipe: Recipe) -> None:
    with pytest.raises(TrainingFailed) as info:
        train_model(tiny_factory, digits_splits, recipe, 0, time_limit_s=1e-6)
    assert info.value.kind == "timeout" and info.value.epoch == 1


def test_unbuildable_model_is_an_invalid_spec(digits_splits: Splits, recipe: Recipe) -> None:
    def factory() -> nn.Module:
        raise ValueError("width must be positive")

    with pytest.raises(TrainingFailed) as info:
        train_model(factory, digits_splits, recipe, 0)
    assert info.value.kind == "invalid_spec" and "width must be positive" in info.value.message


class _Raises(nn.Module):
    """Fails in its first forward pass with the given exception."""

    def __init__(self, exc: Exception) -> None:
        super().__init__()
        self.lin = nn.Linear(64, 10)
        self.exc = exc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), "oom"),
        (RuntimeError("mat1 and mat2 shapes cannot be multiplied"), "error"),
    ],
)
def test_failures_in_a_step_are_classified(exc: Exception, kind: str, digits_splits: Splits, recipe: Recipe) -> None:
    with pytest.raises(TrainingFailed) as info:
        train_model(lambda: _Raises(exc), digits_splits, recipe, 0)
    assert info.value.kind == kind and info.value.epoch == 1


def test_results_are_plain_json(runs: dict[str, TrainResult]) -> None:
    text = json.dumps(dataclasses.asdict(runs["a"]), allow_nan=False)
    assert json.loads(text)["epochs"][0]["epoch"] == 1


def test_private_test_split_is_evaluated_when_present(
    tiny_factory: Factory, digits_splits: Splits, recipe: Recipe
) -> None:
    without = dataclasses.replace(digits_splits, test_private=None)
    absent = train_model(tiny_factory, without, recipe, 0, spec_hash="h", max_epochs=1)
    assert absent.test_private_loss is None and absent.test_private_acc is None and absent.n_test_private is None
    assert absent.n_test == len(digits_splits.test)
    # The public test images as a private split: the same model must score them identically.
    with_private = dataclasses.replace(digits_splits, test_private=digits_splits.test)
    r = train_model(tiny_factory, with_private, recipe, 0, spec_hash="h", max_epochs=1)
    assert r.n_test_private == r.n_test == len(digits_splits.test)
    assert r.test_private_acc == r.test_acc and r.test_private_loss == r.test_loss
    assert _metrics(r) == _metrics(absent)  # the extra evaluation changes nothing else


def test_should_stop_ends_the_run_between_steps(tiny_factory: Factory, digits_splits: Splits, recipe: Recipe) -> None:
    epochs: list[int] = []
    with pytest.raises(TrainingFailed) as info:
        train_model(
            tiny_factory, digits_splits, recipe, 0, max_epochs=3,
            on_epoch=lambda m: epochs.append(m.epoch), should_stop=lambda: len(epochs) >= 1,
        )  # fmt: skip
    assert info.value.kind == "stopped" and info.value.epoch == 2
    assert epochs == [1]
