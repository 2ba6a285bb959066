"""Pathfinder labels are right by construction, and no shortcut gives them away."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from sklearn.metrics import roc_auc_score

from app.benchmarks import pathfinder

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def _connected(sample: pathfinder.PathfinderSample) -> np.ndarray:
    dense = pathfinder.dense_render(sample)
    out = np.empty(len(sample.labels), dtype=bool)
    for i, img in enumerate(dense):
        comp, _ = ndimage.label(img, structure=EIGHT_CONNECTED)
        (ay, ax), (by, bx) = sample.dots[i]
        out[i] = comp[ay, ax] == comp[by, bx] != 0
    return out


def test_labels_match_connectivity_of_the_dense_render() -> None:
    for style in (pathfinder.STANDARD, pathfinder.HARD):
        sample = pathfinder.generate(400, seed=11, style=style)
        np.testing.assert_array_equal(_connected(sample), sample.labels == 1)


def test_dashed_image_contains_the_dots_and_parts_of_every_curve() -> None:
    sample = pathfinder.generate(50, seed=12)
    img = sample.images[:, 0] > 0
    dense = pathfinder.dense_render(sample)
    assert not (img & ~dense).any()  # dashes only where the dense curves are
    assert (dense & ~img).any()  # …and there are gaps
    for i in range(50):
        for y, x in sample.dots[i]:
            assert img[i, y - 1 : y + 2, x - 1 : x + 2].all()


def test_balanced_and_distractors_present() -> None:
    sample = pathfinder.generate(400, seed=13)
    assert sample.labels.sum() == 200
    assert sample.present[:, :2].all()
    assert sample.present[:, 2:].sum(axis=1).mean() >= 3.0


def test_pixel_count_and_dot_distance_are_near_chance() -> None:
    sample = pathfinder.generate(2000, seed=14)
    count = sample.images.sum(axis=(1, 2, 3))
    distance = np.linalg.norm(sample.dots[:, 0] - sample.dots[:, 1], axis=1)
    assert abs(roc_auc_score(sample.labels, count) - 0.5) < 0.05
    assert abs(roc_auc_score(sample.labels, distance) - 0.5) < 0.1


def test_second_test_set_has_longer_paths_and_more_clutter() -> None:
    easy = pathfinder.generate(200, seed=15)
    hard = pathfinder.generate(200, seed=15, style=pathfinder.HARD)
    assert hard.curves[0].shape[1] > easy.curves[0].shape[1]
    assert hard.present.sum(axis=1).mean() > easy.present.sum(axis=1).mean()
