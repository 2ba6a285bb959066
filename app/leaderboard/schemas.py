"""Response models of the benchmarks and leaderboard API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from app.core.schemas import OutModel


class LimitsOut(OutModel):
    max_params: int
    max_macs: int
    max_depth: int
    max_width: int


class BenchmarkOut(OutModel):
    slug: str
    title: str
    description: str
    input_shape: list[int]
    num_classes: int
    recipe: dict[str, Any]
    limits: LimitsOut
    default_seeds: int
    max_seeds: int
    second_test: str | None
    builtin: bool
    url: str


class EntryOut(OutModel):
    id: int
    name: str
    user: str
    family: str
    mixer: str | None
    params: int
    macs: int = Field(description="Multiply-accumulates of one forward pass of one image.")
    flops: int = Field(description="2 × MACs.")
    status: str
    seeds_requested: int
    n: int = Field(description="Seeds finished.")
    test_acc_mean: float | None
    test_acc_std: float | None
    test_acc_ci: list[float] | None = Field(description="95% confidence interval of the mean test accuracy.")
    train_acc_mean: float | None
    val_acc_mean: float | None
    test2_acc_mean: float | None
    shape_bias: float | None = Field(
        description="On a cue-conflict second test set: shape decisions / (shape + texture decisions)."
    )
    gap: float | None = Field(description="Train accuracy minus test accuracy.")
    test_accs: list[float] = Field(description="Test accuracy of each finished seed.")
    rank: int | None = Field(description="Rank group: entries within the noise share a rank.")
    on_frontier: bool
    frontier_within_noise_of: int | None = Field(
        description="For a frontier point: the id of a cheaper entry whose interval reaches it (not a clear gain)."
    )
    test2_residual: float | None = Field(description="Second-test accuracy minus what the benchmark's fit predicts.")
    test2_flag: bool = Field(description="Far below the fit: it may be tuned to the first test set.")
    is_baseline: bool
    try_number: int = Field(description="This is the submitter's k-th entry on this benchmark.")
    gain_over_previous_best: float | None
    notes: list[str]
    flag_reason: str | None = Field(default=None, description="An admin's public warning about this entry.")
    created_at: datetime
    url: str


class LeaderboardOut(OutModel):
    benchmark: str
    recipe_version: str
    noise_std: float = Field(description="Pooled seed-to-seed std of test accuracy across entries (the noise floor).")
    noise_df: int
    test2_fit: dict[str, float] | None = Field(description="Line of second-test on first-test accuracy.")
    entries: list[EntryOut]


class FrontierOut(OutModel):
    benchmark: str
    recipe_version: str
    x: str = Field(description="The cost axis: MACs per image.")
    y: str = Field(description="The score axis: mean test accuracy.")
    points: list[EntryOut]
