"""The registry contract, and the standard sets loaded end to end from tiny official-format files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.benchmarks.recipes import DIGITS_V1, Recipe
from app.benchmarks.registry import DEFAULT_BENCHMARK, UnknownBenchmark, all_benchmarks, get_benchmark
from app.benchmarks.standard import DatasetNotFetched
from tests.benchmarks.formats import write_standard_files


def test_all_benchmarks_are_well_formed() -> None:
    slugs = [b.slug for b in all_benchmarks()]
    assert len(set(slugs)) == len(slugs) and DEFAULT_BENCHMARK in slugs
    assert {"digits", "pathfinder", "shapes", "mnist", "fashion_mnist", "cifar10", "cifar100", "svhn"} <= set(slugs)
    versions = [b.recipe.version for b in all_benchmarks()]
    assert len(set(versions)) == len(versions)
    for b in all_benchmarks():
        assert get_benchmark(b.slug) is b
        assert 3 <= b.default_seeds <= b.max_seeds
        assert 1 <= b.description.count(".") <= 4
        assert b.recipe.to_dict()["version"] == b.recipe.version


def test_unknown_benchmark_lists_known_slugs() -> None:
    with pytest.raises(UnknownBenchmark) as info:
        get_benchmark("imagenet")
    assert isinstance(info.value, KeyError)
    assert "imagenet" in str(info.value) and "digits" in str(info.value) and "cifar10" in str(info.value)


def test_recipes_are_frozen_and_validated() -> None:
    with pytest.raises(AttributeError):
        DIGITS_V1.lr = 1.0  # type: ignore[misc]
    assert DIGITS_V1.to_dict()["version"] == "digits-v1" and DIGITS_V1.flip is False
    with pytest.raises(ValueError):
        Recipe(version="x", epochs=1, batch_size=8, optimizer="adamw", lr=1e-3, weight_decay=0.0, warmup_epochs=1)


def test_standard_set_not_fetched_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFetched, match="run: archarena data fetch cifar10"):
        get_benchmark("cifar10").load(tmp_path)


def test_standard_sets_load_from_official_format_files(tmp_path: Path) -> None:
    write_standard_files(tmp_path, np.random.default_rng(1), n=60)
    mnist = get_benchmark("mnist").load(tmp_path)
    assert mnist.train.x.shape == (54, 1, 28, 28) and mnist.val.x.shape == (6, 1, 28, 28)
    assert mnist.test.x.shape == (20, 1, 28, 28)
    assert mnist.test2 is not None and len(mnist.test2) == 30  # QMNIST items after the first 10,000
    assert mnist.train.x.dtype == np.float32 and abs(float(mnist.train.x.mean())) < 1e-3
    assert get_benchmark("mnist").load(tmp_path) is mnist  # cached per (slug, data_dir)
    c10 = get_benchmark("cifar10").load(tmp_path)
    assert c10.train.x.shape == (54, 3, 32, 32) and c10.test.x.shape == (10, 3, 32, 32)
    assert c10.test2 is not None and c10.test2.x.shape == (7, 3, 32, 32)
    assert len(mnist.mean) == 1 and len(c10.mean) == 3


def test_builtins_have_private_halves_and_v2_recipes() -> None:
    for b in all_benchmarks():
        assert (b.data == "download") == (not b.builtin), b.slug
        assert b.n_test > 0 and b.n_test_private >= 0 and b.n_test2 >= 0
        assert len(b.class_names) in (0, b.num_classes)
        if b.builtin:  # public and private halves of one test distribution, and a recipe that says so
            assert b.n_test_private > 0 and abs(b.n_test - b.n_test_private) <= 1, b.slug
            assert b.recipe.version == f"{b.slug}-v2"
            assert b.class_names
    assert get_benchmark("fashion_mnist").builtin and get_benchmark("fashion_mnist").data == "package"
