"""data_status: built-ins are always installed, Fashion-MNIST when its files are, standard sets when fetched; the
public message never names a path on the server."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from app.benchmarks import fashion_mnist
from app.benchmarks.availability import NOT_INSTALLED, data_status
from app.benchmarks.errors import DataCorrupt
from app.benchmarks.registry import all_benchmarks, get_benchmark
from tests.benchmarks.formats import write_standard_files


def _public_ok(message: str, *paths: Path) -> None:
    assert "/" not in message, message
    for p in paths:
        assert str(p) not in message


@pytest.mark.parametrize("slug", ["digits", "pathfinder", "shapes"])
def test_generated_builtins_are_always_installed(slug: str, tmp_path: Path) -> None:
    status = data_status(get_benchmark(slug), tmp_path / "empty")
    assert status.installed and NOT_INSTALLED not in status.public_message


def test_fashion_mnist_not_installed_then_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "no-package")
    bench = get_benchmark("fashion_mnist")
    status = data_status(bench, tmp_path / "data")
    assert not status.installed and NOT_INSTALLED in status.public_message
    assert "apt-get install dataset-fashion-mnist" in status.operator_hint
    assert str(tmp_path / "data" / "fashion_mnist") in status.operator_hint
    _public_ok(status.public_message, tmp_path)
    # four files (unverified here: data_status only looks) make it installed
    folder = tmp_path / "data" / "fashion_mnist"
    folder.mkdir(parents=True)
    for f in fashion_mnist.OFFICIAL_FILES:
        (folder / f"{f.name}.gz").write_bytes(b"")
    assert data_status(bench, tmp_path / "data").installed


def test_fashion_mnist_from_the_package_directory(tmp_path: Path) -> None:
    installed = not fashion_mnist.missing_in(fashion_mnist.DEBIAN_DIR)
    assert data_status(get_benchmark("fashion_mnist"), tmp_path / "data").installed == installed


def test_standard_sets_need_a_fetch(tmp_path: Path) -> None:
    for bench in all_benchmarks():
        if bench.data != "download":
            continue
        status = data_status(bench, tmp_path)
        assert not status.installed and NOT_INSTALLED in status.public_message, bench.slug
        assert f"archarena data fetch {bench.slug}" in status.operator_hint and str(tmp_path) in status.operator_hint
        _public_ok(status.public_message, tmp_path)
    write_standard_files(tmp_path, np.random.default_rng(0))
    assert data_status(get_benchmark("mnist"), tmp_path).installed
    assert data_status(get_benchmark("cifar10"), tmp_path).installed


def test_data_errors_survive_pickling() -> None:
    err = pickle.loads(pickle.dumps(DataCorrupt("public words", "operator words")))
    assert isinstance(err, DataCorrupt) and str(err) == "public words" and err.operator_hint == "operator words"
