"""``train`` end to end: a real zoo spec on the real ``digits`` benchmark."""

from __future__ import annotations

import pytest

from app.benchmarks.registry import get_benchmark
from app.zoo.spec import parse_spec, spec_hash
from workers.training.results import EpochMetrics, TrainingFailed
from workers.training.train_spec import train


def test_train_a_zoo_preset_on_digits() -> None:
    benchmark = get_benchmark("digits")
    spec = parse_spec({"preset": "tiny_plain_digits", "overrides": {}})
    seen: list[EpochMetrics] = []
    result = train(spec, benchmark, 0, max_epochs=2, on_epoch=seen.append)
    assert [m.epoch for m in seen] == [1, 2]
    assert result.spec_hash == spec_hash(spec)
    assert result.recipe_version == f"{benchmark.recipe.version}+epochs2"
    assert result.val_acc > 0.5
    assert result.test2_acc is not None


def test_spec_that_does_not_fit_the_input_is_invalid() -> None:
    spec = parse_spec({"preset": "tiny_vit_digits", "overrides": {"stem": {"patch_size": 3}}})
    with pytest.raises(TrainingFailed) as info:
        train(spec, get_benchmark("digits"), 0, max_epochs=1)
    assert info.value.kind == "invalid_spec" and info.value.epoch is None
