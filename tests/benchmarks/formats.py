"""Writers of tiny files in the official dataset formats, for the reader, fetch and load tests."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import numpy as np
import scipy.io


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    dtype = {0x08: ">u1", 0x0C: ">i4"}[type_code]
    header = bytes([0, 0, type_code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(dtype).tobytes()


def write_idx(path: Path, array: np.ndarray, type_code: int = 0x08, *, compress: bool = True) -> Path:
    """An IDX file, gzip-compressed unless ``compress`` is False."""
    data = idx_bytes(array, type_code)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def cifar_records(x: np.ndarray, labels: list[np.ndarray]) -> bytes:
    """Records of ``len(labels)`` label bytes then 3,072 pixel bytes (x is N×3×32×32 uint8)."""
    cols = [lab.astype(np.uint8)[:, None] for lab in labels] + [x.reshape(len(x), -1)]
    return np.concatenate(cols, axis=1).tobytes()


def write_tar_gz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_svhn_mat(path: Path, x: np.ndarray, digits: np.ndarray) -> Path:
    """SVHN format 2: X is 32×32×3×N, y is N×1 with 10 standing for the digit 0."""
    labels = np.where(digits == 0, 10, digits).astype(np.uint8)[:, None]
    scipy.io.savemat(path, {"X": np.ascontiguousarray(x.transpose(2, 3, 1, 0)), "y": labels})
    return path


def images(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)


def write_standard_files(root: Path, rng: np.random.Generator, n: int = 60) -> dict[str, np.ndarray]:
    """Tiny MNIST (+QMNIST), CIFAR-10 (+CIFAR-10.1) files under ``root/<dataset>/``; returns the labels."""
    (root / "mnist").mkdir(parents=True)
    (root / "qmnist").mkdir()
    (root / "cifar10").mkdir()
    (root / "cifar10_1").mkdir()
    y = np.arange(n) % 10
    write_idx(root / "mnist" / "train-images-idx3-ubyte.gz", images(rng, n, (28, 28)))
    write_idx(root / "mnist" / "train-labels-idx1-ubyte.gz", y)
    write_idx(root / "mnist" / "t10k-images-idx3-ubyte.gz", images(rng, 20, (28, 28)))
    write_idx(root / "mnist" / "t10k-labels-idx1-ubyte.gz", np.arange(20) % 10)
    q = 10_000 + 30  # the first 10k QMNIST test digits are MNIST's own test set
    write_idx(root / "qmnist" / "qmnist-test-images-idx3-ubyte.gz", np.zeros((q, 28, 28), dtype=np.uint8))
    qlabels = np.zeros((q, 8), dtype=np.int64)
    qlabels[:, 0] = np.arange(q) % 10
    write_idx(root / "qmnist" / "qmnist-test-labels-idx2-int.gz", qlabels, type_code=0x0C)
    batches = {
        f"cifar-10-batches-bin/data_batch_{i}.bin": cifar_records(images(rng, 12, (3, 32, 32)), [y[:12]])
        for i in range(1, 6)
    }
    batches["cifar-10-batches-bin/test_batch.bin"] = cifar_records(images(rng, 10, (3, 32, 32)), [y[:10]])
    write_tar_gz(root / "cifar10" / "cifar-10-binary.tar.gz", batches)
    np.save(root / "cifar10_1" / "cifar10.1_v6_data.npy", images(rng, 7, (32, 32, 3)))
    np.save(root / "cifar10_1" / "cifar10.1_v6_labels.npy", np.arange(7) % 10)
    return {"y": y}
