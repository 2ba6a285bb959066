"""On the cue-conflict second test set of `shapes`, the loop also scores predictions against the texture class."""

from __future__ import annotations

import dataclasses

from torch import nn

from app.benchmarks.registry import get_benchmark
from workers.training.engine import train_model


def test_texture_accuracy_on_cue_conflict_images() -> None:
    benchmark = get_benchmark("shapes")
    splits = benchmark.load()
    recipe = dataclasses.replace(benchmark.recipe, epochs=1, warmup_epochs=0)
    result = train_model(lambda: nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 8)), splits, recipe, 0)
    assert result.test2_acc is not None and result.test2_texture_acc is not None
    # Shape and texture classes differ on every cue-conflict image, so one prediction matches at most one.
    assert 0.0 <= result.test2_acc + result.test2_texture_acc <= 1.0
    assert result.test2_texture_acc > 0.0  # a pixel-linear model picks up texture


def test_no_texture_score_without_cue_conflict() -> None:
    benchmark = get_benchmark("digits")
    recipe = dataclasses.replace(benchmark.recipe, epochs=1, warmup_epochs=0)
    result = train_model(lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), benchmark.load(), recipe, 0)
    assert result.test2_acc is not None and result.test2_texture_acc is None
