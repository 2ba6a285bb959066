"""The training loop proper, below the spec/benchmark layer: a model factory, numpy splits and a recipe in,
a ``TrainResult`` out.

``workers.training.loop.train`` builds the model from a spec and loads the benchmark, then calls
``train_model``. Keeping this seam free of ``app.zoo``/``app.benchmarks`` at run time lets tests and benchmarks drive
the loop with any ``nn.Module``.

Why it is shaped like this (airbench is the model): all data sits on the device; every random choice (init,
order, augmentation) follows one seed; the only host↔device syncs in an epoch are at its end (loss check, timing,
evaluation); training time is measured with device events and excludes evaluation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from workers.training.data_on_device import (
    DeviceSplit,
    augment,
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
    from app.benchmarks.registry import Recipe

EpochCallback = Callable[[EpochMetrics], None]
StepFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class ArraySplitLike(Protocol):
    x: np.ndarray
    y: np.ndarray


class SplitsLike(Protocol):
    """What ``app.benchmarks`` returns from ``Benchmark.load()``."""

    train: ArraySplitLike
    val: ArraySplitLike
    test: ArraySplitLike
    test2: ArraySplitLike | None


@dataclass
class _Progress:
    """Where the run is, so a failure can say so."""

    epoch: int = 0
    step_in_epoch: int = 0


def capped_epochs(recipe_epochs: int, max_epochs: int | None) -> int:
    if max_epochs is None:
        return recipe_epochs
    if max_epochs < 1:
        raise ValueError(f"max_epochs must be ≥ 1, got {max_epochs}")
    return min(recipe_epochs, max_epochs)


def result_recipe_version(version: str, recipe_epochs: int, epochs: int) -> str:
    """A capped run is a different experiment: tag it so it never pools with full-length runs."""
    return version if epochs == recipe_epochs else f"{version}+epochs{epochs}"


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


@contextmanager
def backend_settings(device: torch.device) -> Iterator[None]:
    """The fast path on CUDA (cuDNN autotuning, TF32 for any fp32 matmul left outside autocast), restored
    afterwards so the settings don't leak into the caller's process.

    On CPU nothing is switched: the CPU kernels used in training are deterministic for a fixed thread count (the
    tests check bit-for-bit reproducibility), and ``torch.use_deterministic_algorithms`` is not cheap there: it
    imports torch._inductor (3-8 s cold per process) and makes ``torch.empty`` fill memory with NaN.
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
    """Training seconds of one epoch: CUDA events on the GPU (no sync inside the epoch), perf_counter on CPU."""

    def __init__(self, device: torch.device) -> None:
        self._cuda = device.type == "cuda"
        self._t0 = 0.0
        if self._cuda:
            self._start = torch.cuda.Event(enable_timing=True)
            self._end = torch.cuda.Event(enable_timing=True)

    def start(self) -> None:
        if self._cuda:
            self._start.record()
        else:
            self._t0 = time.perf_counter()

    def stop(self) -> float:
        if self._cuda:
            self._end.record()
            self._end.synchronize()
            return self._start.elapsed_time(self._end) / 1000.0
        return time.perf_counter() - self._t0


def make_train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    *,
    label_smoothing: float = 0.0,
    grad_clip: float | None = None,
) -> StepFn:
    """One optimiser step on a batch; returns the (detached) loss and the number of correct predictions, both
    still on the device so the caller need not sync. Shared with bench/train_efficiency.py as the reference."""
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
    """Move to the device; channels_last on CUDA (faster convolutions under bf16); optionally torch.compile."""
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    if compile_model:
        model = torch.compile(model)  # type: ignore[assignment]
    return model


def _first_non_finite(losses: torch.Tensor) -> int | None:
    bad = (~torch.isfinite(losses)).nonzero()
    return int(bad[0].item()) if bad.numel() else None


def _diverged(epoch: int, step: int, steps: int, value: float) -> TrainingFailed:
    return TrainingFailed(
        "diverged",
        f"loss became {value} at epoch {epoch} (step {step} of {steps}); the model diverged under this "
        "benchmark's fixed recipe. Architectures without normalisation layers, with very deep plain stacks or "
        "with large residual branches are the usual cause: add norms, a layer scale, or reduce depth.",
        epoch,
    )


def _check_time(t_start: float, limit: float | None, progress: _Progress) -> None:
    if limit is None:
        return
    elapsed = time.perf_counter() - t_start
    if elapsed > limit:
        raise TrainingFailed(
            "timeout",
            f"stopped after {elapsed:.1f} s at epoch {progress.epoch} (step {progress.step_in_epoch}): the run's "
            f"time limit is {limit:g} s. The architecture is too slow for this benchmark's budget.",
            progress.epoch,
        )


def _device_splits(splits: SplitsLike, device: torch.device) -> dict[str, DeviceSplit]:
    out = {
        "train": to_device_split(splits.train.x, splits.train.y, device),
        "val": to_device_split(splits.val.x, splits.val.y, device),
        "test": to_device_split(splits.test.x, splits.test.y, device),
    }
    if splits.test2 is not None:
        out["test2"] = to_device_split(splits.test2.x, splits.test2.y, device)
    return out


