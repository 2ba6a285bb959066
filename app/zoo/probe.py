"""Time a few real training steps of a spec on the CPU, within a hard wall-clock budget.

``probe_train_step`` is a plain function for the measuring process pool (which adds its own timeout as a
last resort). It refuses models whose training would not fit in memory before allocating them, times two
small-batch steps first and gives up with a projection when a full-batch step cannot finish in the time left,
and checks the deadline inside every module's forward and backward so that one slow step is cut short too.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from app.zoo.build import build_model
from app.zoo.measure import Measurement, measure
from app.zoo.spec import ArchSpec, parse_spec

ProbeStatus = Literal["ok", "exceeded", "too_large"]
DEFAULT_MAX_MEMORY = 4 * 1024**3
WARM_BATCH = 2
Projection = tuple[float | None, float | None]
"""A full-batch step projected from a small one: (wall seconds, this thread's CPU seconds)."""


@dataclass(frozen=True)
class StepTiming:
    """Result of ``probe_train_step``.

    ``status``: ``ok`` (``steps`` full-batch steps timed), ``exceeded`` (the budget ran out first;
    ``seconds_per_step`` and ``cpu_seconds_per_step`` are then the best estimates: measured steps, else
    projected from the small-batch steps) or ``too_large`` (not built: the training memory estimate is over
    the cap). ``seconds_per_image`` = ``seconds_per_step / batch_size``. ``cpu_seconds_per_step``: the same
    steps in this thread's CPU time (what the step costs an idle core; wall time also counts waiting for a
    shared one). ``detail`` says what happened in plain words.
    """

    status: ProbeStatus
    batch_size: int
    steps: int
    seconds_per_step: float | None
    seconds_per_image: float | None
    elapsed_s: float
    deadline_s: float
    memory_bytes: int
    detail: str
    cpu_seconds_per_step: float | None = None


class _Deadline(Exception):
    """Raised from a hook when the probe's wall-clock budget is spent."""


def training_memory_bytes(m: Measurement, batch_size: int) -> int:
    """A rough upper estimate of CPU memory to train: weights, gradients and two AdamW moments (16 bytes a
    parameter), plus every tensor the forward pass writes, as if all were kept for the backward pass."""
    return 16 * m.params + m.activation_bytes * batch_size


def _install_deadline(model: nn.Module, check: Callable[[], None]) -> None:
    """Check the clock before every module's forward and when the backward pass reaches its output."""

    def before(_module: nn.Module, _args: object) -> None:
        check()

    def after(_module: nn.Module, _args: object, out: object) -> None:
        if isinstance(out, torch.Tensor) and out.requires_grad:
            out.register_hook(lambda _grad: check())

    for module in model.modules():
        module.register_forward_pre_hook(before)
        module.register_forward_hook(after)


@contextmanager
def _threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _stepper(
    model: nn.Module, input_shape: tuple[int, int, int], num_classes: int
) -> Callable[[int], tuple[float, float]]:
    """A function that runs one AdamW training step on a random batch of n images and returns its wall and
    thread-CPU seconds (the workers' step: cross-entropy, backward, gradient clipping at 1.0, optimiser
    step)."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.05)
    gen = torch.Generator().manual_seed(0)

    def step(n: int) -> tuple[float, float]:
        x = torch.randn((n, *input_shape), generator=gen)
        y = torch.randint(0, num_classes, (n,), generator=gen)
        start, cpu = time.perf_counter(), time.thread_time()
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        return time.perf_counter() - start, time.thread_time() - cpu

    return step


def probe_train_step(
    spec: ArchSpec,
    input_shape: tuple[int, int, int],
    num_classes: int,
    batch_size: int,
    steps: int,
    deadline_s: float,
    *,
    threads: int = 1,
    max_memory_bytes: int = DEFAULT_MAX_MEMORY,
) -> StepTiming:
    """Time ``steps`` real training steps of ``batch_size`` random images on the CPU (``threads`` torch
    threads, the workers' setting), never running past ``deadline_s`` seconds of wall time from the call."""
    start = time.perf_counter()
    spec = parse_spec(spec)
    m = measure(spec, input_shape, num_classes)
    memory = training_memory_bytes(m, batch_size)

    def result(status: ProbeStatus, done: list[tuple[float, float]], projected: Projection, detail: str) -> StepTiming:
        per_step = statistics.median(w for w, _ in done) if done else projected[0]
        cpu = statistics.median(c for _, c in done) if done else projected[1]
        per_image = per_step / batch_size if per_step is not None else None
        elapsed = time.perf_counter() - start
        return StepTiming(status, batch_size, len(done), per_step, per_image, elapsed, deadline_s, memory, detail, cpu)

    if memory > max_memory_bytes:
        msg = f"training needs about {memory / 2**30:.1f} GiB, above the {max_memory_bytes / 2**30:.1f} GiB cap"
        return result("too_large", [], (None, None), msg)
    with _threads(threads):
        return _run_probe(spec, input_shape, num_classes, batch_size, steps, start + deadline_s, result)


def _run_probe(
    spec: ArchSpec,
    input_shape: tuple[int, int, int],
    num_classes: int,
    batch_size: int,
    steps: int,
    deadline: float,
    result: Callable[[ProbeStatus, list[tuple[float, float]], Projection, str], StepTiming],
) -> StepTiming:
    def check() -> None:
        if time.perf_counter() > deadline:
            raise _Deadline

    done: list[tuple[float, float]] = []
    projected: Projection = (None, None)
    try:
        torch.manual_seed(0)
        model = build_model(spec, input_shape, num_classes).train()
        _install_deadline(model, check)
        step = _stepper(model, input_shape, num_classes)
        step(WARM_BATCH)  # first touch of every buffer, one-off kernel set-up
        wall, cpu = step(WARM_BATCH)
        scale = batch_size / WARM_BATCH  # per-step overhead scaled too: an overestimate
        projected = (wall * scale, cpu * scale)
        # On CPU time: on a busy machine the wall clock runs several times faster than this thread's share.
        if time.perf_counter() + cpu * scale > deadline:
            return result("exceeded", done, projected, f"a step of {batch_size} images would take ~{cpu * scale:.1f} s")
        step(batch_size)  # warm-up at full size
        while len(done) < steps:
            if done and time.perf_counter() + done[-1][0] > deadline:
                raise _Deadline
            done.append(step(batch_size))
    except _Deadline:
        return result("exceeded", done, projected, f"the time budget ran out after {len(done)} full steps")
    except RuntimeError as exc:  # the autograd engine wraps exceptions raised in backward hooks
        if "_Deadline" not in repr(exc) and not isinstance(exc.__cause__, _Deadline):
            raise
        return result("exceeded", done, projected, f"the time budget ran out after {len(done)} full steps")
    return result("ok", done, projected, f"{len(done)} steps of {batch_size} images timed")
