"""Augmentation runs on whole batches (whole epochs, in fact) and must have exact random-crop and flip
semantics; batch order is a seeded permutation."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from workers.training.data_on_device import (
    DeviceSplit,
    augment,
    epoch_batches,
    make_generator,
    random_crop,
    random_flip,
)


def _batch(n: int = 64, c: int = 3, h: int = 6, w: int = 7) -> torch.Tensor:
    return torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(0))


def _windows(img: torch.Tensor, pad: int) -> list[torch.Tensor]:
    """Every crop of ``img`` padded by ``pad``, in (dy, dx) order."""
    h, w = img.shape[1:]
    padded = F.pad(img, (pad, pad, pad, pad))
    return [padded[:, dy : dy + h, dx : dx + w] for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)]


def test_crops_are_exact_windows_of_the_padded_image() -> None:
    x = _batch()
    out = random_crop(x, 2, make_generator(1, x.device))
    assert out.shape == x.shape
    offsets = set()
    for i in range(len(x)):
        matches = [k for k, win in enumerate(_windows(x[i], 2)) if torch.equal(out[i], win)]
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


def test_chunked_crop_and_flip_stay_exact() -> None:
    x = _batch(n=23)
    out = augment(x, 1, True, make_generator(4, x.device), chunk=5)
    for i in range(len(x)):
        candidates = _windows(x[i], 1) + [win.flip(2) for win in _windows(x[i], 1)]
        assert any(torch.equal(out[i], c) for c in candidates), f"image {i}"


def test_no_augmentation_leaves_the_batch_unchanged() -> None:
    x = _batch()
    assert augment(x, 0, False, make_generator(3, x.device)) is x


def test_augmentation_follows_the_generator_seed() -> None:
    x = _batch()
    a = augment(x, 2, True, make_generator(5, x.device))
    b = augment(x, 2, True, make_generator(5, x.device))
    c = augment(x, 2, True, make_generator(6, x.device))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_epoch_batches_are_a_seeded_permutation_of_full_batches() -> None:
    n, bs = 50, 8
    split = DeviceSplit(x=torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2), y=torch.arange(n))
    batches = list(epoch_batches(split, bs, make_generator(0, split.y.device)))
    assert [len(y) for _, y in batches] == [bs] * (n // bs)  # the ragged tail is dropped
    labels = torch.cat([y for _, y in batches])
    assert len(set(labels.tolist())) == len(labels)
    assert all(torch.equal(x[:, 0, 0, 0], y.float()) for x, y in batches)  # images stay with their labels
    again = torch.cat([y for _, y in epoch_batches(split, bs, make_generator(0, split.y.device))])
    other = torch.cat([y for _, y in epoch_batches(split, bs, make_generator(1, split.y.device))])
    assert torch.equal(labels, again) and not torch.equal(labels, other)
