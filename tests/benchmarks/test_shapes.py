"""Shapes: texture is a shortcut in training; cue-conflict images always disagree; shape bias is computed
right."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.benchmarks import shapes
from app.benchmarks.registry import get_benchmark


def test_texture_matches_class_about_ninety_percent_in_training() -> None:
    params, _ = shapes.sample_params(4000, seed=3, conflict=False)
    assert 0.88 < np.mean(params.shape == params.texture) < 0.92


def test_cue_conflict_shape_and_texture_always_differ() -> None:
    splits = get_benchmark("shapes").load()
    assert splits.test2 is not None and splits.test2_texture_y is not None
    assert np.all(splits.test2.y != splits.test2_texture_y)
    np.testing.assert_array_equal(splits.test2_texture_y, shapes.texture_labels_test2())
    # every texture shows up on every other shape
    pairs = set(zip(splits.test2.y.tolist(), splits.test2_texture_y.tolist(), strict=True))
    assert len(pairs) == shapes.NUM_CLASSES * (shapes.NUM_CLASSES - 1)


def test_images_differ_by_class_and_stay_in_range() -> None:
    x, y, _ = shapes.generate(200, seed=4, conflict=True)
    assert x.shape == (200, 3, 32, 32) and x.min() >= 0.0 and x.max() <= 1.0
    assert np.bincount(y, minlength=shapes.NUM_CLASSES).min() == 200 // shapes.NUM_CLASSES


def test_shape_bias() -> None:
    shape_y = np.array([0, 1, 2, 3])
    texture_y = np.array([1, 2, 3, 0])
    assert shapes.shape_bias(np.array([0, 1, 2, 3]), shape_y, texture_y) == 1.0
    assert shapes.shape_bias(np.array([1, 2, 3, 0]), shape_y, texture_y) == 0.0
    assert shapes.shape_bias(np.array([0, 2, 5, 5]), shape_y, texture_y) == 0.5  # third-class answers ignored
    assert math.isnan(shapes.shape_bias(np.array([7, 7, 7, 7]), shape_y, texture_y))
    with pytest.raises(ValueError):
        shapes.shape_bias(np.array([0]), np.array([1]), np.array([1]))
