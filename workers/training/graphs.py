"""The batched training step as one CUDA graph, and the per-process cache that amortises its capture.

On a GPU the built-in models are a few million MACs per step, so a step is hundreds of tiny kernel launches
and the GPU waits on the CPU. Capturing the whole step (forward, backward, per-member gradient clipping,
optimiser update) once and replaying it turns those launches into one. Why a hand-captured graph rather than
``torch.compile(mode="reduce-overhead")``: capture costs milliseconds where a cold compile costs tens of
seconds per shape (more than a whole digits run), and nothing in the step changes between replays except
the batch and the learning rate, which live in fixed device memory (the static batch that each replay reads,
and the optimiser's tensor learning rate, filled in place by ``set_lr``).

Safety: the first replay after a capture is checked against an eager forward pass on the same batch; on a
mismatch, or if capture raises, the step falls back to eager for the rest of the run (its state is restored
first) and the reason is kept in ``fallback_reason``. CPU runs never take this path.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Literal

import torch

from workers.training.stacked import StackedModel, batched_step_fn

log = logging.getLogger(__name__)

StepMode = Literal["eager", "cuda_graph"]
STEP_MODE_REQUESTS = ("auto", "eager", "cuda_graph")
WARMUP_STEPS = 3  # eager steps before capture (cuDNN autotuning, optimiser state, allocator), as torch's docs do
MATCH_RTOL = 2e-2  # first replay vs eager forward, bf16 on both sides: 8 mantissa bits ≈ 4e-3 per rounding


def choose_step_mode(requested: str, device: torch.device) -> tuple[StepMode, str]:
    """The step mode a batched run uses, and why. ``requested`` is ``auto`` (a graph on CUDA, eager
    elsewhere), ``eager`` or ``cuda_graph`` (eager, with the reason, where no CUDA device is used)."""
    if requested not in STEP_MODE_REQUESTS:
        raise ValueError(f"step mode must be one of {', '.join(STEP_MODE_REQUESTS)}, got {requested!r}")
    if requested == "eager":
        return "eager", "eager step requested"
    if device.type != "cuda":
        return "eager", f"CUDA graphs need a CUDA device; this run is on {device.type}"
    return "cuda_graph", "fixed-shape step on CUDA: one graph replay per step"


class EagerStep:
    """The batched step, run op by op."""

    mode: StepMode = "eager"

    def __init__(self, stacked: StackedModel, optimizer: torch.optim.Optimizer, *, label_smoothing: float,
                 grad_clip: float | None) -> None:  # fmt: skip
        self._fn = batched_step_fn(stacked, optimizer, label_smoothing=label_smoothing, grad_clip=grad_clip)
        self.capture_seconds = 0.0
        self.fallback_reason: str | None = None

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._fn(x, y)

    def invalidate(self) -> None:
        """The stack changed shape (a member left): nothing to redo for an eager step."""


StepOutputs = tuple[torch.Tensor, torch.Tensor]
Capture = Callable[[Callable[[], StepOutputs]], tuple[Callable[[], None], StepOutputs]]
"""Records ``fn`` (one training step on the static batch) without running it; returns a replay function and
the outputs that each replay overwrites in place."""


def cuda_capture(fn: Callable[[], StepOutputs]) -> tuple[Callable[[], None], StepOutputs]:
    """``Capture`` with a CUDA graph."""
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        outputs = fn()
    torch.cuda.synchronize()
    return graph.replay, outputs


def side_stream(fn: Callable[[], StepOutputs]) -> StepOutputs:
    """Run an eager warm-up step on a side stream, as torch's whole-network capture example does."""
    current = torch.cuda.current_stream()
    side = torch.cuda.Stream()
    side.wait_stream(current)
    with torch.cuda.stream(side):
        out = fn()
    current.wait_stream(side)
    return out


