"""Several runs of one architecture (seeds of a submission, or the same spec across submissions) trained as
one batched model: a model factory, numpy splits, a recipe and the members in; one outcome per member out.

Each member keeps exactly what its one-by-one run has (``engine.train_model``): its initial weights
(``torch.manual_seed(seed)`` before the factory), its data order and augmentation (its own generator, drawn in
the same order), its BatchNorm statistics, its optimiser state, its gradient clipping, the LR schedule, its
epoch callbacks and its result. The members differ from their one-by-one twins only by floating-point
rounding (batched kernels sum in another order); tests/workers/training/test_batched.py bounds that.

One member's failure is its own: a NaN (diverged), a stop request (``should_stop``) or an epoch callback that
raises ends that member and the others go on with a smaller stack. A time-out, out-of-memory or unexpected
error ends every member still training.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import torch
from torch import nn

from app.benchmarks.recipes import capped_epochs, effective_recipe_version
from workers.training.data_on_device import DeviceSplit, make_generator, stacked_epoch, steps_per_epoch
from workers.training.engine import (
    STOP_POLL_S,
    EpochTimer,
    _build,
    _check_time,
    _diverged,
    _first_non_finite,
    _Progress,
    backend_settings,
    describe_device,
    device_splits,
)
from workers.training.evaluate import eval_batch_size, evaluate_many
from workers.training.graphs import STEP_CACHE, EagerStep, GraphedStep, StepState, choose_step_mode
from workers.training.optim import lr_at, make_optimizer, set_lr, stacked_param_groups
from workers.training.results import EpochMetrics, Member, TrainingFailed, TrainResult
from workers.training.stacked import StackedModel, stochastic_reason
from workers.training.version import code_version

if TYPE_CHECKING:
    from app.benchmarks.recipes import Recipe
    from app.benchmarks.splits import Splits

log = logging.getLogger(__name__)

Outcome = TrainResult | TrainingFailed
MemberCallback = Callable[[Hashable, EpochMetrics], None]
StopCheck = Callable[[Hashable], bool]


@dataclass(frozen=True)
class BatchOptions:
    """What a batched call needs besides the model, data and members (see ``train_models_batched``);
    ``t_start`` is set when the call begins."""

    spec_hash: str = ""
    on_epoch: MemberCallback | None = None
    should_stop: StopCheck | None = None
    time_limit_s: float | None = None
    step_mode: str = "auto"
    reuse_step_state: bool | None = None
    cpu_clock: Callable[[], float] = time.perf_counter
    t_start: float = field(default_factory=time.perf_counter)
    # Handed each finished member's key and trained weights (a one-model state dict, on the CPU), once.
    on_trained: Callable[[Hashable, dict[str, torch.Tensor]], None] | None = None


@dataclass
class _Lane:
    """One member's place in the stack."""

    member: Member
    gen: torch.Generator
    history: list[EpochMetrics] = field(default_factory=list)
    outcome: Outcome | None = None


def train_models_batched(
    model_factory: Callable[[], nn.Module],
    splits: Splits,
    recipe: Recipe,
    members: Sequence[Member],
    *,
    device: str = "cpu",
    max_epochs: int | None = None,
    options: BatchOptions | None = None,
) -> dict[Hashable, Outcome]:
    """Train ``model_factory()`` once per member, all members as one batched model; see the module docstring.

    ``options.step_mode``: ``auto`` (a CUDA graph on CUDA, eager elsewhere), ``eager`` or ``cuda_graph``.
    ``options.reuse_step_state``: keep the step state (stacked tensors, optimiser, captured graph) for the
    next call with the same spec hash and shapes in this process; None means "when a graph was captured".
    Raises ValueError when the members cannot share a batch (duplicate keys, a model that draws random numbers
    in training); ``can_batch`` says so beforehand.
    """
    opts = replace(options or BatchOptions(), t_start=time.perf_counter())
    keys = [m.key for m in members]
    if not members or len(set(keys)) != len(keys):
        raise ValueError(f"members need distinct keys, got {keys}")
    dev = torch.device(device)
    epochs = capped_epochs(recipe, max_epochs)
    with backend_settings(dev):
        models: list[nn.Module] = []
        for m in members:
            torch.manual_seed(m.seed)
            try:
                models.append(_build(model_factory))
            except TrainingFailed as failure:  # the spec, not the seed, failed: the same for every member
                return {k: failure for k in keys}
        reason = stochastic_reason(models[0])
        if reason is not None:
            raise ValueError(f"cannot train these members as one batch: {reason}")
        lanes = [_Lane(m, make_generator(m.seed, dev)) for m in members]
        run = _BatchedRun(lanes, splits, recipe, dev, epochs, opts)
        run.execute(models)
    return {lane.member.key: _outcome(lane) for lane in lanes}


