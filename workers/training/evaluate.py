"""Loss and accuracy of a model on one split, in large no-grad batches."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from workers.training.data_on_device import DeviceSplit


def autocast_for(device: torch.device) -> AbstractContextManager[object]:
    """bf16 autocast on CUDA (tensor cores, no loss scaling needed); plain fp32 elsewhere."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
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
