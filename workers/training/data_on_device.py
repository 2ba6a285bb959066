"""Whole dataset splits held as device tensors, seeded batch order, and vectorised augmentation.

Benchmarks here are small enough (≤ a few hundred MB as float32) to live on the device in full. That removes
the DataLoader, worker processes and host→device copies from the step, which is what keeps the loop's
throughput within a few percent of a bare forward/backward/step (see bench/train_efficiency.py). Everything
random is drawn from one ``torch.Generator`` on the device, so one seed fixes the data order and every
augmentation decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

AUGMENT_CHUNK = 16_384  # images augmented at once: bounds the padded copy (CIFAR: ~130 MB per chunk)


@dataclass(frozen=True)
class DeviceSplit:
    """One split on the device: ``x`` float32 NCHW (channels_last on CUDA), ``y`` int64."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


def to_device_split(x: np.ndarray, y: np.ndarray, device: torch.device) -> DeviceSplit:
    """Copy a numpy split to the device once."""
    if x.ndim != 4:
        raise ValueError(f"expected NCHW images, got shape {x.shape}")
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    # torch.tensor copies: benchmark arrays are read-only (cached and shared), which from_numpy warns about.
    xt = torch.tensor(np.asarray(x, dtype=np.float32), device=device)
    yt = torch.tensor(np.asarray(y, dtype=np.int64), device=device)
    if device.type == "cuda":
        xt = xt.contiguous(memory_format=torch.channels_last)
    return DeviceSplit(x=xt, y=yt)


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """A generator on ``device`` (randperm/randint need one on the same device as their output)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Full batches only (a ragged last batch would recompile under torch.compile and can break BatchNorm);
    a split smaller than one batch is a single batch."""
    return max(1, n // batch_size)


def epoch_arrays(
    split: DeviceSplit, batch_size: int, gen: torch.Generator, *, crop_padding: int = 0, flip: bool = False
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """One epoch's images and labels in batch order, augmented, and the batch size: batch ``i`` is rows
    ``i·size … (i+1)·size``.

    A fresh permutation is drawn from ``gen``, the epoch's images are gathered in that order and augmented in
    one vectorised pass (in chunks, to bound the padded copy). Every draw comes from ``gen`` in a fixed order,
    so the batched engine, which calls this once per member with that member's generator, sees exactly the
    batches a one-by-one run with the same seed sees.
    """
    n = len(split)
    size = min(batch_size, n)
    steps = steps_per_epoch(n, batch_size)
    idx = torch.randperm(n, generator=gen, device=split.y.device)[: steps * size]
    x = augment(split.x[idx], crop_padding, flip, gen)
    if x.device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)  # a no-op unless the gather dropped the layout
    return x, split.y[idx], size


def epoch_batches(
    split: DeviceSplit, batch_size: int, gen: torch.Generator, *, crop_padding: int = 0, flip: bool = False
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield one epoch of ``(x, y)`` batches: a fresh permutation drawn from ``gen``, augmented as a whole.

    Every batch is a free slice (a view) of ``epoch_arrays``, so the step itself launches no data kernels: on
    a GPU with a small model, per-step launch overhead, not arithmetic, is what a data pipeline costs. Each
    image is augmented exactly as per-batch augmentation would; only the draw order differs.
    """
    x, y, size = epoch_arrays(split, batch_size, gen, crop_padding=crop_padding, flip=flip)
    for step in range(len(y) // size):
        yield x[step * size : (step + 1) * size], y[step * size : (step + 1) * size]


def stacked_epoch(
    split: DeviceSplit, batch_size: int, gens: list[torch.Generator], *, crop_padding: int = 0, flip: bool = False
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``epoch_arrays`` for several members at once, stacked on a leading member axis: ``x`` is (S, n, C, H,
    W), ``y`` (S, n). Each member draws from its own generator, as its one-by-one run would; the stack is
    filled member by member, so the peak is one epoch above the result."""
    first_x, first_y, size = epoch_arrays(split, batch_size, gens[0], crop_padding=crop_padding, flip=flip)
    x = first_x.new_empty((len(gens), *first_x.shape))
    y = first_y.new_empty((len(gens), *first_y.shape))
    x[0], y[0] = first_x, first_y
    del first_x, first_y
    for i, gen in enumerate(gens[1:], start=1):
        x[i], y[i], _ = epoch_arrays(split, batch_size, gen, crop_padding=crop_padding, flip=flip)
    return x, y, size


def random_crop(x: torch.Tensor, padding: int, gen: torch.Generator) -> torch.Tensor:
    """Exact random-crop-with-padding on a whole batch, no Python loop over images.

    Each image is zero-padded by ``padding`` on every side (zero is the dataset mean, since inputs are
    normalised) and an ``H×W`` window is cut at an offset drawn uniformly from ``[0, 2·padding]`` per axis, as
    torchvision's ``RandomCrop(size, padding)`` does. The windows are gathered with one advanced-indexing op.
    """
    if padding <= 0:
        return x
    n, c, h, w = x.shape
    dev = x.device
    padded = F.pad(x, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=gen, device=dev)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=gen, device=dev)
    rows = (dy[:, None] + torch.arange(h, device=dev))[:, None, :, None]  # n,1,h,1
    cols = (dx[:, None] + torch.arange(w, device=dev))[:, None, None, :]  # n,1,1,w
    batch = torch.arange(n, device=dev)[:, None, None, None]
    chans = torch.arange(c, device=dev)[None, :, None, None]
    return padded[batch, chans, rows, cols]


def random_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = torch.rand(x.shape[0], generator=gen, device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def augment(
    x: torch.Tensor, crop_padding: int, flip: bool, gen: torch.Generator, chunk: int = AUGMENT_CHUNK
) -> torch.Tensor:
    """The recipe's augmentation of a batch (or a whole epoch, ``chunk`` images at a time); the identity (the
    same tensor) when the recipe asks for none."""
    if crop_padding <= 0 and not flip:
        return x
    out = torch.empty_like(x)
    for start in range(0, x.shape[0], chunk):
        part = x[start : start + chunk]
        if crop_padding > 0:
            part = random_crop(part, crop_padding, gen)
        if flip:
            part = random_flip(part, gen)
        out[start : start + chunk] = part
    return out
