"""The built-in benchmarks load deterministically, in the documented shapes, with disjoint, balanced
splits."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from app.benchmarks import digits, pathfinder, shapes
from app.benchmarks.registry import get_benchmark
from app.benchmarks.splits import Splits

BUILTINS = ("digits", "pathfinder", "shapes")  # generated in process; fashion_mnist: test_fashion_mnist.py
SIZES = {  # train, val, public test, private test, second test
    "digits": (1150, 200, 224, 223, 224),
    "pathfinder": (4000, 500, 500, 500, 1000),
    "shapes": (4000, 500, 500, 500, 1000),
}
PARTS = ("train", "val", "test", "test_private", "test2")


def _parts(splits: Splits) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    parts = {name: getattr(splits, name) for name in PARTS}
    return {k: (v.x, v.y) for k, v in parts.items() if v is not None}


@pytest.mark.parametrize("slug", BUILTINS)
def test_builtin_shapes_dtypes_and_sizes(slug: str) -> None:
    bench = get_benchmark(slug)
    splits = bench.load()
    assert bench.builtin and bench.default_seeds >= 3
    assert (bench.n_test, bench.n_test_private, bench.n_test2) == SIZES[slug][2:]
    for name, (x, y), size in zip(PARTS, _parts(splits).values(), SIZES[slug], strict=True):
        assert x.dtype == np.float32 and y.dtype == np.int64, name
        assert x.shape == (size, *bench.input_shape), name
        assert y.min() >= 0 and y.max() < bench.num_classes, name
        assert np.isfinite(x).all(), name
        assert not x.flags.writeable and not y.flags.writeable, name  # shared cached arrays


@pytest.mark.parametrize("slug", BUILTINS)
def test_train_split_is_normalised_per_channel(slug: str) -> None:
    splits = get_benchmark(slug).load()
    x = splits.train.x.astype(np.float64)
    np.testing.assert_allclose(x.mean(axis=(0, 2, 3)), 0.0, atol=1e-4)
    np.testing.assert_allclose(x.std(axis=(0, 2, 3)), 1.0, atol=1e-3)
    assert len(splits.mean) == len(splits.std) == x.shape[1]


@pytest.mark.parametrize("slug", BUILTINS)
def test_classes_are_balanced(slug: str) -> None:
    bench = get_benchmark(slug)
    for name, (_, y) in _parts(bench.load()).items():
        counts = np.bincount(y, minlength=bench.num_classes)
        assert counts.min() >= 0.8 * counts.mean(), (name, counts)


@pytest.mark.parametrize("slug", BUILTINS)
def test_splits_share_no_image(slug: str) -> None:
    parts = _parts(get_benchmark(slug).load())
    seen: dict[bytes, str] = {}
    for name in ("train", "val", "test", "test_private"):
        for row in parts[name][0]:
            key = hashlib.blake2b(row.tobytes(), digest_size=16).digest()
            assert seen.setdefault(key, name) == name, f"an image is in both {seen[key]} and {name}"


def test_registry_load_is_cached() -> None:
    bench = get_benchmark("digits")
    assert bench.load() is bench.load()
    assert bench.load(data_dir=None) is bench.load()


def test_digits_is_deterministic_and_indices_fixed() -> None:
    a, b = digits.load(), digits.load()
    for (xa, ya), (xb, yb) in zip(_parts(a).values(), _parts(b).values(), strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    _, y = digits.raw_digits()
    train, val, test = digits.split_indices(y)
    assert len(np.intersect1d(train, val)) == len(np.intersect1d(train, test)) == len(np.intersect1d(val, test)) == 0
    assert len(train) + len(val) + len(test) == len(y) == 1797
    # The split behind digits-v2 and -v2 is frozen: if this fingerprint changes, it needs a new version.
    fingerprint = hashlib.sha256(np.concatenate([train, val, test]).astype("<i8").tobytes()).hexdigest()[:16]
    assert fingerprint == DIGITS_FINGERPRINT


DIGITS_FINGERPRINT = "122f8d65a630c31a"


def test_digits_second_test_is_a_perturbation_of_the_public_test_half() -> None:
    x, y = digits.raw_digits()
    public, _ = digits.test_halves(y)
    perturbed = digits.perturb(x[public])
    assert perturbed.shape == x[public].shape and perturbed.min() >= 0.0 and perturbed.max() <= 1.0
    np.testing.assert_array_equal(perturbed, digits.perturb(x[public]))
    diff = np.abs(perturbed - x[public]).mean()
    assert 0.05 < diff < 0.5
    splits = get_benchmark("digits").load()
    assert splits.test2 is not None
    np.testing.assert_array_equal(splits.test2.y, splits.test.y)


def test_digits_halves_partition_the_v1_test_set() -> None:
    """digits-v2 keeps the 447 test images of digits-v2 and cuts them in two fixed stratified halves."""
    _, y = digits.raw_digits()
    _, _, test = digits.split_indices(y)
    public, private = digits.test_halves(y)
    assert len(public) == 224 and len(private) == 223 and len(np.intersect1d(public, private)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([public, private])), np.sort(test))
    assert np.abs(np.bincount(y[public], minlength=10) - np.bincount(y[private], minlength=10)).max() <= 1
    fingerprint = hashlib.sha256(np.concatenate([public, private]).astype("<i8").tobytes()).hexdigest()[:16]
    assert fingerprint == DIGITS_HALVES_FINGERPRINT  # digits-v2 is frozen: a change needs a new version


DIGITS_HALVES_FINGERPRINT = "24c21deeffbea6d3"


@pytest.mark.parametrize("slug", BUILTINS)
def test_private_half_is_the_same_distribution(slug: str) -> None:
    splits = get_benchmark(slug).load()
    assert splits.test_private is not None
    k = get_benchmark(slug).num_classes
    pub, priv = np.bincount(splits.test.y, minlength=k), np.bincount(splits.test_private.y, minlength=k)
    assert np.abs(pub - priv).max() <= 1, (pub, priv)


def test_shift_images_moves_content() -> None:
    img = np.zeros((2, 1, 4, 4), dtype=np.float32)
    img[:, 0, 1, 1] = 1.0
    out = digits.shift_images(img, np.array([[1, 0], [-1, -1]]))
    assert out[0, 0, 2, 1] == 1.0 and out[0].sum() == 1.0
    assert out[1, 0, 0, 0] == 1.0 and out[1].sum() == 1.0


def test_pathfinder_generation_is_deterministic() -> None:
    a, b = pathfinder.generate(64, seed=7), pathfinder.generate(64, seed=7)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, pathfinder.generate(64, seed=8).images)


def test_shapes_generation_is_deterministic() -> None:
    a, b = shapes.generate(64, seed=7, conflict=False), shapes.generate(64, seed=7, conflict=False)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
