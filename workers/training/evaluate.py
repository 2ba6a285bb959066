"""Loss and accuracy of a model on one split, in large no-grad batches."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from workers.training.data_on_device import DeviceSplit


def autocast_for(device: torch.device, *, cache: bool = True) -> AbstractContextManager[object]:
    """bf16 autocast on CUDA (tensor cores, no loss scaling needed); plain fp32 elsewhere. ``cache=False`` for
    code captured in a CUDA graph (autocast's weight-cast cache must not outlive the capture)."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16, cache_enabled=cache)
    return nullcontext()


def eval_batch_size(train_batch_size: int) -> int:
    """No activations are kept for backward, so evaluation can use much larger batches than training."""
    return max(1024, 4 * train_batch_size)


@torch.no_grad()
def evaluate(model: nn.Module, split: DeviceSplit, batch_size: int) -> tuple[float, float]:
    """Mean cross-entropy (no label smoothing) and accuracy of ``model`` on ``split``, in eval mode.

    Sums stay on the device and are read once at the end, so there is one host sync per call. The model is put
    back into the training mode it was in.
    """
    was_training = model.training
    model.eval()
    device = split.y.device
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    try:
        for start in range(0, len(split), batch_size):
            x = split.x[start : start + batch_size]
            y = split.y[start : start + batch_size]
            with autocast_for(device):
                logits = model(x)
            logits = logits.float()
            loss_sum += F.cross_entropy(logits, y, reduction="sum").double()
            correct += (logits.argmax(dim=1) == y).sum()
    finally:
        model.train(was_training)
    n = max(1, len(split))
    return float(loss_sum.item()) / n, float(correct.item()) / n


@torch.no_grad()
def evaluate_many(
    logits_fn: Callable[[torch.Tensor], torch.Tensor], split: DeviceSplit, batch_size: int
) -> list[tuple[float, float]]:
    """``evaluate`` for S models at once: ``logits_fn`` maps one batch of images (N, C, H, W) to every model's
    logits (S, N, classes), in eval mode. Returns each model's (mean cross-entropy, accuracy); one host sync."""
    device = split.y.device
    loss_sum: torch.Tensor | None = None
    correct: torch.Tensor | None = None
    for start in range(0, len(split), batch_size):
        x = split.x[start : start + batch_size]
        y = split.y[start : start + batch_size]
        with autocast_for(device):
            logits = logits_fn(x)
        logits = logits.float()
        targets = y.expand(logits.shape[0], -1)
        losses = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").double().sum(dim=1)
        hits = (logits.argmax(dim=2) == targets).sum(dim=1)
        loss_sum = losses if loss_sum is None else loss_sum + losses
        correct = hits if correct is None else correct + hits
    if loss_sum is None or correct is None:
        raise ValueError("cannot evaluate on an empty split")
    n = len(split)
    return [(float(lo) / n, float(c) / n) for lo, c in zip(loss_sum.tolist(), correct.tolist(), strict=True)]
