"""Readers parse tiny files written in the official formats, and reject damaged ones with a clear error."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from app.benchmarks import readers
from tests.benchmarks.formats import cifar_records, images, write_idx, write_svhn_mat, write_tar_gz


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_idx_images_and_labels(tmp_path: Path, rng: np.random.Generator) -> None:
    x = images(rng, 5, (28, 28))
    write_idx(tmp_path / "img.gz", x)
    write_idx(tmp_path / "lab.gz", np.array([3, 1, 4, 1, 5]))
    np.testing.assert_array_equal(readers.read_idx_images(tmp_path / "img.gz")[:, 0], x)
    labels = readers.read_idx_labels(tmp_path / "lab.gz")
    assert labels.dtype == np.int64 and labels.tolist() == [3, 1, 4, 1, 5]


def test_qmnist_int_labels_use_the_class_column(tmp_path: Path) -> None:
    table = np.arange(24).reshape(3, 8) % 10
    write_idx(tmp_path / "q.gz", table, type_code=0x0C)
    assert readers.read_idx_labels(tmp_path / "q.gz").tolist() == table[:, 0].tolist()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (gzip.compress(b"\x00\x00\x99\x01" + b"\x00" * 8), "magic"),
        (gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05abc"), "needs 5 data bytes"),
        (b"not gzip at all", "gzip"),
        (gzip.compress(b"\x00\x00\x08\x03\x00\x00\x00\x01")[:-6], "gzip"),
    ],
)
def test_idx_rejects_corrupt_files(tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "bad-idx3-ubyte.gz"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=message) as info:
        readers.read_idx(path)
    assert "bad-idx3-ubyte.gz" in str(info.value)


def test_idx_images_wrong_shape(tmp_path: Path, rng: np.random.Generator) -> None:
    write_idx(tmp_path / "img.gz", images(rng, 2, (5, 5)))
    with pytest.raises(ValueError, match=r"img\.gz"):
        readers.read_idx_images(tmp_path / "img.gz")


def test_cifar10_and_cifar100_binary(tmp_path: Path, rng: np.random.Generator) -> None:
    x = images(rng, 4, (3, 32, 32))
    write_tar_gz(
        tmp_path / "c10.tar.gz",
        {
            "b/one.bin": cifar_records(x[:3], [np.array([0, 9, 2])]),
            "b/two.bin": cifar_records(x[3:], [np.array([5])]),
        },
    )
    got_x, got_y = readers.read_cifar_binary(
        tmp_path / "c10.tar.gz", ["b/one.bin", "b/two.bin"], label_bytes=1, label_index=0, num_classes=10
    )
    np.testing.assert_array_equal(got_x, x)
    assert got_y.tolist() == [0, 9, 2, 5]
    coarse, fine = np.array([1, 2, 3, 4]), np.array([99, 0, 50, 7])
    write_tar_gz(tmp_path / "c100.tar.gz", {"c/train.bin": cifar_records(x, [coarse, fine])})
    _, y100 = readers.read_cifar_binary(
        tmp_path / "c100.tar.gz", ["c/train.bin"], label_bytes=2, label_index=1, num_classes=100
    )
    assert y100.tolist() == fine.tolist()


def test_cifar_rejects_bad_archives(tmp_path: Path, rng: np.random.Generator) -> None:
    good = cifar_records(images(rng, 2, (3, 32, 32)), [np.array([1, 2])])
    write_tar_gz(tmp_path / "short.tar.gz", {"b/x.bin": good[:-5]})
    with pytest.raises(ValueError, match="whole number"):
        readers.read_cifar_binary(tmp_path / "short.tar.gz", ["b/x.bin"], label_bytes=1, label_index=0, num_classes=10)
    with pytest.raises(ValueError, match="no member"):
        readers.read_cifar_binary(tmp_path / "short.tar.gz", ["b/y.bin"], label_bytes=1, label_index=0, num_classes=10)
    (tmp_path / "junk.tar.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(ValueError, match=r"junk\.tar\.gz"):
        readers.read_cifar_binary(tmp_path / "junk.tar.gz", ["b/x.bin"], label_bytes=1, label_index=0, num_classes=10)


def test_svhn_mat(tmp_path: Path, rng: np.random.Generator) -> None:
    x = images(rng, 3, (3, 32, 32))
    write_svhn_mat(tmp_path / "train_32x32.mat", x, np.array([0, 7, 9]))
    got_x, got_y = readers.read_svhn_mat(tmp_path / "train_32x32.mat")
    np.testing.assert_array_equal(got_x, x)
    assert got_y.tolist() == [0, 7, 9]  # label 10 means digit 0
    (tmp_path / "bad.mat").write_bytes(b"MATLAB 5.0 nonsense" * 10)
    with pytest.raises(ValueError, match=r"bad\.mat"):
        readers.read_svhn_mat(tmp_path / "bad.mat")


def test_cifar10_1_npy(tmp_path: Path, rng: np.random.Generator) -> None:
    x = images(rng, 3, (32, 32, 3))
    np.save(tmp_path / "d.npy", x)
    np.save(tmp_path / "l.npy", np.array([1, 2, 3]))
    np.testing.assert_array_equal(readers.read_npy_images(tmp_path / "d.npy"), x.transpose(0, 3, 1, 2))
    assert readers.read_npy_labels(tmp_path / "l.npy", 10).tolist() == [1, 2, 3]
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"obj\.npy"):
        readers.read_npy_images(tmp_path / "obj.npy")  # never unpickles
