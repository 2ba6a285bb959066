"""Transfer: an upstream model's stored weights → a downstream task, by linear probe or full fine-tune. Pure:
no database, no broker (the runner fetches the weights and stores the result).

Both start from the upstream model exactly as trained, with its classifier head replaced by a new one for the
task's classes (drawn from the run's seed). The probe freezes everything else, BatchNorm statistics included
(the backbone stays in eval mode), and trains the head; the fine-tune trains every weight. Each uses its
task's fixed recipe (``app.benchmarks.downstream``) through the same loop as every run (``engine.train_model``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from app.benchmarks.downstream import DownstreamTask
from app.benchmarks.registry import Benchmark
from app.zoo.build import build_model
from app.zoo.spec import ArchSpec, spec_hash
from workers.training.engine import train_model
from workers.training.results import EpochMetrics, TrainResult
from workers.training.weights import load_weights


def head_path(model: nn.Module, num_classes: int) -> str:
    """The classifier head: the last ``nn.Linear`` (in registration order) with one output per class."""
    found = [name for name, m in model.named_modules() if isinstance(m, nn.Linear) and m.out_features == num_classes]
    if not found:
        raise ValueError(f"no linear layer with {num_classes} outputs: cannot find the classifier head")
    return found[-1]


def replace_head(model: nn.Module, path: str, num_classes: int) -> nn.Linear:
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    old = getattr(parent, name)
    head = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    setattr(parent, name, head)
    return head


class LinearProbe(nn.Module):
    """A trained model with only its (new) head trainable; the rest stays in eval mode whatever ``train()`` is
    asked, so BatchNorm statistics stay the upstream ones. ``inner`` is the model itself (its weights are what
    gets stored)."""

    def __init__(self, model: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.inner = model
        self._head = [head]  # not a submodule twice: the head lives inside ``inner``
        for p in model.parameters():
            p.requires_grad_(False)
        for p in head.parameters():
            p.requires_grad_(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)

    def train(self, mode: bool = True) -> LinearProbe:
        super().train(mode)
        self.inner.eval()
        self._head[0].train(mode)
        return self


def transfer_model(spec: ArchSpec, benchmark: Benchmark, task: DownstreamTask, kind: str, weights: bytes) -> nn.Module:
    """The upstream model with ``weights`` loaded and a new head for ``task``; wrapped as a ``LinearProbe`` for
    ``kind == "probe"``."""
    if task.upstream != benchmark.slug or task.input_shape != benchmark.input_shape:
        raise ValueError(f"task {task.slug} does not take models of {benchmark.slug}")
    model = build_model(spec, benchmark.input_shape, benchmark.num_classes)
    load_weights(model, weights)
    head = replace_head(model, head_path(model, benchmark.num_classes), task.num_classes)
    return LinearProbe(model, head) if kind == "probe" else model


def unwrap(model: nn.Module) -> nn.Module:
    """The model whose weights are stored (a probe's ``inner`` model)."""
    return model.inner if isinstance(model, LinearProbe) else model


def train_transfer(
    spec: ArchSpec,
    benchmark: Benchmark,
    task: DownstreamTask,
    kind: str,
    seed: int,
    weights: bytes,
    *,
    device: str = "cpu",
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    max_epochs: int | None = None,
    time_limit_s: float | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_trained: Callable[[nn.Module], None] | None = None,
    data_dir: Path | None = None,
) -> TrainResult:
    """Train ``kind`` ("probe" or "finetune") of ``task`` from the upstream ``weights`` with ``seed``; the result
    is an ordinary ``TrainResult`` (its recipe version is the transfer recipe's). Raises ``TrainingFailed``."""
    del data_dir  # the built-in tasks are generated; a task from downloaded files would read it

    def factory() -> nn.Module:
        try:
            return transfer_model(spec, benchmark, task, kind, weights)
        except (KeyError, RuntimeError) as exc:  # weights of another architecture
            raise ValueError(f"the stored weights do not fit this spec: {str(exc)[:300]}") from exc

    def keep(model: nn.Module) -> None:
        if on_trained is not None:
            on_trained(unwrap(model))

    return train_model(
        factory,
        task.load(),
        task.recipe(kind),
        seed,
        spec_hash=spec_hash(spec),
        device=device,
        on_epoch=on_epoch,
        max_epochs=max_epochs,
        time_limit_s=time_limit_s,
        should_stop=should_stop,
        on_trained=keep,
    )
