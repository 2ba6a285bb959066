"""The training loop proper, below the spec/benchmark layer: a model factory, numpy splits and a recipe in,
a ``TrainResult`` out.

``workers.training.train_spec.train`` builds the model from a spec and loads the benchmark, then calls
``train_model``. Keeping this seam free of ``app.zoo`` lets tests and benchmarks drive the loop with any
``nn.Module``.

Why it is shaped like this (airbench is the model): all data sits on the device; every random choice (init,
order, augmentation) follows one seed; the only host↔device syncs in an epoch are at its end (loss check,
timing, evaluation); training time is measured with device events and excludes evaluation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from app.benchmarks.recipes import capped_epochs, effective_recipe_version
from workers.training.data_on_device import (
    DeviceSplit,
    epoch_batches,
    make_generator,
    steps_per_epoch,
    to_device_split,
)
from workers.training.evaluate import autocast_for, eval_batch_size, evaluate
from workers.training.optim import build_optimizer, lr_at, set_lr
from workers.training.results import EpochMetrics, TrainingFailed, TrainResult
from workers.training.version import code_version

if TYPE_CHECKING:
    from app.benchmarks.recipes import Recipe
    from app.benchmarks.splits import Splits

EpochCallback = Callable[[EpochMetrics], None]

STOP_POLL_S = 1.0
"""A stop request (``should_stop``) is asked at the first step of every epoch and then at most once per this
many seconds: it may be a database query, and a step on a GPU takes milliseconds."""
StepFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class _Options:
    spec_hash: str
    on_epoch: EpochCallback | None
    time_limit_s: float | None
    compile_model: bool
    cpu_clock: Callable[[], float]
    t_start: float
    should_stop: Callable[[], bool] | None = None


@dataclass
class _Progress:
    """Where the run is, so a failure can say so."""

    epoch: int = 0
    step_in_epoch: int = 0
    last_stop_poll: float = -math.inf


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


@contextmanager
def backend_settings(device: torch.device) -> Iterator[None]:
    """The fast path on CUDA (cuDNN autotuning, TF32 for any fp32 matmul left outside autocast), restored
    afterwards so the settings don't leak into the caller's process.

    On CPU nothing is switched: the CPU kernels used in training are deterministic for a fixed thread count
    (the tests check bit-for-bit reproducibility), and ``torch.use_deterministic_algorithms`` is not cheap
    there: it imports torch._inductor (3-8 s cold per process) and makes ``torch.empty`` fill memory with
    NaN.
    """
    prev_bench = torch.backends.cudnn.benchmark
    prev_prec = torch.get_float32_matmul_precision()
    try:
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.set_float32_matmul_precision("high")
        yield
    finally:
        torch.backends.cudnn.benchmark = prev_bench
        torch.set_float32_matmul_precision(prev_prec)


class EpochTimer:
    """Training seconds of one epoch: CUDA events on the GPU (no sync inside the epoch), ``clock`` (wall
    time, perf_counter) on CPU."""

    def __init__(self, device: torch.device, clock: Callable[[], float] = time.perf_counter) -> None:
        self._cuda = device.type == "cuda"
        self._clock = clock
        self._t0 = 0.0
        if self._cuda:
            self._start = torch.cuda.Event(enable_timing=True)
            self._end = torch.cuda.Event(enable_timing=True)

    def start(self) -> None:
        if self._cuda:
            self._start.record()
        else:
            self._t0 = self._clock()

    def stop(self) -> float:
        if self._cuda:
            self._end.record()
            self._end.synchronize()
            return self._start.elapsed_time(self._end) / 1000.0
        return self._clock() - self._t0


def make_train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    *,
    label_smoothing: float = 0.0,
    grad_clip: float | None = None,
) -> StepFn:
    """One optimiser step on a batch; returns the (detached) loss and the number of correct predictions,
    both still on the device so the caller need not sync. bench/train_efficiency.py times it bare."""
    params = [p for p in model.parameters() if p.requires_grad]

    def step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with autocast_for(device):
            logits = model(x)
        logits = logits.float()
        loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
        return loss.detach(), (logits.detach().argmax(dim=1) == y).sum()

    return step


def prepare_model(model: nn.Module, device: torch.device, compile_model: bool = False) -> nn.Module:
    """Move to the device; channels_last on CUDA (faster bf16 convolutions); optionally torch.compile."""
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    if compile_model:
        model = torch.compile(model)  # type: ignore[assignment]
    return model


def _first_non_finite(losses: torch.Tensor) -> int | None:
    bad = (~torch.isfinite(losses)).nonzero()
    return int(bad[0].item()) if bad.numel() else None


def _diverged(epoch: int, step: int, steps: int, value: float, what: str = "loss") -> TrainingFailed:
    return TrainingFailed(
        "diverged",
        f"{what} became {value} at epoch {epoch} (step {step} of {steps}); the model diverged under this "
        "benchmark's fixed recipe. Architectures without normalisation layers, with very deep plain stacks "
        "or with large residual branches are the usual cause: add norms, a layer scale, or reduce depth.",
        epoch,
    )


def _check_time(t_start: float, limit: float | None, progress: _Progress) -> None:
    if limit is None:
        return
    elapsed = time.perf_counter() - t_start
    if elapsed > limit:
        raise TrainingFailed(
            "timeout",
            f"stopped after {elapsed:.1f} s at epoch {progress.epoch} (step {progress.step_in_epoch}): the "
            f"run's time limit is {limit:g} s. The architecture is too slow for this benchmark's budget.",
            progress.epoch,
        )


def _check_stop(should_stop: Callable[[], bool] | None, progress: _Progress, force: bool) -> None:
    if should_stop is None:
        return
    now = time.monotonic()
    if not force and now - progress.last_stop_poll < STOP_POLL_S:
        return
    progress.last_stop_poll = now
    if should_stop():
        raise TrainingFailed("stopped", f"stopped on request at epoch {progress.epoch}", progress.epoch)


def device_splits(splits: Splits, device: torch.device) -> dict[str, DeviceSplit]:
    """Every split of ``splits`` on the device, by name: train, val, test, and test_private, test2,
    test2_texture (the second test's images scored against their texture class) when the benchmark has them."""
    out = {
        "train": to_device_split(splits.train.x, splits.train.y, device),
        "val": to_device_split(splits.val.x, splits.val.y, device),
        "test": to_device_split(splits.test.x, splits.test.y, device),
    }
    if splits.test_private is not None:
        out["test_private"] = to_device_split(splits.test_private.x, splits.test_private.y, device)
    if splits.test2 is not None:
        out["test2"] = to_device_split(splits.test2.x, splits.test2.y, device)
        if splits.test2_texture_y is not None:
            # Cue-conflict images scored against their texture class: the same images, other labels.
            # A writable copy: the cached arrays are read-only, which torch warns about.
            texture_y = torch.as_tensor(np.array(splits.test2_texture_y, dtype=np.int64), device=device)
            out["test2_texture"] = DeviceSplit(x=out["test2"].x, y=texture_y)
    return out


def train_model(
    model_factory: Callable[[], nn.Module],
    splits: Splits,
    recipe: Recipe,
    seed: int,
    *,
    spec_hash: str = "",
    device: str = "cpu",
    on_epoch: EpochCallback | None = None,
    max_epochs: int | None = None,
    time_limit_s: float | None = None,
    compile_model: bool = False,
    cpu_clock: Callable[[], float] = time.perf_counter,
    should_stop: Callable[[], bool] | None = None,
    on_trained: Callable[[nn.Module], None] | None = None,
) -> TrainResult:
    """Train ``model_factory()`` on ``splits`` with ``recipe`` and ``seed`` (see ``train_spec.train``).
    ``on_trained`` is handed the trained model once, after the final evaluation: the caller keeps its weights.

    ``cpu_clock`` times training epochs on CPU; bench/train_efficiency.py passes ``time.process_time`` so that
    other processes on a shared machine don't distort its ratios. ``should_stop`` is asked between steps (at
    the first step of each epoch, then at most every ``STOP_POLL_S``). Raises ``TrainingFailed`` with kind
    diverged / oom / timeout / invalid_spec / error / stopped.
    """
    opts = _Options(spec_hash, on_epoch, time_limit_s, compile_model, cpu_clock, time.perf_counter(), should_stop)
    dev = torch.device(device)
    epochs = capped_epochs(recipe, max_epochs)
    progress = _Progress()
    with backend_settings(dev):
        torch.manual_seed(seed)
        model = _build(model_factory)
        try:
            result = _train(model, splits, recipe, seed, dev, epochs, progress, opts)
            if on_trained is not None:  # trained in place (``torch.compile`` wraps it, never copies it)
                on_trained(model)
            return result
        except torch.cuda.OutOfMemoryError:  # an alias of torch.OutOfMemoryError on torch ≥ 2.5
            pass  # reported below, outside the except block, once the traceback's tensors are released
        except RuntimeError as exc:
            raise TrainingFailed(
                "error",
                f"training failed at epoch {progress.epoch}: {str(exc)[:500]}",
                progress.epoch or None,
            ) from exc
        finally:
            del model
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    raise TrainingFailed(
        "oom",
        f"ran out of device memory at epoch {progress.epoch} with batch size {recipe.batch_size}; the "
        "architecture's activations are too large for this benchmark (reduce width, depth or early "
        "resolution).",
        progress.epoch or None,
    )


def _build(model_factory: Callable[[], nn.Module]) -> nn.Module:
    """Build on the CPU under the seed just set, so the initial weights don't depend on the device."""
    try:
        return model_factory()
    except ValueError as exc:  # SpecError and pydantic's ValidationError are ValueErrors; others are bugs
        raise TrainingFailed("invalid_spec", f"could not build the model: {exc}") from exc


def _train(
    model: nn.Module,
    splits: Splits,
    recipe: Recipe,
    seed: int,
    dev: torch.device,
    epochs: int,
    progress: _Progress,
    opts: _Options,
) -> TrainResult:
    data = device_splits(splits, dev)
    train_split = data["train"]
    model = prepare_model(model, dev, opts.compile_model)
    optimizer = build_optimizer(model, recipe, dev)
    step_fn = make_train_step(model, optimizer, dev, label_smoothing=recipe.label_smoothing, grad_clip=recipe.grad_clip)
    gen = make_generator(seed, dev)
    spe = steps_per_epoch(len(train_split), recipe.batch_size)
    total_steps = spe * epochs
    # Warmup never takes more than half of a (possibly capped) run.
    warmup_steps = min(spe * recipe.warmup_epochs, total_steps // 2)

    def schedule(step: int) -> float:
        return lr_at(step, total_steps, warmup_steps, recipe.lr, recipe.schedule)

    timer = EpochTimer(dev, opts.cpu_clock)
    eval_bs = eval_batch_size(recipe.batch_size)
    history: list[EpochMetrics] = []
    train_seconds = 0.0
    images = 0
    step = 0
    for epoch in range(1, epochs + 1):
        progress.epoch, progress.step_in_epoch = epoch, 0
        model.train()
        stats = _train_epoch(step_fn, optimizer, train_split, recipe, gen, schedule, step, timer, progress, opts)
        step += stats.steps
        train_seconds += stats.seconds
        images += stats.images
        bad = _first_non_finite(stats.losses)
        if bad is not None:
            raise _diverged(epoch, bad + 1, spe, float(stats.losses[bad]))
        val_loss, val_acc = evaluate(model, data["val"], eval_bs)
        if not math.isfinite(val_loss):  # the epoch's last update broke the weights after its loss was taken
            raise _diverged(epoch, spe, spe, val_loss, what="validation loss")
        metrics = EpochMetrics(
            epoch=epoch,
            epochs=epochs,
            train_loss=float(stats.losses.double().mean()),
            train_acc=stats.correct / max(1, stats.images),
            val_loss=val_loss,
            val_acc=val_acc,
            lr=stats.last_lr,
            elapsed_s=train_seconds,
        )
        history.append(metrics)
        if opts.on_epoch is not None:
            opts.on_epoch(metrics)
    return _final_result(
        model, data, history, recipe, seed, dev, epochs, eval_bs, opts,
        train_seconds=train_seconds, images=images,
    )  # fmt: skip


@dataclass(frozen=True)
class _EpochStats:
    losses: torch.Tensor  # per-step training losses, on the CPU
    correct: int
    images: int
    steps: int
    seconds: float
    last_lr: float


def _train_epoch(
    step_fn: StepFn,
    optimizer: torch.optim.Optimizer,
    split: DeviceSplit,
    recipe: Recipe,
    gen: torch.Generator,
    schedule: Callable[[int], float],
    first_step: int,
    timer: EpochTimer,
    progress: _Progress,
    opts: _Options,
) -> _EpochStats:
    """One pass over the training split. Losses and correct counts stay on the device until the epoch ends
    (one sync), so a GPU is never stalled by bookkeeping; the time limit is checked on the host per step."""
    losses: list[torch.Tensor] = []
    correct = torch.zeros((), dtype=torch.int64, device=split.y.device)
    images = 0
    lr = schedule(first_step)
    timer.start()
    batches = epoch_batches(split, recipe.batch_size, gen, crop_padding=recipe.crop_padding, flip=recipe.flip)
    for i, (x, y) in enumerate(batches):
        _check_stop(opts.should_stop, progress, force=i == 0)
        lr = schedule(first_step + i)
        set_lr(optimizer, lr)
        loss, n_correct = step_fn(x, y)
        losses.append(loss)
        correct += n_correct
        images += int(y.shape[0])
        progress.step_in_epoch = i + 1
        _check_time(opts.t_start, opts.time_limit_s, progress)
    seconds = timer.stop()
    return _EpochStats(
        losses=torch.stack(losses).cpu(),
        correct=int(correct.item()),
        images=images,
        steps=len(losses),
        seconds=seconds,
        last_lr=lr,
    )


def _final_result(
    model: nn.Module,
    data: dict[str, DeviceSplit],
    history: list[EpochMetrics],
    recipe: Recipe,
    seed: int,
    dev: torch.device,
    epochs: int,
    eval_bs: int,
    opts: _Options,
    *,
    train_seconds: float,
    images: int,
) -> TrainResult:
    """Clean evaluation of the final model on train, test, the private test and test2, once; val is the last
    epoch's."""
    train_loss, train_acc = evaluate(model, data["train"], eval_bs)
    test_loss, test_acc = evaluate(model, data["test"], eval_bs)
    test2_loss: float | None = None
    test2_acc: float | None = None
    if "test2" in data:
        test2_loss, test2_acc = evaluate(model, data["test2"], eval_bs)
    test2_texture_acc = evaluate(model, data["test2_texture"], eval_bs)[1] if "test2_texture" in data else None
    private_loss: float | None = None
    private_acc: float | None = None
    if "test_private" in data:
        private_loss, private_acc = evaluate(model, data["test_private"], eval_bs)
    last = history[-1]
    return TrainResult(
        train_loss=train_loss,
        train_acc=train_acc,
        val_loss=last.val_loss,
        val_acc=last.val_acc,
        test_loss=test_loss,
        test_acc=test_acc,
        test2_loss=test2_loss,
        test2_acc=test2_acc,
        test2_texture_acc=test2_texture_acc,
        test_private_loss=private_loss,
        test_private_acc=private_acc,
        n_test=len(data["test"]),
        n_test_private=len(data["test_private"]) if "test_private" in data else None,
        wall_seconds=time.perf_counter() - opts.t_start,
        images_per_second=images / train_seconds if train_seconds > 0 else 0.0,
        device=describe_device(dev),
        recipe_version=effective_recipe_version(recipe, epochs),
        train_size=len(data["train"]),
        torch_version=torch.__version__,
        code_version=code_version(),
        spec_hash=opts.spec_hash,
        seed=seed,
        epochs=history,
    )
