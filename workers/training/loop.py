"""``train``: one run of one spec on one benchmark with one seed. Pure: no database, no Celery, no broker."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from torch import nn

from app.benchmarks.recipes import with_train_fraction
from app.benchmarks.registry import Benchmark
from app.benchmarks.splits import train_subset
from app.zoo.build import build_model
from app.zoo.spec import ArchSpec, spec_hash
from workers.training.engine import train_model
from workers.training.results import EpochMetrics, TrainResult


def train(
    spec: ArchSpec,
    benchmark: Benchmark,
    seed: int,
    *,
    device: str = "cpu",
    data_dir: Path | None = None,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    max_epochs: int | None = None,
    time_limit_s: float | None = None,
    compile_model: bool = False,
    train_fraction: float | None = None,
) -> TrainResult:
    """Train ``spec`` on ``benchmark`` with its fixed recipe and ``seed``; return the final metrics.

    ``seed`` fixes the initial weights (``torch.manual_seed`` before ``build_model``), the data order and
    every augmentation draw; on CPU the same seed reproduces the same numbers bit for bit. ``on_epoch`` is
    called once per epoch with that epoch's metrics (after validation). ``max_epochs`` caps the recipe's
    epochs for tests and development; the result's ``recipe_version`` then carries a ``+epochs<N>`` suffix.
    ``time_limit_s`` bounds the wall time since the call began, checked between steps. ``compile_model`` wraps
    the model in ``torch.compile`` (off by default: the cold compile costs more than it saves on the small
    benchmarks). ``train_fraction`` trains on a fixed stratified subset of the train split (the same images
    for every seed and spec; see ``train_subset``) with the same recipe; the result's ``recipe_version`` then
    carries a ``+train<P>%`` suffix.

    Raises ``TrainingFailed`` (kind ``diverged`` / ``oom`` / ``timeout`` / ``invalid_spec`` / ``error``).
    """
    splits = benchmark.load(data_dir)
    if train_fraction is not None:
        splits = train_subset(splits, train_fraction)
    c, h, w = benchmark.input_shape

    def factory() -> nn.Module:
        return build_model(spec, (c, h, w), benchmark.num_classes)

    result = train_model(
        factory,
        splits,
        benchmark.recipe,
        seed,
        spec_hash=spec_hash(spec),
        device=device,
        on_epoch=on_epoch,
        max_epochs=max_epochs,
        time_limit_s=time_limit_s,
        compile_model=compile_model,
    )
    return dataclasses.replace(result, recipe_version=with_train_fraction(result.recipe_version, train_fraction))