def _outcome(lane: _Lane) -> Outcome:
    assert lane.outcome is not None
    return lane.outcome


class _BatchedRun:
    """The state of one batched call; ``execute`` sets every lane's outcome."""

    def __init__(self, lanes: list[_Lane], splits: Splits, recipe: Recipe, dev: torch.device, epochs: int,
                 opts: BatchOptions) -> None:  # fmt: skip
        self.lanes, self.alive = lanes, list(lanes)
        self.recipe, self.dev, self.epochs, self.opts = recipe, dev, epochs, opts
        self.splits = splits
        self.progress = _Progress()
        self.mode, self.mode_reason = choose_step_mode(opts.step_mode, dev)
        self.state: StepState | None = None
        self.train_seconds = 0.0
        self.images = 0
        self.step = 0
        self._last_poll = -math.inf

    # ---------------------------------------------------------------- setup and failure handling

    def execute(self, models: list[nn.Module]) -> None:
        oom = False
        try:
            self._train(models)
        except TrainingFailed as failure:  # a time-out: every member still training
            self._fail_alive(failure)
        except torch.cuda.OutOfMemoryError:  # an alias of torch.OutOfMemoryError on torch ≥ 2.5
            oom = True  # reported below, once the traceback's tensors are released
        except RuntimeError as exc:
            self._fail_alive(
                TrainingFailed(
                    "error",
                    f"training failed at epoch {self.progress.epoch}: {str(exc)[:500]}",
                    self.progress.epoch or None,
                )
            )
        finally:
            models.clear()
        if oom:
            self.state = None
            if self.dev.type == "cuda":
                torch.cuda.empty_cache()
            self._fail_alive(
                TrainingFailed(
                    "oom",
                    f"ran out of device memory at epoch {self.progress.epoch} training {len(self.alive)} runs as "
                    f"one batch with batch size {self.recipe.batch_size} each; one by one they may fit (or "
                    "reduce width, depth or early resolution).",
                    self.progress.epoch or None,
                )
            )

    def _fail_alive(self, failure: TrainingFailed) -> None:
        for lane in self.alive:
            lane.outcome = failure
        self.alive = []

    def _train(self, models: list[nn.Module]) -> None:
        self.data = device_splits(self.splits, self.dev)
        self.state = self._open_state(models)
        models.clear()
        for epoch in range(1, self.epochs + 1):
            self.progress.epoch, self.progress.step_in_epoch = epoch, 0
            self._epoch(epoch)
            if not self.alive:
                return
        members = len(self.alive)
        self._finish()
        self._keep_state(members)

    def _cache_key(self, n: int) -> Hashable | None:
        reuse = self.opts.reuse_step_state
        if reuse is None:
            reuse = self.mode == "cuda_graph"
        if not reuse or not self.opts.spec_hash:
            return None
        train = self.splits.train
        size = min(self.recipe.batch_size, len(train))
        return (self.opts.spec_hash, n, size, tuple(train.x.shape[1:]), self.recipe, str(self.dev), self.mode)

    def _open_state(self, models: list[nn.Module]) -> StepState:
        key = self._cache_key(len(models))
        if key is not None:
            STEP_CACHE.discard_other(key)  # free another shape's memory before this one allocates
            cached = STEP_CACHE.take(key)
            if cached is not None:
                try:
                    cached.adopt(StackedModel(models, torch.device("cpu")))
                    return cached
                except ValueError:
                    pass  # another architecture under the same key (cannot happen with a real spec hash)
        stacked = StackedModel(models, self.dev)
        groups = stacked_param_groups(stacked.template, stacked.params, self.recipe.weight_decay)
        graph = self.mode == "cuda_graph"
        optimizer = make_optimizer(groups, self.recipe, self.dev, capturable=graph)
        kwargs = {"label_smoothing": self.recipe.label_smoothing, "grad_clip": self.recipe.grad_clip}
        step = GraphedStep(stacked, optimizer, **kwargs) if graph else EagerStep(stacked, optimizer, **kwargs)  # type: ignore[arg-type]
        return StepState(stacked, optimizer, step)

    def _keep_state(self, members: int) -> None:
        """Offer the finished run's step state (for ``members`` members) to the cache."""
        state = self.state
        key = self._cache_key(members)
        if state is not None and key is not None and state.step.fallback_reason is None:
            STEP_CACHE.put(key, state)
        self.state = None

    # ---------------------------------------------------------------- members leaving the stack

    def _drop(self, leaving: set[int]) -> list[int]:
        """Remove lanes ``leaving`` (indices into ``alive``) from the stack; returns the kept indices."""
        assert self.state is not None
        keep = [i for i in range(len(self.alive)) if i not in leaving]
        if keep:
            self.state.stacked.select(keep, self.state.optimizer)
            self.state.step.invalidate()
        self.alive = [self.alive[i] for i in keep]
        return keep

    def _stop_requests(self, epoch: int, force: bool) -> set[int]:
        check = self.opts.should_stop
        now = time.monotonic()
        if check is None or (not force and now - self._last_poll < STOP_POLL_S):
            return set()
        self._last_poll = now
        out = set()
        for i, lane in enumerate(self.alive):
            try:
                stop = check(lane.member.key)
            except Exception:  # a failed check (a database blip) must not end the batch: ask again later
                log.warning("should_stop(%r) raised; training on", lane.member.key, exc_info=True)
                continue
            if stop:
                lane.outcome = TrainingFailed("stopped", f"stopped on request at epoch {epoch}", epoch)
                out.add(i)
        return out

    # ---------------------------------------------------------------- one epoch

    def _schedule(self, step: int) -> float:
        spe = steps_per_epoch(len(self.data["train"]), self.recipe.batch_size)
        total = spe * self.epochs
        warmup = min(spe * self.recipe.warmup_epochs, total // 2)  # as the one-by-one loop
        return lr_at(step, total, warmup, self.recipe.lr, self.recipe.schedule)

    def _epoch(self, epoch: int) -> None:
        assert self.state is not None
        recipe = self.recipe
        x, y, size = stacked_epoch(
            self.data["train"], recipe.batch_size, [lane.gen for lane in self.alive],
            crop_padding=recipe.crop_padding, flip=recipe.flip,
        )  # fmt: skip
        steps = y.shape[1] // size
        losses: list[torch.Tensor] = []
        correct = torch.zeros(len(self.alive), dtype=torch.int64, device=self.dev)
        timer = EpochTimer(self.dev, self.opts.cpu_clock)
        capture_before = self.state.step.capture_seconds
        lr = self._schedule(self.step)
        timer.start()
        for i in range(steps):
            stopping = self._stop_requests(epoch, force=i == 0)
            if stopping:
                keep = self._drop(stopping)
                if not self.alive:
                    timer.stop()
                    return
                idx = torch.tensor(keep, device=self.dev)
                x, y, correct = x.index_select(0, idx), y.index_select(0, idx), correct.index_select(0, idx)
                losses = [loss.index_select(0, idx) for loss in losses]
            lr = self._schedule(self.step + i)
            set_lr(self.state.optimizer, lr)
            loss, n_correct = self.state.step(x[:, i * size : (i + 1) * size], y[:, i * size : (i + 1) * size])
            losses.append(loss)
            correct += n_correct
            self.progress.step_in_epoch = i + 1
            _check_time(self.opts.t_start, self.opts.time_limit_s, self.progress)
        seconds = timer.stop() - (self.state.step.capture_seconds - capture_before)
        del x, y
        self.step += steps
        self.train_seconds += max(seconds, 0.0)
        self.images += steps * size
        self._end_epoch(epoch, steps, torch.stack(losses).cpu(), correct.cpu(), lr)

    def _end_epoch(self, epoch: int, steps: int, losses: torch.Tensor, correct: torch.Tensor, lr: float) -> None:
        """Per member: divergence check, validation, metrics, callback; then the ended members leave."""
        assert self.state is not None
        val = evaluate_many(self.state.stacked.eval_logits, self.data["val"], self._eval_bs())
        ended: set[int] = set()
        for j, lane in enumerate(self.alive):
            bad = _first_non_finite(losses[:, j])
            if bad is not None:
                lane.outcome = _diverged(epoch, bad + 1, steps, float(losses[bad, j]))
            elif not math.isfinite(val[j][0]):  # the epoch's last update broke the weights
                lane.outcome = _diverged(epoch, steps, steps, val[j][0], what="validation loss")
            else:
                self._report(lane, epoch, losses[:, j], int(correct[j]), val[j], lr)
            if lane.outcome is not None:
                ended.add(j)
        if ended:
            self._drop(ended)

    def _report(self, lane: _Lane, epoch: int, losses: torch.Tensor, correct: int, val: tuple[float, float],
                lr: float) -> None:  # fmt: skip
        n = losses.shape[0] * min(self.recipe.batch_size, len(self.data["train"]))
        metrics = EpochMetrics(
            epoch=epoch,
            epochs=self.epochs,
            train_loss=float(losses.double().mean()),
            train_acc=correct / max(1, n),
            val_loss=val[0],
            val_acc=val[1],
            lr=lr,
            elapsed_s=self.train_seconds,
        )
        lane.history.append(metrics)
        if self.opts.on_epoch is None:
            return
        try:
            self.opts.on_epoch(lane.member.key, metrics)
        except Exception as exc:  # this member's caller gave up on it (e.g. the run was taken over): only it stops
            failure = TrainingFailed("stopped", f"the epoch callback raised {type(exc).__name__}: {exc}", epoch)
            failure.__cause__ = exc
            lane.outcome = failure

    def _eval_bs(self) -> int:
        """Evaluation holds every member's activations at once: the one-by-one batch split across members."""
        return max(self.recipe.batch_size, eval_batch_size(self.recipe.batch_size) // max(1, len(self.alive)))

    # ---------------------------------------------------------------- the end

    def _finish(self) -> None:
        """Clean evaluation of every member's final model on train, test, private test and second test."""
        assert self.state is not None
        bs = self._eval_bs()
        logits = self.state.stacked.eval_logits
        names: list[str] = [n for n in ("train", "test", "test_private", "test2", "test2_texture") if n in self.data]
        scores = {name: evaluate_many(logits, self.data[name], bs) for name in names}
        step = self.state.step
        for j, lane in enumerate(self.alive):
            got = {name: scores[name][j] for name in names}
            lane.outcome = _result(lane, got, self, step.mode, step.capture_seconds)
            if self.opts.on_trained is not None:
                state = self.state.stacked.member_state(j)
                self.opts.on_trained(lane.member.key, {k: v.to("cpu").clone().contiguous() for k, v in state.items()})
        self.alive = []


def _result(lane: _Lane, got: dict[str, tuple[float, float]], run: _BatchedRun, mode: str,
            capture_seconds: float) -> TrainResult:  # fmt: skip
    data: dict[str, DeviceSplit] = run.data
    last = lane.history[-1]
    private = got.get("test_private")
    test2 = got.get("test2")
    return TrainResult(
        train_loss=got["train"][0],
        train_acc=got["train"][1],
        val_loss=last.val_loss,
        val_acc=last.val_acc,
        test_loss=got["test"][0],
        test_acc=got["test"][1],
        test2_loss=test2[0] if test2 else None,
        test2_acc=test2[1] if test2 else None,
        test2_texture_acc=got["test2_texture"][1] if "test2_texture" in got else None,
        test_private_loss=private[0] if private else None,
        test_private_acc=private[1] if private else None,
        n_test=len(data["test"]),
        n_test_private=len(data["test_private"]) if "test_private" in data else None,
        wall_seconds=time.perf_counter() - run.opts.t_start,
        images_per_second=run.images / run.train_seconds if run.train_seconds > 0 else 0.0,
        device=describe_device(run.dev),
        recipe_version=effective_recipe_version(run.recipe, run.epochs),
        train_size=len(data["train"]),
        torch_version=torch.__version__,
        code_version=code_version(),
        spec_hash=run.opts.spec_hash,
        seed=lane.member.seed,
        epochs=list(lane.history),
        batch_members=len(run.lanes),
        step_mode=mode,
        capture_seconds=capture_seconds,
    )
