"""Augmentation runs on whole batches and must have exact random-crop and flip semantics."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from workers.training.data_on_device import augment, make_generator, random_crop, random_flip


def _batch(n: int = 64, c: int = 3, h: int = 6, w: int = 7) -> torch.Tensor:
    return torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(0))


def test_crops_are_exact_windows_of_the_padded_image() -> None:
    x = _batch()
    pad = 2
    out = random_crop(x, pad, make_generator(1, x.device))
    assert out.shape == x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    offsets = set()
    for i in range(len(x)):
        matches = [
            (dy, dx)
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
            if torch.equal(out[i], padded[i, :, dy : dy + x.shape[2], dx : dx + x.shape[3]])
        ]
        assert len(matches) == 1, f"image {i}: not exactly one window matches"
        offsets.add(matches[0])
    assert len(offsets) > 10  # offsets are drawn per image, not per batch


def test_flips_are_exact_mirrors_and_per_image() -> None:
    x = _batch()
    out = random_flip(x, make_generator(2, x.device))
    flipped = [torch.equal(out[i], x[i].flip(2)) for i in range(len(x))]
    kept = [torch.equal(out[i], x[i]) for i in range(len(x))]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 10 < sum(flipped) < 54


def test_no_augmentation_leaves_the_batch_unchanged() -> None:
    x = _batch()
    out = augment(x, 0, False, make_generator(3, x.device))
    assert out is x


def test_augmentation_follows_the_generator_seed() -> None:
    x = _batch()
    a = augment(x, 2, True, make_generator(5, x.device))
    b = augment(x, 2, True, make_generator(5, x.device))
    c = augment(x, 2, True, make_generator(6, x.device))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
