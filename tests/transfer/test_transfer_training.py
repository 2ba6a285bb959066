"""Transfer training, pure: the head found in every digits preset, a probe that moves only its head, a fine-tune
that moves everything, both from stored weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.benchmarks.downstream import get_task, tasks_for
from app.benchmarks.registry import get_benchmark
from app.zoo.build import build_model
from app.zoo.presets import PRESETS
from app.zoo.spec import parse_spec
from workers.keep import KeptWeights
from workers.training.results import TrainingFailed
from workers.training.train_spec import train
from workers.training.transfer import head_path, train_transfer
from workers.training.weights import state_bytes, weights_bytes

DIGITS = get_benchmark("digits")
TASK = get_task("digits_rot90")
DIGITS_PRESETS = sorted(name for name in PRESETS if name.endswith("_digits"))


def test_digits_declares_the_rotated_digits_pair() -> None:
    assert [t.slug for t in tasks_for("digits")] == ["digits_rot90"]
    splits = TASK.load()
    assert len(splits.train) == TASK.n_train == 288 and splits.test2 is None
    assert len(splits.test) == TASK.n_test == DIGITS.n_test and splits.train.x.shape[1:] == DIGITS.input_shape
    upright = DIGITS.load()
    assert not np.array_equal(splits.test.x, upright.test.x)
    assert (splits.test.y == upright.test.y).all()  # the same images, turned: labels in the same order


@pytest.mark.parametrize("preset", DIGITS_PRESETS)
def test_the_head_is_the_last_layer(preset: str) -> None:
    torch.manual_seed(0)
    model = build_model(parse_spec({"preset": preset, "overrides": {}}), DIGITS.input_shape, 10).eval()
    head = model.get_submodule(head_path(model, 10))
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.arange(10.0))
        out = model(torch.randn(3, *DIGITS.input_shape))
    assert torch.allclose(out, torch.arange(10.0).expand(3, 10))


@pytest.fixture(scope="module")
def upstream() -> tuple[bytes, dict[str, torch.Tensor]]:
    kept = KeptWeights()
    spec = parse_spec({"preset": "tiny_resnet_digits", "overrides": {}})
    train(spec, DIGITS, 0, max_epochs=1, on_trained=kept)
    assert kept.state is not None
    return state_bytes(kept.state, {}), kept.state


def _transfer(kind: str, weights: bytes) -> tuple[float, dict[str, torch.Tensor]]:
    kept = KeptWeights()
    spec = parse_spec({"preset": "tiny_resnet_digits", "overrides": {}})
    result = train_transfer(spec, DIGITS, TASK, kind, 0, weights, max_epochs=2, on_trained=kept)
    assert result.recipe_version == f"digits_rot90-{kind}-v1+epochs2" and result.seed == 0
    assert kept.state is not None
    return result.test_acc, kept.state


def test_a_probe_trains_only_the_new_head(upstream: tuple[bytes, dict[str, torch.Tensor]]) -> None:
    weights, before = upstream
    acc, after = _transfer("probe", weights)
    head = head_path(build_model(parse_spec({"preset": "tiny_resnet_digits", "overrides": {}}), (1, 8, 8), 10), 10)
    assert set(after) == set(before)
    moved = {name for name in before if not torch.equal(before[name], after[name])}
    assert moved == {f"{head}.weight", f"{head}.bias"}  # BatchNorm statistics included: the backbone is frozen
    assert acc > 0.3  # well above chance (0.1) from frozen upright-digit features


def test_a_fine_tune_trains_every_layer(upstream: tuple[bytes, dict[str, torch.Tensor]]) -> None:
    weights, before = upstream
    _, after = _transfer("finetune", weights)
    params = [n for n in before if "running" not in n and "num_batches" not in n]
    assert sum(not torch.equal(before[n], after[n]) for n in params) == len(params)


def test_weights_of_another_spec_fail_as_an_invalid_spec() -> None:
    other = build_model(parse_spec({"preset": "tiny_plain_digits", "overrides": {}}), (1, 8, 8), 10)
    spec = parse_spec({"preset": "tiny_resnet_digits", "overrides": {}})
    with pytest.raises(TrainingFailed) as failed:
        train_transfer(spec, DIGITS, TASK, "probe", 0, weights_bytes(other, {}), max_epochs=1)
    assert failed.value.kind == "invalid_spec" and "do not fit" in failed.value.message
