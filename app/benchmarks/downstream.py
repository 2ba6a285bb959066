"""Downstream tasks: what a benchmark's trained models are transferred to, and the fixed transfer recipes.

A benchmark may declare downstream tasks (``Benchmark.downstream``). When one of its runs finishes with its
weights stored, the platform queues, for each task, a linear probe (the upstream backbone frozen, a new head
trained) and a full fine-tune (every weight trained, at a lower learning rate), both starting from those
weights and with the same seed. A task keeps the upstream input shape (the backbone must accept it); its class
count may differ (the head is new either way).

The built-in pair: ``digits`` → ``digits_rot90``, the same 8×8 digits turned a quarter turn, learnt from a
quarter of the training images. The orientation is new to every upstream model, the strokes are not: how much
of what a model learnt survives the turn is what the probe measures, and how much a good start is worth with
few images is what the fine-tune measures.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.benchmarks import digits
from app.benchmarks.recipes import Recipe
from app.benchmarks.splits import Splits, make_splits, train_subset

TransferKind = Literal["probe", "finetune"]
TRANSFER_KINDS: tuple[TransferKind, ...] = ("probe", "finetune")
KIND_TITLES: dict[str, str] = {"probe": "linear probe", "finetune": "fine-tune"}


class UnknownTask(KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown downstream task"


@dataclass(frozen=True)
class DownstreamTask:
    slug: str
    title: str
    description: str  # plain words: what the images are and what is learnt from how many
    upstream: str  # the benchmark whose models are transferred
    input_shape: tuple[int, int, int]
    num_classes: int
    n_train: int
    n_test: int  # images in the public test split (an accuracy interval's binomial part needs it)
    probe: Recipe
    finetune: Recipe
    loader: Callable[[], Splits]

    def recipe(self, kind: str) -> Recipe:
        if kind == "probe":
            return self.probe
        if kind == "finetune":
            return self.finetune
        raise ValueError(f"unknown transfer kind {kind!r}")

    def recipe_text(self, kind: str) -> str:
        """The recipe in one plain sentence (pages)."""
        r = self.recipe(kind)
        what = "the backbone frozen, a new linear head trained" if kind == "probe" else "every weight trained"
        return (
            f"{KIND_TITLES[kind]}: {what}, {r.epochs} epochs, batch {r.batch_size}, {r.optimizer} at "
            f"learning rate {r.lr:g} ({r.schedule}), weight decay {r.weight_decay:g} ({r.version})"
        )

    def load(self) -> Splits:
        return _load(self.slug)


ROT90_TRAIN_FRACTION = 0.25

# Fixed and versioned like every recipe. The probe trains a head on frozen features: a high rate, no decay.
# The fine-tune starts from trained weights: a quarter of the upstream digits rate, with its decay.
DIGITS_ROT90_PROBE_V1 = Recipe(
    version="digits_rot90-probe-v1",
    epochs=8,
    batch_size=32,
    optimizer="adamw",
    lr=1e-2,
    weight_decay=0.0,
    warmup_epochs=0,
    schedule="cosine",
)
DIGITS_ROT90_FINETUNE_V1 = dataclasses.replace(
    DIGITS_ROT90_PROBE_V1, version="digits_rot90-finetune-v1", lr=5e-4, weight_decay=0.05, warmup_epochs=1
)


def load_digits_rot90() -> Splits:
    """``digits``' own splits (train, val, public and private test halves), every image turned 90° counter-
    clockwise; training keeps a fixed stratified quarter of the train split. No second test set."""
    x, y = digits.raw_digits()
    x = np.ascontiguousarray(np.rot90(x, k=1, axes=(2, 3)))
    train, val, _ = digits.split_indices(y)
    public, private = digits.test_halves(y)
    splits = make_splits(
        (x[train], y[train]), (x[val], y[val]), (x[public], y[public]), test_private=(x[private], y[private])
    )
    return train_subset(splits, ROT90_TRAIN_FRACTION)


_TASKS: tuple[DownstreamTask, ...] = (
    DownstreamTask(
        slug="digits_rot90",
        title="Digits turned a quarter turn (8×8)",
        description=(
            "The same 8×8 handwritten digits as the upstream benchmark, every image turned 90°, learnt from a "
            "quarter of the training images (288). The strokes are familiar, the orientation is not: the linear "
            "probe shows how much of what a model learnt on upright digits still separates the turned ones, the "
            "fine-tune how much a trained start is worth with few images."
        ),
        upstream="digits",
        input_shape=(1, 8, 8),
        num_classes=10,
        n_train=288,
        n_test=224,
        probe=DIGITS_ROT90_PROBE_V1,
        finetune=DIGITS_ROT90_FINETUNE_V1,
        loader=load_digits_rot90,
    ),
)
_BY_SLUG = {task.slug: task for task in _TASKS}


@functools.cache
def _load(slug: str) -> Splits:
    return get_task(slug).loader()


def get_task(slug: str) -> DownstreamTask:
    try:
        return _BY_SLUG[slug]
    except KeyError:
        raise UnknownTask(f"unknown downstream task {slug!r}; known: {', '.join(sorted(_BY_SLUG))}") from None


def tasks_for(benchmark: str) -> tuple[DownstreamTask, ...]:
    """The downstream tasks a benchmark declares (none for most)."""
    return tuple(task for task in _TASKS if task.upstream == benchmark)
