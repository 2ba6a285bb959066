"""Shared fixtures: the real ``digits`` splits and recipe, and a tiny CNN that trains on them in well under a
second per epoch on CPU."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest
import torch
from torch import nn

from app.benchmarks import digits
from app.benchmarks.recipes import DIGITS_V1, Recipe
from app.benchmarks.splits import Splits


class TinyNet(nn.Module):
    """Conv-BN-ReLU ×2 and a linear head: enough to learn 8×8 digits in two epochs."""

    def __init__(self, in_ch: int = 1, num_classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_ch, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),  # keep some layout: digits are told apart by where strokes are
            nn.Flatten(),
        )
        self.head = nn.Linear(2 * width * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread: on the shared 2-core test machines, a contended OpenMP barrier costs more than the
    second thread gains for models this small."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def digits_splits() -> Splits:
    return digits.load()


@pytest.fixture(scope="session")
def recipe() -> Recipe:
    """The real digits recipe with a short warmup-free schedule and a higher LR, so 2-3 epochs learn."""
    return dataclasses.replace(DIGITS_V1, epochs=3, warmup_epochs=0, lr=1e-2, batch_size=32)


@pytest.fixture(scope="session")
def tiny_factory() -> Callable[[], nn.Module]:
    return TinyNet
