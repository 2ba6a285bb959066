"""Peak device memory of a batched training run, estimated without touching the device.

The activations come from the real batched step run on the meta device (shapes only, no data, milliseconds):
every tensor autograd saves for the backward pass is counted, which is what a training step holds at its
peak. Parameters, gradients and optimiser state are counted from the parameter shapes; the data from the
splits. On CUDA the step runs under bf16 autocast, so most saved activations are half the fp32 size counted
here: the estimate errs high there (bench/cuda_check.py prints it next to the measured peak).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from workers.training.data_on_device import AUGMENT_CHUNK, steps_per_epoch
from workers.training.evaluate import eval_batch_size
from workers.training.stacked import StackedModel

if TYPE_CHECKING:
    from app.benchmarks.recipes import Recipe
    from app.benchmarks.splits import Splits

CUDA_OVERHEAD_BYTES = 512 * 2**20
"""CUDA context, cuBLAS/cuDNN workspaces and allocator slack of one worker process: outside what the caching
allocator reports, so a per-worker budget must cover it too. An assumption (typical for recent drivers),
not a measurement of this machine."""
MARGIN = 1.25
"""On weights and activations: temporaries of the forward and backward passes and allocator rounding."""


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a batched run of ``members`` needs at its peak, by part."""

    members: int
    weights: int
    """Parameters, gradients and optimiser state of every member."""
    activations: int
    """Tensors saved for backward by one batched training step, plus the largest of them twice (its gradient
    and a temporary in the backward pass)."""
    evaluation: int
    """One batched evaluation forward (no autograd): the largest activation at the evaluation batch size,
    three times (input, output, a temporary)."""
    data: int
    """Every split on the device, every member's augmented epoch and one being built."""
    overhead: int
    """``CUDA_OVERHEAD_BYTES`` on CUDA, 0 on CPU."""

    @property
    def total(self) -> int:
        return int(MARGIN * (self.weights + max(self.activations, self.evaluation))) + self.data + self.overhead


def saved_activation_bytes(
    model_factory: Callable[[], nn.Module],
    input_shape: tuple[int, int, int],
    batch_size: int,
    members: int,
    *,
    label_smoothing: float = 0.0,
) -> tuple[int, int]:
    """(total, largest) bytes of the tensors the batched training step of ``members`` models saves for
    backward, at ``batch_size`` images per member, measured on the meta device in fp32. Parameters (and views
    of them) are not activations and are not counted; a tensor saved by several ops counts once."""
    meta = torch.device("meta")
    with meta:
        models = [model_factory() for _ in range(members)]
    stacked = StackedModel(models, meta)
    param_ids = {id(p) for p in stacked.params.values()}
    seen: dict[int, tuple[torch.Tensor, int]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        base = t._base
        if id(t) not in param_ids and (base is None or id(base) not in param_ids):
            seen[id(t)] = (t, t.numel() * t.element_size())  # the reference keeps the id unique
        return t

    x = torch.zeros(members, batch_size, *input_shape, device=meta)
    y = torch.zeros(members, batch_size, dtype=torch.long, device=meta)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        stacked.train_outputs(x, y, label_smoothing=label_smoothing)
    sizes = [size for _, size in seen.values()]
    return sum(sizes), max(sizes, default=0)


def _split_bytes(splits: Splits) -> int:
    arrays: list[np.ndarray] = []
    for split in (splits.train, splits.val, splits.test, splits.test2, splits.test_private):
        if split is not None:
            arrays += [split.x, split.y]
    if splits.test2_texture_y is not None:
        arrays.append(splits.test2_texture_y)
    return sum(a.size * (4 if a.dtype == np.float32 else 8) for a in arrays)


def estimate_batched_memory(
    model_factory: Callable[[], nn.Module],
    splits: Splits,
    recipe: Recipe,
    members: int,
    device: torch.device,
) -> MemoryEstimate:
    """Peak memory of ``train_models_batched`` with ``members`` members (``model_factory`` is called on the
    meta device, once per member)."""
    if members < 1:
        raise ValueError(f"members must be ≥ 1, got {members}")
    shape = tuple(int(d) for d in splits.train.x.shape[1:])
    n_train = len(splits.train)
    size = min(recipe.batch_size, n_train)
    saved, largest = saved_activation_bytes(
        model_factory, (shape[0], shape[1], shape[2]), size, members, label_smoothing=recipe.label_smoothing
    )
    with torch.device("meta"):
        n_params = sum(p.numel() for p in model_factory().parameters())
    states = 2 if recipe.optimizer == "adamw" else (1 if recipe.momentum else 0)
    eval_per_member = max(recipe.batch_size, eval_batch_size(recipe.batch_size) // members)
    image = 4 * int(np.prod(shape))
    epoch = steps_per_epoch(n_train, recipe.batch_size) * size * (image + 8)
    pad = recipe.crop_padding
    augment = min(AUGMENT_CHUNK, n_train) * shape[0] * (shape[1] + 2 * pad) * (shape[2] + 2 * pad) * 4 if pad else 0
    return MemoryEstimate(
        members=members,
        weights=members * n_params * 4 * (2 + states),
        activations=saved + 2 * largest,
        evaluation=3 * largest * eval_per_member // size,
        data=_split_bytes(splits) + (members + 1) * epoch + augment,
        overhead=CUDA_OVERHEAD_BYTES if device.type == "cuda" else 0,
    )
