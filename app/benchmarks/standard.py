"""Standard sets read from their official files (fetched beforehand with ``archarena data fetch NAME``).

Layout: ``DATA_DIR/<dataset>/<official file name>`` (see ``sources.SOURCES``). For every set a validation
split of 5,000 images is carved from the official training set (stratified, fixed seed); the official test set
is the test split; MNIST's second test set is QMNIST's 50,000 extra test digits (items 10,000..59,999 of the
QMNIST test files; the first 10,000 are MNIST's own test set) and CIFAR-10's is CIFAR-10.1 v6 (2,000 images).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from app.benchmarks import readers
from app.benchmarks.sources import SOURCES, datasets_for
from app.benchmarks.splits import Splits, make_splits, stratified_split

# Fashion-MNIST is a built-in since fashion_mnist-v2 (``app.benchmarks.fashion_mnist``); `archarena data fetch
# fashion_mnist` still downloads its files from a mirror into the same folder.
STANDARD_SLUGS = ("mnist", "cifar10", "cifar100", "svhn")
VAL_SIZE = 5000
VAL_SEED = 20240703
QMNIST_MNIST_OVERLAP = 10_000


class DatasetNotFetched(FileNotFoundError):
    """The files of a standard set are not in the data directory yet."""


def resolve_data_dir(data_dir: Path | None) -> Path:
    """``data_dir``, else ``$ARCHARENA_DATA_DIR``, else ``~/.cache/archarena/data`` (absolute)."""
    if data_dir is None:
        data_dir = Path(os.environ.get("ARCHARENA_DATA_DIR") or Path.home() / ".cache" / "archarena" / "data")
    return Path(data_dir).expanduser().resolve()


def dataset_path(data_dir: Path, dataset: str, filename: str) -> Path:
    return data_dir / dataset / filename


def require_files(slug: str, data_dir: Path) -> None:
    """Raise ``DatasetNotFetched`` naming every missing file and the command that fetches them."""
    missing = [
        dataset_path(data_dir, ds, f.filename)
        for ds in datasets_for(slug)
        for f in SOURCES[ds].files
        if not dataset_path(data_dir, ds, f.filename).is_file()
    ]
    if missing:
        listed = ", ".join(str(p) for p in missing)
        raise DatasetNotFetched(
            f"{slug}: dataset files not found ({listed}); run: archarena data fetch {slug} (data directory: {data_dir})"
        )


def _carve(x: np.ndarray, y: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(train, val) from the official training set: ``VAL_SIZE`` images, stratified, fixed seed."""
    val_size = min(VAL_SIZE, len(y) // 10)  # tiny test fixtures get a proportional val split
    val, train = stratified_split(y, (val_size, -1), VAL_SEED)
    return (x[train], y[train]), (x[val], y[val])


def _mnist_like(dataset: str, data_dir: Path) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    d = data_dir / dataset
    train = (
        readers.read_idx_images(d / "train-images-idx3-ubyte.gz"),
        readers.read_idx_labels(d / "train-labels-idx1-ubyte.gz"),
    )
    test = (
        readers.read_idx_images(d / "t10k-images-idx3-ubyte.gz"),
        readers.read_idx_labels(d / "t10k-labels-idx1-ubyte.gz"),
    )
    for name, (x, y) in (("train", train), ("test", test)):
        if len(x) != len(y):
            raise ValueError(f"{d}: {name} images and labels differ in count ({len(x)} != {len(y)})")
    return train, test


def _qmnist_extra(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    d = data_dir / "qmnist"
    x = readers.read_idx_images(d / "qmnist-test-images-idx3-ubyte.gz")
    y = readers.read_idx_labels(d / "qmnist-test-labels-idx2-int.gz")
    if len(x) != len(y) or len(x) <= QMNIST_MNIST_OVERLAP:
        raise ValueError(f"{d}: expected more than {QMNIST_MNIST_OVERLAP} QMNIST test images with labels")
    return x[QMNIST_MNIST_OVERLAP:], y[QMNIST_MNIST_OVERLAP:]


def _cifar(slug: str, data_dir: Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    if slug == "cifar10":
        tar = data_dir / "cifar10" / "cifar-10-binary.tar.gz"
        base = "cifar-10-batches-bin/"
        kw = {"label_bytes": 1, "label_index": 0, "num_classes": 10}
        train = readers.read_cifar_binary(tar, [f"{base}data_batch_{i}.bin" for i in range(1, 6)], **kw)
        test = readers.read_cifar_binary(tar, [f"{base}test_batch.bin"], **kw)
    else:
        tar = data_dir / "cifar100" / "cifar-100-binary.tar.gz"
        kw = {"label_bytes": 2, "label_index": 1, "num_classes": 100}  # fine labels
        train = readers.read_cifar_binary(tar, ["cifar-100-binary/train.bin"], **kw)
        test = readers.read_cifar_binary(tar, ["cifar-100-binary/test.bin"], **kw)
    return train, test


def load(slug: str, data_dir: Path | None) -> Splits:
    """The ``Splits`` of a standard benchmark from ``data_dir`` (see ``resolve_data_dir``)."""
    root = resolve_data_dir(data_dir)
    require_files(slug, root)
    test2: tuple[np.ndarray, np.ndarray] | None = None
    if slug == "mnist":
        full_train, test = _mnist_like(slug, root)
        test2 = _qmnist_extra(root)
    elif slug in ("cifar10", "cifar100"):
        full_train, test = _cifar(slug, root)
        if slug == "cifar10":
            d = root / "cifar10_1"
            test2 = (
                readers.read_npy_images(d / "cifar10.1_v6_data.npy"),
                readers.read_npy_labels(d / "cifar10.1_v6_labels.npy", 10),
            )
            if len(test2[0]) != len(test2[1]):
                raise ValueError(f"{d}: CIFAR-10.1 images and labels differ in count")
    elif slug == "svhn":
        full_train = readers.read_svhn_mat(root / "svhn" / "train_32x32.mat")
        test = readers.read_svhn_mat(root / "svhn" / "test_32x32.mat")
    else:
        raise KeyError(f"{slug!r} is not a standard benchmark; known: {', '.join(STANDARD_SLUGS)}")
    train, val = _carve(*full_train)
    return make_splits(train, val, test, test2, scale=1.0 / 255.0)
