"""Optimiser and learning-rate schedule built from a benchmark recipe."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from app.benchmarks.recipes import Recipe


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Decay only weight matrices/kernels: biases and norm scales/shifts (every tensor with ≤ 1 dim), and any
    names the model lists in a timm-style ``no_weight_decay()`` (position embeddings, class tokens), get none.

    Decaying a norm's scale just fights the normalisation and penalises architectures with more norms, which
    would bias a fixed-recipe comparison between families.
    """
    return stacked_param_groups(model, dict(model.named_parameters()), weight_decay)


def stacked_param_groups(
    template: nn.Module, params: dict[str, torch.Tensor], weight_decay: float
) -> list[dict[str, Any]]:
    """``param_groups`` for tensors standing in for ``template``'s parameters (by name): the decay rule is
    decided on the template's own parameters, so stacked copies (one more leading dimension) fall in the
    same groups as one model's."""
    skip: set[str] = set()
    hook = getattr(template, "no_weight_decay", None)
    if callable(hook):
        skip = set(hook())
    decay: list[torch.Tensor] = []
    no_decay: list[torch.Tensor] = []
    for name, param in template.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or name in skip or name.split(".")[-1] in skip:
            no_decay.append(params[name])
        else:
            decay.append(params[name])
    groups: list[dict[str, Any]] = []
    if decay:
        groups.append({"params": decay, "weight_decay": weight_decay})
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(model: nn.Module, recipe: Recipe, device: torch.device) -> torch.optim.Optimizer:
    """SGD with heavy-ball momentum (as ``Recipe`` documents) or AdamW with default betas, per the recipe.
    Fused kernels on CUDA (a few launches per step instead of a few per parameter)."""
    return make_optimizer(param_groups(model, recipe.weight_decay), recipe, device)


def make_optimizer(
    groups: list[dict[str, Any]], recipe: Recipe, device: torch.device, *, capturable: bool = False
) -> torch.optim.Optimizer:
    """The recipe's optimiser over ``groups``. ``capturable`` (CUDA only): the learning rate is a device tensor
    (change it with ``set_lr``, which fills it in place) and the step can be captured in a CUDA graph."""
    fused = device.type == "cuda"
    lr: float | torch.Tensor = recipe.lr
    if capturable:
        if not fused:
            raise ValueError("a capturable optimiser needs a CUDA device")
        lr = torch.tensor(recipe.lr, dtype=torch.float32, device=device)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=recipe.momentum, fused=fused or None)
    if recipe.optimizer == "adamw":
        if capturable:
            return torch.optim.AdamW(groups, lr=lr, fused=True, capturable=True)
        return torch.optim.AdamW(groups, lr=lr, fused=fused or None)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}")


def lr_at(step: int, total_steps: int, warmup_steps: int, base_lr: float, schedule: str) -> float:
    """Learning rate for optimiser step ``step`` (0-based): linear warmup from base/warmup to base over
    ``warmup_steps``, then cosine to 0 at ``total_steps`` (or constant)."""
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if schedule == "constant":
        return base_lr
    if schedule != "cosine":
        raise ValueError(f"unknown schedule {schedule!r}")
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every group's learning rate; a tensor learning rate (capturable optimisers) is filled in place, so
    a captured step keeps reading the same memory."""
    for group in optimizer.param_groups:
        current = group["lr"]
        if isinstance(current, torch.Tensor):
            current.fill_(lr)
        else:
            group["lr"] = lr
