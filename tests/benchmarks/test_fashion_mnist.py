"""Fashion-MNIST: the installed official files through the import path a user runs, the error paths with tiny
IDX files (gz and raw), and the benchmark's splits and second test set."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.benchmarks import fashion_mnist
from app.benchmarks.errors import DataCorrupt, DataUnavailable
from app.benchmarks.importer import ImportResult, import_dataset
from app.benchmarks.registry import get_benchmark
from app.benchmarks.splits import Splits
from tests.benchmarks.conftest import require_fashion_mnist_package
from tests.benchmarks.formats import idx_bytes, write_idx

NAMES = [f.name for f in fashion_mnist.OFFICIAL_FILES]


# ---------------------------------------------------------------- the installed package, as a user imports it


def test_import_verifies_the_official_files(fmnist_import: tuple[Path, ImportResult]) -> None:
    data_dir, result = fmnist_import
    assert result.source == fashion_mnist.DEBIAN_DIR
    assert [f.name for f in result.files] == NAMES
    arrays = fashion_mnist.read_directory(data_dir / "fashion_mnist")
    train_y, test_y = arrays["train-labels-idx1-ubyte"], arrays["t10k-labels-idx1-ubyte"]
    assert arrays["train-images-idx3-ubyte"].shape == (60_000, 28, 28) and len(train_y) == 60_000
    assert arrays["t10k-images-idx3-ubyte"].shape == (10_000, 28, 28) and len(test_y) == 10_000
    assert np.bincount(train_y).tolist() == [6000] * 10
    assert np.bincount(test_y).tolist() == [1000] * 10
    for f in result.files:  # the registered copy decompresses to exactly the pinned bytes
        assert f.path.parent == data_dir / "fashion_mnist"
        raw = gzip.decompress(f.path.read_bytes()) if f.path.suffix == ".gz" else f.path.read_bytes()
        assert hashlib.sha256(raw).hexdigest() == f.sha256
    assert {f.sha256 for f in result.files} == {f.sha256 for f in fashion_mnist.OFFICIAL_FILES}


def test_cli_import_registers_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_fashion_mnist_package()
    from app.cli import cli
    from app.core.config import get_settings

    monkeypatch.setenv("ARCHARENA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ARCHARENA_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(cli, ["data", "import", "fashion_mnist"])
    finally:
        get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    assert out.output.count("ok ") == 4 and "60,000" in out.output
    assert fashion_mnist.missing_in(tmp_path / "data" / "fashion_mnist") == []


def test_benchmark_splits(fmnist_import: tuple[Path, ImportResult]) -> None:
    data_dir, _ = fmnist_import
    bench = get_benchmark("fashion_mnist")
    splits = bench.load(data_dir)
    assert isinstance(splits, Splits) and splits.test_private is not None and splits.test2 is not None
    sizes = [len(s) for s in (splits.train, splits.val, splits.test, splits.test_private, splits.test2)]
    assert sizes == [55_000, 5000, bench.n_test, bench.n_test_private, bench.n_test2] == [55_000, 5000] + [5000] * 3
    for part in (splits.val, splits.test, splits.test_private):
        assert np.bincount(part.y).tolist() == [len(part) // 10] * 10  # stratified
    np.testing.assert_array_equal(splits.test2.y, splits.test.y)  # twins of the public half
    assert splits.train.x.shape[1:] == (1, 28, 28) and abs(float(splits.train.x.mean())) < 1e-3


# ---------------------------------------------------------------- error paths with tiny IDX files


def _tiny_official(directory: Path, *, compress: bool, n_train: int = 20, n_test: int = 10) -> None:
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images, compress=compress)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(n) % 10, compress=compress)


def _no_server_path(message: str, *paths: Path) -> None:
    assert "/" not in message.replace("T-shirt/top", ""), message
    for p in paths:
        assert str(p) not in message


@pytest.mark.parametrize("compress", [True, False])
def test_missing_file_says_what_to_install(tmp_path: Path, compress: bool) -> None:
    src = tmp_path / "src"
    _tiny_official(src, compress=compress)
    (src / ("t10k-labels-idx1-ubyte" + (".gz" if compress else ""))).unlink()
    with pytest.raises(DataUnavailable) as info:
        import_dataset("fashion_mnist", tmp_path / "data", src)
    err = info.value
    assert "t10k-labels-idx1-ubyte" in err.operator_hint and str(src) in err.operator_hint
    assert "apt-get install dataset-fashion-mnist" in err.operator_hint
    assert "not installed on this server" in str(err) and str(err) == err.public_message
    _no_server_path(err.public_message, src, tmp_path)
    assert not (tmp_path / "data").exists()  # nothing registered


@pytest.mark.parametrize("compress", [True, False])
def test_wrong_count_is_named(tmp_path: Path, compress: bool) -> None:
    src = tmp_path / "src"
    _tiny_official(src, compress=compress)
    with pytest.raises(DataCorrupt) as info:
        import_dataset("fashion_mnist", tmp_path / "data", src)
    err = info.value
    assert "holds 20 images, the official file holds 60,000" in err.operator_hint
    assert "train-images-idx3-ubyte" in err.public_message and "holds 20 images" in err.public_message
    assert "--reinstall dataset-fashion-mnist" in err.operator_hint and "archarena data import" in err.operator_hint
    _no_server_path(err.public_message, src)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("payload", "compress", "problem"),
    [
        (b"not gzip at all", True, "not a readable gzip file"),
        (b"\x00\x00\x99\x01" + b"\x00" * 8, False, "bad IDX magic number"),
        (gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05abc"), True, "needs 5 data bytes"),
    ],
)
def test_corrupt_file_is_named(tmp_path: Path, payload: bytes, compress: bool, problem: str) -> None:
    src = tmp_path / "src"
    _tiny_official(src, compress=compress)
    bad = src / ("train-labels-idx1-ubyte" + (".gz" if compress else ""))
    bad.write_bytes(payload)
    spec = fashion_mnist.OFFICIAL_FILES[1]
    with pytest.raises(DataCorrupt) as info:
        fashion_mnist.read_official(bad, spec)
    assert problem in info.value.operator_hint and str(bad) in info.value.operator_hint
    assert problem in info.value.public_message
    _no_server_path(info.value.public_message, src)


def test_checksum_mismatch_with_the_right_count(tmp_path: Path) -> None:
    """The official shape and count, other content: only the pinned SHA-256 can tell."""
    path = write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(60_000) % 10, compress=False)
    with pytest.raises(DataCorrupt) as info:
        fashion_mnist.read_official(path, fashion_mnist.OFFICIAL_FILES[1])
    got = hashlib.sha256(idx_bytes(np.arange(60_000) % 10)).hexdigest()
    assert got in info.value.operator_hint and fashion_mnist.OFFICIAL_FILES[1].sha256 in info.value.operator_hint
    assert "SHA-256" in info.value.public_message


def test_unknown_dataset_and_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="archarena data fetch"):
        import_dataset("cifar10", tmp_path)
    with pytest.raises(DataUnavailable) as info:
        import_dataset("fashion_mnist", tmp_path, tmp_path / "nowhere")
    assert "is not a directory" in info.value.operator_hint


def test_load_without_files_tells_public_and_operator_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "no-package")
    with pytest.raises(DataUnavailable) as info:
        get_benchmark("fashion_mnist").load(tmp_path / "data")
    err = info.value
    assert str(tmp_path / "data" / "fashion_mnist") in err.operator_hint and "no-package" in err.operator_hint
    for command in ("apt-get install dataset-fashion-mnist", "archarena data import fashion_mnist", "data fetch"):
        assert command in err.operator_hint
    _no_server_path(err.public_message, tmp_path)


def test_raw_and_gz_files_read_the_same(tmp_path: Path) -> None:
    labels = np.arange(50) % 10
    gz = write_idx(tmp_path / "a.gz", labels)
    raw = write_idx(tmp_path / "a", labels, compress=False)
    spec = fashion_mnist.OfficialFile("a", "labels", 50, hashlib.sha256(idx_bytes(labels)).hexdigest())
    np.testing.assert_array_equal(fashion_mnist.read_official(gz, spec), fashion_mnist.read_official(raw, spec))
    assert fashion_mnist.file_in(tmp_path, "a") == gz  # the compressed copy is preferred


# ---------------------------------------------------------------- the second test set


def test_bilinear_affine_is_exact_on_the_pixel_grid() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((3, 6, 6))
    zero = np.zeros(3)
    np.testing.assert_allclose(fashion_mnist.bilinear_affine(x, zero, np.zeros((3, 2))), x)
    rot = fashion_mnist.bilinear_affine(x, np.full(3, np.pi / 2), np.zeros((3, 2)))
    np.testing.assert_allclose(rot, np.rot90(x, k=-1, axes=(1, 2)), atol=1e-12)
    down = fashion_mnist.bilinear_affine(x, zero, np.tile([1.0, 0.0], (3, 1)))
    np.testing.assert_allclose(down[:, 1:], x[:, :-1])
    assert (down[:, 0] == 0).all()  # black fill


def test_perturbation_is_deterministic_and_moderate() -> None:
    rng = np.random.default_rng(2)
    x = np.zeros((200, 1, 28, 28), dtype=np.uint8)
    x[:, :, 8:20, 10:18] = rng.integers(150, 256, size=(200, 1, 12, 8))
    a, b = fashion_mnist.perturb(x), fashion_mnist.perturb(x)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.uint8 and a.shape == x.shape
    diff = np.abs(a.astype(float) - x.astype(float)).mean() / 255
    assert 0.05 < diff < 0.3, diff
    assert not np.array_equal(a, fashion_mnist.perturb(x, seed=1))
