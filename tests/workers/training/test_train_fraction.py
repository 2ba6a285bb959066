"""Training on a fraction of the train split: a fixed, stratified, nested subset (the same for every seed),
val/test untouched, the recipe version tagged so fraction runs never pool with full-data ones."""

from __future__ import annotations

import numpy as np
import pytest

from app.benchmarks.recipes import fraction_label, with_train_fraction
from app.benchmarks.registry import get_benchmark
from app.benchmarks.splits import Splits, train_subset
from app.zoo.spec import parse_spec
from workers.training.train_spec import train


def test_subset_is_stratified_fixed_and_nested(digits_splits: Splits) -> None:
    n = len(digits_splits.train)
    tenth, third = train_subset(digits_splits, 0.1), train_subset(digits_splits, 0.3)
    assert len(tenth.train) == round(0.1 * n) and len(third.train) == round(0.3 * n)
    assert tenth.val is digits_splits.val and tenth.test is digits_splits.test and tenth.mean == digits_splits.mean
    full = np.bincount(digits_splits.train.y, minlength=10) / n
    part = np.bincount(tenth.train.y, minlength=10) / len(tenth.train)
    assert np.abs(part - full).max() < 0.02  # class proportions kept
    again = train_subset(digits_splits, 0.1)
    assert np.array_equal(again.train.x, tenth.train.x)  # independent of any run seed: the same images
    rows = {row.tobytes() for row in third.train.x}
    assert all(row.tobytes() in rows for row in tenth.train.x)  # 10% ⊂ 30%
    assert train_subset(digits_splits, 1.0) is digits_splits
    with pytest.raises(ValueError):
        train_subset(digits_splits, 0.0)


def test_recipe_version_suffix() -> None:
    assert fraction_label(0.1) == "10%" and fraction_label(0.125) == "12.5%"
    assert with_train_fraction("digits-v2+epochs2", 0.1) == "digits-v2+epochs2+train10%"
    assert with_train_fraction("digits-v2", None) == with_train_fraction("digits-v2", 1.0) == "digits-v2"


def test_a_real_run_trains_on_the_fraction(digits_splits: Splits) -> None:
    benchmark = get_benchmark("digits")
    spec = parse_spec({"preset": "tiny_poolformer_digits", "overrides": {}})
    seen: list[int] = []
    result = train(spec, benchmark, 0, max_epochs=1, train_fraction=0.1, on_epoch=lambda m: seen.append(m.epoch))
    assert result.train_size == round(0.1 * len(digits_splits.train))
    assert result.recipe_version == "digits-v2+epochs1+train10%"
    assert seen == [1] and 0.0 <= result.test_acc <= 1.0
    full = train(spec, benchmark, 0, max_epochs=1)
    assert full.train_size == len(digits_splits.train) and full.recipe_version == "digits-v2+epochs1"
