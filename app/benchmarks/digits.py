"""``digits``: scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes), fully offline.

Splits (stratified by class, fixed seed): test 447, val 200, train 1,150. Since ``digits-v2`` the 447 test
images are cut into a public half (224, ``Splits.test``) and a private half (223, ``Splits.test_private``),
both stratified with a fixed seed. Pixel values 0..16 are scaled to [0, 1] and then normalised with the train
split's mean/std. The second test set ("perturbed digits", 224 images) is the public test half with each image
shifted by one pixel in a random one of the 8 directions (zero fill) and Gaussian noise of σ = 0.1 (on the
[0, 1] scale) added, clipped to [0, 1]; shifts and noise come from a fixed seed. It is built from the public
half only, so that no near-copy of a private image is ever scored per entry.
"""

from __future__ import annotations

import numpy as np

from app.benchmarks.splits import Splits, make_splits, public_private, stratified_split

SPLIT_SEED = 20240701
PERTURB_SEED = 20240702
TEST_SIZE = 447
VAL_SIZE = 200
NOISE_SIGMA = 0.1
# The 8 one-pixel shifts (dy, dx), excluding no shift.
SHIFTS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))


def raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 images as float32 N×1×8×8 in [0, 1], labels int64."""
    from sklearn.datasets import load_digits  # imported here: scikit-learn takes seconds to import

    bunch = load_digits()
    x = (np.asarray(bunch.images, dtype=np.float32) / 16.0)[:, None, :, :]
    y = np.asarray(bunch.target, dtype=np.int64)
    return x, y


CLASS_NAMES = tuple(str(d) for d in range(10))


def split_indices(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) indices into the bundled data; fixed since ``digits-v1`` (test = both halves)."""
    test, val, train = stratified_split(y, (TEST_SIZE, VAL_SIZE, -1), SPLIT_SEED)
    return train, val, test


def test_halves(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(public, private) indices into the bundled data: the test indices cut in two stratified halves."""
    _, _, test = split_indices(y)
    public, private = public_private(y[test])
    return test[public], test[private]


def shift_images(x: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Shift each N×C×H×W image by its (dy, dx) row of ``shifts`` (|dy|, |dx| <= 1), filling with zeros."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    h, w = x.shape[2], x.shape[3]
    out = np.empty_like(x)
    for dy, dx in {(int(a), int(b)) for a, b in shifts}:
        sel = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
        # Content moves by (dy, dx): output pixel (i, j) reads input (i - dy, j - dx).
        out[sel] = padded[sel, :, 1 - dy : 1 - dy + h, 1 - dx : 1 - dx + w]
    return out


def perturb(x: np.ndarray, seed: int = PERTURB_SEED, sigma: float = NOISE_SIGMA) -> np.ndarray:
    """The documented ``digits`` second-test-set perturbation of [0, 1] images."""
    rng = np.random.default_rng(seed)
    shifts = np.asarray(SHIFTS, dtype=np.int64)[rng.integers(0, len(SHIFTS), size=len(x))]
    shifted = shift_images(x, shifts)
    noisy = shifted + rng.normal(0.0, sigma, size=x.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def load() -> Splits:
    x, y = raw_digits()
    train, val, _ = split_indices(y)
    public, private = test_halves(y)
    return make_splits(
        (x[train], y[train]),
        (x[val], y[val]),
        (x[public], y[public]),
        (perturb(x[public]), y[public]),
        test_private=(x[private], y[private]),
    )
