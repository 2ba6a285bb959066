"""Arrays handed to the training loop, and the helpers that carve and normalise them.

Every benchmark returns a ``Splits``: train, val (carved from the training data with fixed indices), test
(the public half of the test distribution, evaluated once, at the end), test_private (the other half: never
shown per entry) and an optional second test set (a shifted distribution that measures robustness). Images are float32
NCHW, normalised with the per-channel mean/std of the *train* split, so nothing about val/test leaks into
training. The arrays are read-only because loads are cached in-process and shared between callers.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ArraySplit:
    x: np.ndarray  # float32, NCHW, normalised (per-channel mean/std of the train split)
    y: np.ndarray  # int64

    def __post_init__(self) -> None:
        if self.x.ndim != 4 or self.x.dtype != np.float32:
            raise ValueError(f"x must be float32 NCHW, got {self.x.dtype} {self.x.shape}")
        if self.y.ndim != 1 or self.y.dtype != np.int64:
            raise ValueError(f"y must be int64 1-D, got {self.y.dtype} {self.y.shape}")
        if len(self.x) != len(self.y):
            raise ValueError(f"x and y lengths differ: {len(self.x)} != {len(self.y)}")

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Splits:
    train: ArraySplit
    val: ArraySplit
    test: ArraySplit
    test2: ArraySplit | None
    # Per-channel statistics of the train split used for normalisation (raw pixel scale [0, 1]).
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    # For cue-conflict second test sets (``shapes``): the class whose texture each test2 image carries.
    test2_texture_y: np.ndarray | None = None
    # The private half of the test distribution: never shown per entry; public-minus-private accuracy measures
    # tuning to the public test set. Every built-in has one; None for the standard sets.
    test_private: ArraySplit | None = None


def stratified_split(y: np.ndarray, sizes: tuple[int, ...], seed: int) -> list[np.ndarray]:
    """Split indices ``0..len(y)-1`` into parts of exactly ``sizes`` (the last may be -1 = the rest), each
    holding the classes in (almost) the same proportions as ``y``.

    Each class is shuffled on its own; every sample gets the key ``(rank within class + u) / class size`` with
    ``u`` uniform in [0, 1), and the samples sorted by key are cut into consecutive parts. Deterministic for a
    given seed (numpy's PCG64 stream), and the returned index arrays are sorted.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    keys = np.empty(n, dtype=np.float64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        order = rng.permutation(len(idx))
        keys[idx[order]] = (np.arange(len(idx)) + rng.random(len(idx))) / len(idx)
    ranked = np.argsort(keys, kind="stable")
    sizes_l = list(sizes)
    if sizes_l and sizes_l[-1] == -1:
        sizes_l[-1] = n - sum(sizes_l[:-1])
    if sum(sizes_l) > n or min(sizes_l) < 0:
        raise ValueError(f"split sizes {sizes} do not fit {n} samples")
    cuts = np.cumsum([0, *sizes_l])
    return [np.sort(ranked[a:b]) for a, b in itertools.pairwise(cuts)]


PRIVATE_TEST_SEED = 20_250_614
"""Seed of the public/private halves of every built-in test set (fixed for the life of a recipe version)."""


def public_private(y: np.ndarray, seed: int = PRIVATE_TEST_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Fixed stratified halves of a test set's indices: (public, private), public taking the odd one out.

    Both halves keep the class proportions of ``y`` (``stratified_split``), so they measure the same
    distribution; the private half is what shows tuning to the public one.
    """
    public, private = stratified_split(y, ((len(y) + 1) // 2, -1), seed)
    return public, private


TRAIN_SUBSET_SEED = 20_211
"""Seed of the training-set fraction subsets: fixed, and independent of every run's seed, so all seeds and all
variants of a study train on the very same images."""


def train_subset(splits: Splits, fraction: float, seed: int = TRAIN_SUBSET_SEED) -> Splits:
    """The same splits with only a stratified ``fraction`` (0 < fraction ≤ 1) of the train split; val, test and
    test2 unchanged, and so is the normalisation (the full train split's statistics: the input scale stays the
    same across fractions).

    The subset is the first ``round(fraction·n)`` samples in ``stratified_split``'s key order, whose keys do not
    depend on the size: smaller fractions are nested in larger ones (the 10% images are among the 30%)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"train fraction must be in (0, 1], got {fraction}")
    n = len(splits.train)
    k = max(1, round(fraction * n))
    if k >= n:
        return splits
    idx = stratified_split(splits.train.y, (k,), seed)[0]
    x, y = splits.train.x[idx], splits.train.y[idx]
    x.flags.writeable = False
    y.flags.writeable = False
    return dataclasses.replace(splits, train=ArraySplit(x=x, y=y))


def channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of an NCHW array (std floored to avoid division by ~0).

    Accumulated in float64 over chunks so a 50k×3×32×32 set needs no full-size float64 copy.
    """
    total = np.zeros(x.shape[1], dtype=np.float64)
    total_sq = np.zeros(x.shape[1], dtype=np.float64)
    for start in range(0, len(x), 4096):
        chunk = x[start : start + 4096].astype(np.float64)
        total += chunk.sum(axis=(0, 2, 3))
        total_sq += np.square(chunk).sum(axis=(0, 2, 3))
    count = len(x) * x.shape[2] * x.shape[3]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    return mean, np.maximum(std, 1e-6)


def make_splits(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    test2: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    test_private: tuple[np.ndarray, np.ndarray] | None = None,
    test2_texture_y: np.ndarray | None = None,
    scale: float = 1.0,
) -> Splits:
    """Normalise NCHW images with the train split's channel stats and freeze the arrays.

    Images are ``[0, 1]`` floats, or integers mapped to ``[0, 1]`` by ``scale`` (1/255 for uint8 files); the
    conversion happens once, into the float32 result, so a 50k-image uint8 set is never held as float64.
    """
    mean, std = channel_stats(train[0])
    mean, std = mean * scale, std * scale

    def one(pair: tuple[np.ndarray, np.ndarray]) -> ArraySplit:
        x = pair[0].astype(np.float32, copy=True)
        if scale != 1.0:
            x *= np.float32(scale)
        x -= mean.astype(np.float32)[None, :, None, None]
        x /= std.astype(np.float32)[None, :, None, None]
        y = np.asarray(pair[1], dtype=np.int64).copy()
        x.flags.writeable = False
        y.flags.writeable = False
        return ArraySplit(x=x, y=y)

    tex = None
    if test2_texture_y is not None:
        tex = np.asarray(test2_texture_y, dtype=np.int64).copy()
        tex.flags.writeable = False
    return Splits(
        train=one(train),
        val=one(val),
        test=one(test),
        test2=one(test2) if test2 is not None else None,
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        test2_texture_y=tex,
        test_private=one(test_private) if test_private is not None else None,
    )