class GraphedStep:
    """The batched step captured as one CUDA graph after ``WARMUP_STEPS`` eager steps (real training steps
    with the run's own batches). ``capture`` and ``warm`` are the CUDA mechanisms; tests pass CPU stand-ins
    to exercise the bookkeeping (warm-up, static batch, first-replay check, fall-back, re-capture)."""

    def __init__(self, stacked: StackedModel, optimizer: torch.optim.Optimizer, *, label_smoothing: float,
                 grad_clip: float | None, capture: Capture = cuda_capture,
                 warm: Callable[[Callable[[], StepOutputs]], StepOutputs] = side_stream) -> None:  # fmt: skip
        self.stacked, self.optimizer = stacked, optimizer
        self._eager = batched_step_fn(
            stacked, optimizer, label_smoothing=label_smoothing, grad_clip=grad_clip, autocast_cache=False
        )
        self._captured = batched_step_fn(
            stacked, optimizer, label_smoothing=label_smoothing, grad_clip=grad_clip, zero_grad=False,
            autocast_cache=False,
        )  # fmt: skip
        self._capture_fn, self._warm_fn = capture, warm
        self._label_smoothing = label_smoothing
        self.replay: Callable[[], None] | None = None
        self.static: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self.warm = 0
        self.verified = False
        self.capture_seconds = 0.0
        self.fallback_reason: str | None = None

    @property
    def mode(self) -> StepMode:
        return "eager" if self.fallback_reason else "cuda_graph"

    def invalidate(self) -> None:
        """The stack changed shape: drop the graph (it points at the old tensors) and capture again later."""
        self.replay, self.static, self.warm, self.verified = None, None, 0, False

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.fallback_reason is not None:
            return self._eager(x, y)
        if self.replay is None and self.warm < WARMUP_STEPS:
            self.warm += 1
            return self._warm_fn(lambda: self._eager(x, y))
        if self.replay is None:
            try:
                self._capture(x, y)
            except RuntimeError as exc:
                return self._fall_back(f"capture failed: {str(exc)[:300]}", x, y)
        if not self.verified:
            return self._first_replay(x, y)
        return self._replay(x, y)

    def _capture(self, x: torch.Tensor, y: torch.Tensor) -> None:
        t0 = time.perf_counter()
        sx, sy = x.clone(), y.clone()
        self.optimizer.zero_grad(set_to_none=True)  # the gradients become the graph's own memory
        replay, (loss, correct) = self._capture_fn(lambda: self._captured(sx, sy))
        self.replay, self.static = replay, (sx, sy, loss, correct)
        self.capture_seconds += time.perf_counter() - t0

    def _replay(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.replay is not None and self.static is not None
        sx, sy, loss, correct = self.static
        sx.copy_(x)
        sy.copy_(y)
        self.replay()
        return loss.clone(), correct.clone()

    def _first_replay(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Replay once and compare the members' losses with an eager forward pass on the same batch (state
        saved first, so a disagreeing graph costs nothing but the check)."""
        t0 = time.perf_counter()
        saved = _snapshot(self.stacked, self.optimizer)
        with torch.no_grad():
            expected, _ = self.stacked.train_outputs(x, y, label_smoothing=self._label_smoothing, autocast_cache=False)
        _restore(self.stacked, self.optimizer, saved)  # the eager forward moved the BatchNorm statistics
        loss, correct = self._replay(x, y)
        finite = torch.isfinite(expected)
        gap = ((loss - expected).abs() / expected.abs().clamp_min(1.0))[finite]
        worst = float(gap.max()) if gap.numel() else 0.0
        self.capture_seconds += time.perf_counter() - t0
        if worst > MATCH_RTOL:
            _restore(self.stacked, self.optimizer, saved)
            return self._fall_back(f"the graph's first step disagreed with eager (relative loss gap {worst:.3g})", x, y)
        self.verified = True
        return loss, correct

    def _fall_back(self, reason: str, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log.warning("CUDA graph step disabled for this run: %s", reason)
        self.fallback_reason = reason
        self.replay, self.static = None, None
        self.optimizer.zero_grad(set_to_none=True)
        return self._eager(x, y)


def _snapshot(stacked: StackedModel, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [t.detach().clone() for t in _state_tensors(stacked, optimizer)]


def _restore(stacked: StackedModel, optimizer: torch.optim.Optimizer, saved: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for dst, src in zip(_state_tensors(stacked, optimizer), saved, strict=True):
            dst.copy_(src)


def _state_tensors(stacked: StackedModel, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    out = list(stacked.params.values()) + list(stacked.buffers.values())
    for p in stacked.params.values():
        out += [v for v in optimizer.state.get(p, {}).values() if isinstance(v, torch.Tensor)]
    return out


Step = EagerStep | GraphedStep

# What a fresh optimiser state is, per state key: a cached state is reset to this before another run reuses it.
_FRESH_STATE_KEYS = frozenset({"step", "exp_avg", "exp_avg_sq", "momentum_buffer"})


@dataclass
class StepState:
    """Everything a batched step owns: the stacked model, its optimiser and the (possibly captured) step."""

    stacked: StackedModel
    optimizer: torch.optim.Optimizer
    step: Step

    def adopt(self, fresh: StackedModel) -> None:
        """Start a new run on this state: ``fresh``'s initial weights and buffers are copied into the existing
        tensors (a captured graph keeps pointing at them) and the optimiser state is zeroed, which is exactly
        a fresh optimiser's state (AdamW's moments and step count start at 0; SGD's first momentum update of
        a zero buffer is the gradient itself, as its lazy first step sets it)."""
        if fresh.params.keys() != self.stacked.params.keys() or fresh.buffers.keys() != self.stacked.buffers.keys():
            raise ValueError("cached step state belongs to another architecture")
        for p in self.stacked.params.values():
            unknown = set(self.optimizer.state.get(p, {})) - _FRESH_STATE_KEYS
            if unknown:
                raise ValueError(f"cannot reset optimiser state {sorted(unknown)}")
        with torch.no_grad():
            for name, p in self.stacked.params.items():
                p.copy_(fresh.params[name])
            for name, b in self.stacked.buffers.items():
                b.copy_(fresh.buffers[name])
            for p in self.stacked.params.values():
                for value in self.optimizer.state.get(p, {}).values():
                    if isinstance(value, torch.Tensor):
                        value.zero_()
        self.step.capture_seconds = 0.0


class StepStateCache:
    """Step states of finished runs, by (spec hash, stack and batch shape, recipe, device), so the next run of
    the same shape in this process reuses the captured graph instead of capturing again.

    One entry by default: an idle cached state holds its parameters, optimiser state and graph memory, and a
    worker with a memory budget must not carry a previous shape's memory into the next run; ``discard_other``
    frees other shapes before a new state is built.
    """

    def __init__(self, max_entries: int = 1) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, StepState] = OrderedDict()

    def take(self, key: Hashable) -> StepState | None:
        """Remove and return the state cached under ``key`` (it is in use until ``put`` back)."""
        return self._entries.pop(key, None)

    def put(self, key: Hashable, state: StepState) -> None:
        self._entries[key] = state
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard_other(self, key: Hashable) -> None:
        for other in [k for k in self._entries if k != key]:
            del self._entries[other]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


STEP_CACHE = StepStateCache()


def clear_step_cache() -> None:
    """Free every cached step state (parameters, optimiser state, captured graphs) of this process."""
    STEP_CACHE.clear()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
