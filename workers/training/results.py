"""What a training run reports: per-epoch metrics, the final result, and the one way it fails.

These are plain frozen dataclasses (no torch tensors inside) so the Celery task can store them as JSON without
knowing anything about PyTorch.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

FailureKind = Literal["diverged", "oom", "timeout", "invalid_spec", "error", "stopped"]
"""``stopped``: the caller asked the run to stop (``should_stop``) or its epoch callback raised; the caller
decides what to store (a deleted submission stores nothing)."""


@dataclass(frozen=True)
class Member:
    """One run inside a batched training call: ``key`` names it to the caller (e.g. a run id), ``seed`` fixes its
    initial weights, data order and augmentation exactly as a one-by-one run with that seed would, and
    ``train_fraction`` is the training-set fraction (all members of one call must share it)."""

    key: Hashable
    seed: int
    train_fraction: float | None = None


@dataclass(frozen=True)
class EpochMetrics:
    """Metrics after one epoch.

    ``train_loss``/``train_acc`` are running means over the epoch's (augmented) batches, i.e. what the
    optimiser saw; ``val_*`` come from a clean evaluation pass. ``elapsed_s`` is training time so far,
    evaluation excluded.
    """

    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float
    elapsed_s: float


@dataclass(frozen=True)
class TrainResult:
    """The final numbers of one run (one spec, one benchmark, one seed).

    ``train_*``, ``val_*``, ``test_*``, ``test_private_*`` and ``test2_*`` are all clean evaluations of the
    final model (eval mode, no augmentation, no label smoothing), so the train/test gap is measured on equal
    terms.
    """

    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    test_loss: float
    test_acc: float
    test2_loss: float | None
    test2_acc: float | None
    wall_seconds: float
    images_per_second: float
    device: str
    recipe_version: str
    torch_version: str
    code_version: str
    spec_hash: str
    seed: int
    epochs: list[EpochMetrics]
    train_size: int = 0
    """Images in the train split the run trained on (smaller than the benchmark's with a training fraction)."""
    test2_texture_acc: float | None = None
    """On a cue-conflict second test set: how often the prediction is the texture's class (shape bias =
    test2_acc / (test2_acc + test2_texture_acc))."""
    test_private_loss: float | None = None
    """On the benchmark's private test split (same distribution as the public test, never shown per entry);
    None when the benchmark has none."""
    test_private_acc: float | None = None
    n_test: int = 0
    """Images in the public test split (the binomial part of an accuracy interval needs it)."""
    n_test_private: int | None = None
    """Images in the private test split; None when the benchmark has none."""
    batch_members: int = 1
    """Runs trained together as one batched model (1: alone). ``wall_seconds`` and the training time behind
    ``images_per_second`` are shared by all of them: the batch's device time is ``wall_seconds``, not its sum
    over the members."""
    step_mode: str = "eager"
    """How the training step ran: ``eager``, or ``cuda_graph`` (one captured graph replayed per step)."""
    capture_seconds: float = 0.0
    """One-off cost of capturing the CUDA graph of the step (0 when a cached graph of the same spec and shape
    was reused, or without graphs); inside ``wall_seconds``, outside the training time."""


class TrainingFailed(Exception):
    """A run that could not finish, with a reason the submitter can act on.

    ``kind`` is machine-readable (the task maps it to a run status); ``message`` is shown to people.
    """

    def __init__(self, kind: FailureKind, message: str, epoch: int | None = None) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.message = message
        self.epoch = epoch

    def __repr__(self) -> str:
        return f"TrainingFailed(kind={self.kind!r}, message={self.message!r}, epoch={self.epoch!r})"
