"""Where the standard datasets come from: official URLs and the checksums their publishers (or torchvision,
which mirrors them) give. ``archarena data fetch NAME`` downloads exactly these files and refuses anything
else.

Checksum sources (looked up, not computed here):
- MNIST, Fashion-MNIST, QMNIST: torchvision ``torchvision/datasets/mnist.py`` (``MNIST.resources``,
  ``FashionMNIST.resources``, ``QMNIST.resources["test"]``), md5. MNIST is served from torchvision's mirror
  (ossci-datasets) because yann.lecun.com is often unreachable; the files are byte-identical (same md5).
- CIFAR-10 / CIFAR-100 *binary* versions: md5 published on https://www.cs.toronto.edu/~kriz/cifar.html (the
  table of versions: "CIFAR-10 binary version (suitable for C programs)"); the python (pickle) versions are
  never used.
- SVHN format 2: torchvision ``torchvision/datasets/svhn.py`` (``SVHN.split_list``), md5.
- CIFAR-10.1 v6: the CIFAR-10.1 repository (github.com/modestyachts/CIFAR-10.1) publishes no checksums; the
  md5s are those pinned by MIT-LL's rai_toolbox (``mit-ll-responsible-ai/responsible-ai-toolbox``,
  ``rai_toolbox.datasets.CIFAR10P1``: ``_data_md5`` / ``_labels_md5``).

Sizes are given where a source states them (only used for progress; the checksum is what is verified).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class SourceFile:
    filename: str
    url: str
    checksum: str  # lowercase hex digest
    algorithm: Literal["md5", "sha256"] = "md5"
    size: int | None = None  # bytes, when published


@dataclass(frozen=True)
class DatasetSource:
    name: str
    homepage: str
    files: tuple[SourceFile, ...]


_MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_QMNIST = "https://raw.githubusercontent.com/facebookresearch/qmnist/master/"
_SVHN = "http://ufldl.stanford.edu/housenumbers/"
_CIFAR101 = "https://github.com/modestyachts/CIFAR-10.1/raw/master/datasets/"

SOURCES: dict[str, DatasetSource] = {
    "mnist": DatasetSource(
        name="mnist",
        homepage="http://yann.lecun.com/exdb/mnist/",
        files=(
            SourceFile(
                "train-images-idx3-ubyte.gz",
                _MNIST_MIRROR + "train-images-idx3-ubyte.gz",
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            ),
            SourceFile(
                "train-labels-idx1-ubyte.gz",
                _MNIST_MIRROR + "train-labels-idx1-ubyte.gz",
                "d53e105ee54ea40749a09fcbcd1e9432",
            ),
            SourceFile(
                "t10k-images-idx3-ubyte.gz",
                _MNIST_MIRROR + "t10k-images-idx3-ubyte.gz",
                "9fb629c4189551a2d022fa330f9573f3",
            ),
            SourceFile(
                "t10k-labels-idx1-ubyte.gz",
                _MNIST_MIRROR + "t10k-labels-idx1-ubyte.gz",
                "ec29112dd5afa0611ce80d1b7f02629c",
            ),
        ),
    ),
    "qmnist": DatasetSource(
        name="qmnist",
        homepage="https://github.com/facebookresearch/qmnist",
        files=(
            SourceFile(
                "qmnist-test-images-idx3-ubyte.gz",
                _QMNIST + "qmnist-test-images-idx3-ubyte.gz",
                "1394631089c404de565df7b7aeaf9412",
            ),
            SourceFile(
                "qmnist-test-labels-idx2-int.gz",
                _QMNIST + "qmnist-test-labels-idx2-int.gz",
                "5b5b05890a5e13444e108efe57b788aa",
            ),
        ),
    ),
    "fashion_mnist": DatasetSource(
        name="fashion_mnist",
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        files=(
            SourceFile(
                "train-images-idx3-ubyte.gz",
                _FASHION + "train-images-idx3-ubyte.gz",
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            ),
            SourceFile(
                "train-labels-idx1-ubyte.gz",
                _FASHION + "train-labels-idx1-ubyte.gz",
                "25c81989df183df01b3e8a0aad5dffbe",
            ),
            SourceFile(
                "t10k-images-idx3-ubyte.gz",
                _FASHION + "t10k-images-idx3-ubyte.gz",
                "bef4ecab320f06d8554ea6380940ec79",
            ),
            SourceFile(
                "t10k-labels-idx1-ubyte.gz",
                _FASHION + "t10k-labels-idx1-ubyte.gz",
                "bb300cfdad3c16e7a12a480ee83cd310",
            ),
        ),
    ),
    "cifar10": DatasetSource(
        name="cifar10",
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        files=(
            SourceFile(
                "cifar-10-binary.tar.gz",
                "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                "c32a1d4ab5d03f1284b67883e8d87530",
                size=170_052_171,
            ),
        ),
    ),
    "cifar10_1": DatasetSource(
        name="cifar10_1",
        homepage="https://github.com/modestyachts/CIFAR-10.1",
        files=(
            SourceFile(
                "cifar10.1_v6_data.npy",
                _CIFAR101 + "cifar10.1_v6_data.npy",
                "4fcae82cb1326aec9ed1dc1fc62345b8",
            ),
            SourceFile(
                "cifar10.1_v6_labels.npy",
                _CIFAR101 + "cifar10.1_v6_labels.npy",
                "09a97fb7c430502fcbd69d95093a3f85",
            ),
        ),
    ),
    "cifar100": DatasetSource(
        name="cifar100",
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        files=(
            SourceFile(
                "cifar-100-binary.tar.gz",
                "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
                "03b5dce01913d631647c71ecec9e9cb8",
                size=168_513_733,
            ),
        ),
    ),
    "svhn": DatasetSource(
        name="svhn",
        homepage="http://ufldl.stanford.edu/housenumbers/",
        files=(
            SourceFile("train_32x32.mat", _SVHN + "train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"),
            SourceFile("test_32x32.mat", _SVHN + "test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"),
        ),
    ),
}

# What ``archarena data fetch BENCHMARK`` downloads: the benchmark's own files and its second test set's.
BENCHMARK_DATASETS: dict[str, tuple[str, ...]] = {
    "mnist": ("mnist", "qmnist"),
    "fashion_mnist": ("fashion_mnist",),
    "cifar10": ("cifar10", "cifar10_1"),
    "cifar100": ("cifar100",),
    "svhn": ("svhn",),
}


def datasets_for(name: str) -> tuple[str, ...]:
    """Dataset names behind a benchmark slug or a dataset name; KeyError listing the known names otherwise."""
    if name in BENCHMARK_DATASETS:
        return BENCHMARK_DATASETS[name]
    if name in SOURCES:
        return (name,)
    known = ", ".join(sorted(set(SOURCES) | set(BENCHMARK_DATASETS)))
    raise KeyError(f"unknown dataset {name!r}; known: {known}")
