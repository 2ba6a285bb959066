"""A spec on a benchmark: build the model, load the data, call the engine. Pure: no database, no Celery.

- ``train``: one run (one seed), the reference path (``engine.train_model``).
- ``train_batched``: several runs of one spec (seeds of a submission, or the same spec across submissions)
  as one batched model (``batched.train_models_batched``), one outcome per member.
- ``can_batch``: whether ``train_batched`` should be used for a spec, and why not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import torch
from torch import nn

from app.benchmarks.recipes import with_train_fraction
from app.benchmarks.registry import Benchmark
from app.benchmarks.splits import Splits, train_subset
from app.zoo.build import build_model
from app.zoo.spec import ArchSpec, spec_hash
from workers.training.batched import BatchOptions, MemberCallback, Outcome, StopCheck, train_models_batched
from workers.training.engine import train_model
from workers.training.graphs import clear_step_cache
from workers.training.memory import MemoryEstimate, estimate_batched_memory
from workers.training.results import EpochMetrics, Member, TrainResult
from workers.training.stacked import stochastic_reason, unverified_modules

BATCH_ON_CPU = False
"""Whether ``can_batch`` says yes on CPU. Measured with ``bench/seed_batching.py`` (CPU-time ratios): a CPU
core is already busy with one tiny model, so stacking seeds saves little on most digits models and is slower
on the BatchNorm-heavy CNNs (grouped convolutions and vmap's BatchNorm rule cost more there than they save);
the reference path also reproduces bit for bit on CPU."""


def _splits(benchmark: Benchmark, data_dir: Path | None, train_fraction: float | None) -> Splits:
    splits = benchmark.load(data_dir)
    return train_subset(splits, train_fraction) if train_fraction is not None else splits


def _factory(spec: ArchSpec, benchmark: Benchmark) -> Callable[[], nn.Module]:
    c, h, w = benchmark.input_shape

    def factory() -> nn.Module:
        return build_model(spec, (c, h, w), benchmark.num_classes)

    return factory


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
    should_stop: Callable[[], bool] | None = None,
    on_trained: Callable[[nn.Module], None] | None = None,
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
    carries a ``+train<P>%`` suffix. ``should_stop`` is asked between steps (first step of each epoch, then at
    most once a second); when it answers True the run ends with ``TrainingFailed`` kind ``stopped``.
    ``on_trained`` receives the trained model once, after the final evaluation (the worker stores its weights).

    Raises ``TrainingFailed`` (kind ``diverged`` / ``oom`` / ``timeout`` / ``invalid_spec`` / ``error`` /
    ``stopped``).
    """
    if torch.device(device).type == "cuda":
        clear_step_cache()  # a batched run's cached graph must not sit beside this run in the worker's budget
    result = train_model(
        _factory(spec, benchmark),
        _splits(benchmark, data_dir, train_fraction),
        benchmark.recipe,
        seed,
        spec_hash=spec_hash(spec),
        device=device,
        on_epoch=on_epoch,
        max_epochs=max_epochs,
        time_limit_s=time_limit_s,
        compile_model=compile_model,
        should_stop=should_stop,
        on_trained=on_trained,
    )
    return dataclasses.replace(result, recipe_version=with_train_fraction(result.recipe_version, train_fraction))


def train_batched(
    spec: ArchSpec,
    benchmark: Benchmark,
    members: Sequence[Member],
    *,
    device: str = "cpu",
    data_dir: Path | None = None,
    on_epoch: MemberCallback | None = None,
    max_epochs: int | None = None,
    time_limit_s: float | None = None,
    should_stop: StopCheck | None = None,
    step_mode: str = "auto",
    on_trained: Callable[[Hashable, dict[str, torch.Tensor]], None] | None = None,
) -> dict[Hashable, Outcome]:
    """Train ``spec`` on ``benchmark`` once per member, all members as one batched model; returns, per member
    key, its ``TrainResult`` or its ``TrainingFailed``.

    Each member's result is what ``train(spec, benchmark, member.seed, train_fraction=...)`` returns, up to
    floating-point rounding. ``on_epoch(key, metrics)`` is called per member after each epoch, members in the
    given order; an exception raised by it ends that member only (kind ``stopped``, the exception as
    ``__cause__``). ``should_stop(key)`` is asked between steps (first step of each epoch, then at most once a
    second); a True ends that member (kind ``stopped``). ``on_trained(key, state)`` receives each finished
    member's trained weights (a one-model state dict on the CPU). A member whose loss becomes NaN ends alone (kind
    ``diverged``). ``time_limit_s`` bounds the whole call; a time-out, out-of-memory or unexpected error ends
    every member still training (an ``oom`` may fit one by one: retry those with ``train``). ``step_mode``:
    ``auto`` (a CUDA graph per step on CUDA), ``eager`` or ``cuda_graph``.

    Raises ValueError when the members do not share one train fraction or repeat a key, or when the spec
    cannot be batched (ask ``can_batch`` first).
    """
    fractions = {m.train_fraction for m in members}
    if len(fractions) != 1:
        raise ValueError(f"the members of one batch must share a train fraction, got {sorted(map(str, fractions))}")
    fraction = fractions.pop()
    outcomes = train_models_batched(
        _factory(spec, benchmark),
        _splits(benchmark, data_dir, fraction),
        benchmark.recipe,
        members,
        device=device,
        max_epochs=max_epochs,
        options=BatchOptions(
            spec_hash=spec_hash(spec),
            on_epoch=on_epoch,
            should_stop=should_stop,
            time_limit_s=time_limit_s,
            step_mode=step_mode,
            on_trained=on_trained,
        ),
    )
    return {
        key: dataclasses.replace(out, recipe_version=with_train_fraction(out.recipe_version, fraction))
        if isinstance(out, TrainResult)
        else out
        for key, out in outcomes.items()
    }


def estimate_memory(
    spec: ArchSpec,
    benchmark: Benchmark,
    n_members: int,
    device: str = "cpu",
    *,
    data_dir: Path | None = None,
    train_fraction: float | None = None,
) -> MemoryEstimate:
    """Peak memory of ``train_batched`` for ``n_members`` members of ``spec`` (see ``memory``)."""
    return estimate_batched_memory(
        _factory(spec, benchmark),
        _splits(benchmark, data_dir, train_fraction),
        benchmark.recipe,
        n_members,
        torch.device(device),
    )


def _structural_reason(spec: ArchSpec, benchmark: Benchmark) -> str | None:
    """Why this spec's model cannot be trained batched at all, whatever the device and budget."""
    try:
        with torch.device("meta"):
            model = _factory(spec, benchmark)()
    except ValueError as exc:
        return f"the spec does not build for {benchmark.slug} ({exc}); train it one by one to report that"
    reason = stochastic_reason(model)
    if reason is not None:
        return f"{reason}: one-by-one runs draw it from each seed's own stream, which a batch cannot reproduce"
    unknown = unverified_modules(model)
    if unknown:
        return f"module types not verified under vmap: {', '.join(unknown)}"
    return None


def can_batch(
    spec: ArchSpec,
    benchmark: Benchmark,
    n_members: int,
    device: str = "cpu",
    memory_budget_bytes: int | None = None,
    *,
    data_dir: Path | None = None,
    train_fraction: float | None = None,
    allow_cpu: bool = BATCH_ON_CPU,
) -> tuple[bool, str]:
    """Whether ``train_batched`` should train ``n_members`` runs of ``spec`` on ``device`` together, and why
    (or why not). No: a model that draws random numbers in training (drop path, dropout), a module type not
    verified under vmap, a CPU device unless ``allow_cpu`` (default ``BATCH_ON_CPU``; an end-to-end test of
    the batched path on a CPU-only machine sets it), or an estimated peak above ``memory_budget_bytes`` (None:
    no budget). One member is fine where batching is: on CUDA it gets the captured-graph step."""
    if n_members < 1:
        return False, "no members"
    reason = _structural_reason(spec, benchmark)
    if reason is not None:
        return False, reason
    if torch.device(device).type == "cpu" and not allow_cpu:
        return False, "on CPU runs train one by one: batching seeds measured no faster there (BATCH_ON_CPU)"
    estimate = estimate_memory(spec, benchmark, n_members, device, data_dir=data_dir, train_fraction=train_fraction)
    gib = estimate.total / 2**30
    if memory_budget_bytes is not None and estimate.total > memory_budget_bytes:
        return False, (
            f"{n_members} members need about {gib:.2f} GiB, over the budget of "
            f"{memory_budget_bytes / 2**30:.2f} GiB (members_that_fit says how many fit)"
        )
    return True, f"{n_members} members as one batch, about {gib:.2f} GiB at the peak"


def members_that_fit(
    spec: ArchSpec,
    benchmark: Benchmark,
    device: str,
    memory_budget_bytes: int,
    max_members: int,
    *,
    data_dir: Path | None = None,
    train_fraction: float | None = None,
) -> int:
    """The largest number of members (≤ ``max_members``) whose estimated peak fits ``memory_budget_bytes``;
    0 when not even one does. Memory grows with the member count, so a binary search suffices."""
    lo, hi = 0, max_members
    while lo < hi:
        mid = (lo + hi + 1) // 2
        estimate = estimate_memory(spec, benchmark, mid, device, data_dir=data_dir, train_fraction=train_fraction)
        if estimate.total <= memory_budget_bytes:
            lo = mid
        else:
            hi = mid - 1
    return lo
