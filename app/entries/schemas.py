"""Response models of one entry: a submission with its runs per seed, per-epoch metrics and notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from app.core.errors import without_paths
from app.core.schemas import OutModel


class EpochOut(OutModel):
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float
    elapsed_s: float


class RunOut(OutModel):
    id: int
    seed: int
    status: str
    attempts: int
    device: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    epochs_done: int
    epochs_total: int | None
    train_loss: float | None
    train_acc: float | None
    val_loss: float | None
    val_acc: float | None
    test_loss: float | None
    test_acc: float | None
    test2_loss: float | None
    test2_acc: float | None
    test2_texture_acc: float | None = Field(
        description="Cue-conflict test: fraction of predictions naming the texture."
    )
    wall_seconds: float | None
    images_per_second: float | None
    error_kind: str | None
    error_message: str | None
    recipe_version: str | None
    code_version: str | None
    torch_version: str | None
    epochs: list[EpochOut] = Field(default_factory=list)

    @field_validator("error_message")
    @classmethod
    def _no_server_paths(cls, value: str | None) -> str | None:
        return without_paths(value)


class CurveOut(OutModel):
    epochs: list[int] = Field(default_factory=list)
    mean: list[float] = Field(default_factory=list)
    std: list[float] = Field(default_factory=list, description="Across the seeds that reached the epoch.")
    n: list[int] = Field(default_factory=list, description="Seeds that reached the epoch.")


class SubmissionSummaryOut(OutModel):
    id: int
    benchmark: str
    name: str
    user: str
    family: str
    mixer: str | None
    params: int
    macs: int
    status: str
    seeds_requested: int
    seeds_finished: int
    spec_hash: str
    recipe_version: str
    created_at: datetime
    url: str
    hidden_reason: str | None = Field(default=None, description="Why an admin took it off the boards.")
    flag_reason: str | None = Field(default=None, description="An admin's public warning about this entry.")


class SubmissionOut(SubmissionSummaryOut):
    description: str
    spec: dict[str, Any]
    flops: int
    deploy_params: int | None = Field(
        default=None,
        description="Re-parameterisable families (RepVGG, RepMLP): parameters once the training-time branches are "
        "folded for inference; None for other families (their training and deploy models are the same).",
    )
    deploy_macs: int | None = Field(default=None, description="MACs per image of the folded inference model.")
    macs_breakdown: dict[str, int]
    runs: list[RunOut]
    test_acc_mean: float | None
    test_acc_std: float | None
    chance_note: str | None = Field(
        default=None,
        description="'At chance level (N %): not learning.' when the mean test accuracy is within seed noise of "
        "guessing (app.entries.chance); None otherwise or before any seed finished.",
    )
    notes: list[str]
    val_acc_curve: CurveOut = Field(
        default_factory=CurveOut, description="Validation accuracy per epoch, mean and std over the seeds."
    )
    train_s_per_image: float | None = Field(
        default=None, description="Projected training seconds per image on the reference CPU (every op counted)."
    )
    projected_run_seconds: float | None = Field(
        default=None, description="Projected seconds of one run (one seed) on the reference CPU."
    )
    queue_position: int | None = Field(
        default=None,
        description="Queued runs due before this submission's next queued run in the fair order (0: it is next); "
        "None when none of its runs is queued.",
    )
    estimated_start: datetime | None = Field(
        default=None,
        description="When its next queued run is estimated to start (projections scaled by the fleet's measured "
        "speed, over the workers seen lately); None when none of its runs is queued.",
    )
