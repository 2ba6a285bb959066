"""Schedule and parameter groups."""

from __future__ import annotations

import math

import pytest
from torch import nn

from workers.training.optim import lr_at, param_groups


def test_warmup_then_cosine_to_zero() -> None:
    total, warm, base = 100, 10, 0.5
    assert lr_at(0, total, warm, base, "cosine") == pytest.approx(base / warm)
    assert lr_at(9, total, warm, base, "cosine") == pytest.approx(base)
    assert lr_at(10, total, warm, base, "cosine") == pytest.approx(base)
    assert lr_at(55, total, warm, base, "cosine") == pytest.approx(base / 2)
    assert lr_at(99, total, warm, base, "cosine") == pytest.approx(base * 0.5 * (1 + math.cos(math.pi * 89 / 90)))
    lrs = [lr_at(s, total, warm, base, "cosine") for s in range(warm, total)]
    assert lrs == sorted(lrs, reverse=True)


def test_constant_schedule() -> None:
    assert lr_at(0, 100, 4, 1.0, "constant") == pytest.approx(0.25)
    assert lr_at(50, 100, 4, 1.0, "constant") == 1.0


def test_no_weight_decay_on_norms_and_biases() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2), nn.LayerNorm(2))
    decay, no_decay = param_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert {p.ndim for p in decay["params"]} == {2, 4}
    assert len(no_decay["params"]) == 6  # conv bias, BN w/b, linear bias, LN w/b