def train_model(
    model_factory: Callable[[], nn.Module],
    splits: SplitsLike,
    recipe: Recipe,
    seed: int,
    *,
    spec_hash: str = "",
    device: str = "cpu",
    on_epoch: EpochCallback | None = None,
    max_epochs: int | None = None,
    time_limit_s: float | None = None,
    compile_model: bool = False,
) -> TrainResult:
    """Train ``model_factory()`` on ``splits`` with ``recipe`` and ``seed``. See ``workers.training.loop.train``.

    Raises ``TrainingFailed`` with kind diverged / oom / timeout / invalid_spec / error.
    """
    t_start = time.perf_counter()
    dev = torch.device(device)
    epochs = capped_epochs(recipe.epochs, max_epochs)
    progress = _Progress()
    oom = False
    with backend_settings(dev):
        torch.manual_seed(seed)
        model = _build(model_factory)
        try:
            return _train(
                model, splits, recipe, seed, dev, epochs, progress,
                spec_hash=spec_hash, on_epoch=on_epoch, time_limit_s=time_limit_s,
                compile_model=compile_model, t_start=t_start,
            )  # fmt: skip
        except torch.OutOfMemoryError:
            oom = True  # handled below, outside the except block, so the traceback's tensors can be freed
        except RuntimeError as exc:
            raise TrainingFailed(
                "error", f"training failed at epoch {progress.epoch}: {str(exc)[:500]}", progress.epoch or None
            ) from exc
        finally:
            del model
    assert oom
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    raise TrainingFailed(
        "oom",
        f"ran out of device memory at epoch {progress.epoch} with batch size {recipe.batch_size}; the "
        "architecture's activations are too large for this benchmark (reduce width, depth or early resolution).",
        progress.epoch or None,
    )


def _build(model_factory: Callable[[], nn.Module]) -> nn.Module:
    """Build on the CPU under the seed just set, so the initial weights don't depend on the device."""
    try:
        return model_factory()
    except (ValueError, TypeError, KeyError) as exc:
        raise TrainingFailed("invalid_spec", f"could not build the model: {exc}") from exc


def _train(
    model: nn.Module,
    splits: SplitsLike,
    recipe: Recipe,
    seed: int,
    dev: torch.device,
    epochs: int,
    progress: _Progress,
    *,
    spec_hash: str,
    on_epoch: EpochCallback | None,
    time_limit_s: float | None,
    compile_model: bool,
    t_start: float,
) -> TrainResult:
    data = _device_splits(splits, dev)
    train_split = data["train"]
    model = prepare_model(model, dev, compile_model)
    optimizer = build_optimizer(model, recipe, dev)
    step_fn = make_train_step(
        model, optimizer, dev, label_smoothing=recipe.label_smoothing, grad_clip=recipe.grad_clip
    )
    gen = make_generator(seed, dev)
    spe = steps_per_epoch(len(train_split), recipe.batch_size)
    total_steps = spe * epochs
    # Warmup never takes more than half of a (possibly capped) run.
    warmup_steps = min(spe * recipe.warmup_epochs, total_steps // 2)
    timer = EpochTimer(dev)
    eval_bs = eval_batch_size(recipe.batch_size)
    history: list[EpochMetrics] = []
    train_seconds = 0.0
    images = 0
    step = 0
    lr = recipe.lr
    for epoch in range(1, epochs + 1):
        progress.epoch, progress.step_in_epoch = epoch, 0
        model.train()
        losses: list[torch.Tensor] = []
        correct = torch.zeros((), dtype=torch.int64, device=dev)
        seen = 0
        timer.start()
        for x, y in epoch_batches(train_split, recipe.batch_size, gen):
            x = augment(x, recipe.crop_padding, recipe.flip, gen)
            lr = lr_at(step, total_steps, warmup_steps, recipe.lr, recipe.schedule)
            set_lr(optimizer, lr)
            loss, n_correct = step_fn(x, y)
            losses.append(loss)
            correct += n_correct
            seen += int(y.shape[0])
            step += 1
            progress.step_in_epoch += 1
            _check_time(t_start, time_limit_s, progress)
        train_seconds += timer.stop()
        images += seen
        epoch_losses = torch.stack(losses).cpu()
        bad = _first_non_finite(epoch_losses)
        if bad is not None:
            raise _diverged(epoch, bad + 1, spe, float(epoch_losses[bad]))
        val_loss, val_acc = evaluate(model, data["val"], eval_bs)
        metrics = EpochMetrics(
            epoch=epoch,
            epochs=epochs,
            train_loss=float(epoch_losses.double().mean()),
            train_acc=float(correct.item()) / max(1, seen),
            val_loss=val_loss,
            val_acc=val_acc,
            lr=lr,
            elapsed_s=train_seconds,
        )
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics)
    return _final_result(
        model, data, history, recipe, seed, dev, epochs, eval_bs,
        spec_hash=spec_hash, train_seconds=train_seconds, images=images, t_start=t_start,
    )  # fmt: skip


def _final_result(
    model: nn.Module,
    data: dict[str, DeviceSplit],
    history: list[EpochMetrics],
    recipe: Recipe,
    seed: int,
    dev: torch.device,
    epochs: int,
    eval_bs: int,
    *,
    spec_hash: str,
    train_seconds: float,
    images: int,
    t_start: float,
) -> TrainResult:
    """Clean evaluation of the final model on train, test and test2, once; val is the last epoch's."""
    train_loss, train_acc = evaluate(model, data["train"], eval_bs)
    test_loss, test_acc = evaluate(model, data["test"], eval_bs)
    test2_loss: float | None = None
    test2_acc: float | None = None
    if "test2" in data:
        test2_loss, test2_acc = evaluate(model, data["test2"], eval_bs)
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
        wall_seconds=time.perf_counter() - t_start,
        images_per_second=images / train_seconds if train_seconds > 0 else 0.0,
        device=describe_device(dev),
        recipe_version=result_recipe_version(recipe.version, recipe.epochs, epochs),
        torch_version=torch.__version__,
        code_version=code_version(),
        spec_hash=spec_hash,
        seed=seed,
        epochs=history,
    )
