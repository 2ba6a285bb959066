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
    test_acc_ci: list[float] | None = Field(
        description="Interval of the mean test accuracy with every error source (seed noise moderated toward the "
        "board's frozen reference, and test-set sampling), simultaneous over the board's complete entries: two "
        "entries whose intervals do not overlap differ."
    )
    train_acc_mean: float | None
    val_acc_mean: float | None
    test2_acc_mean: float | None
    shape_bias: float | None = Field(
        description="On a cue-conflict second test set: shape decisions / (shape + texture decisions)."
    )
    gap: float | None = Field(description="Train accuracy minus test accuracy.")
    test_accs: list[float] = Field(description="Test accuracy of each finished seed.")
    train_s_per_image: float | None = Field(
        default=None, description="Projected training seconds per image on the reference CPU (every op counted)."
    )
    projected_run_seconds: float | None = Field(
        default=None, description="Projected seconds of one run (one seed) on the reference CPU."
    )
    rank: int | None = Field(description="1 + the number of entries clearly better; None until every seed is done.")
    rank_low: int | None = Field(description="Best rank the data allow (joint 95% rank ranges).")
    rank_high: int | None = Field(description="Worst rank the data allow.")
    rank_status: str = Field(description='"ranked", or "provisional, k of n seeds".')
    on_frontier: bool
    frontier_within_noise_of: int | None = Field(
        description="For a frontier point: the id of a cheaper entry whose interval reaches it (not a clear gain)."
    )
    lineage_id: int | None = Field(description="The oldest try of this entry's lineage of near-variants.")
    lineage_tries: int = Field(description="Near-variant tries in the lineage, deleted and hidden ones included.")
    ranked_on: str = Field(description="The seeds the rank uses: its own, or all its lineage's (best of k).")
    luck: dict[str, Any] | None = Field(description="On a lineage's best try: how much of its lead luck explains.")
    private_gap: dict[str, Any] | None = Field(
        description="The lineage's public-minus-private test accuracy (tuning to the public test set)."
    )
    robustness: str | None = Field(description="Accuracy on the shifted second test set, in words.")
    is_baseline: bool
    notes: list[str]
    flag_reason: str | None = Field(default=None, description="An admin's public warning about this entry.")
    created_at: datetime
    url: str


class NoiseOut(OutModel):
    sigma: float = Field(description="Seed-to-seed std of test accuracy on this board's recipe.")
    df: float
    reference: dict[str, Any] = Field(description="The whole reference (sigma, df, prior_df, method, …).")
    status: str = Field(description="frozen (measured on platform references), provisional, or default.")
    frozen_at: datetime | None
    entry_ids: list[int] = Field(description="The platform reference entries it was measured on.")
    description: str


class LeaderboardOut(OutModel):
    benchmark: str
    recipe_version: str
    noise: NoiseOut
    covers: str = Field(description="What every interval on the board includes, in words.")
    level: float = Field(description="Each interval's confidence (simultaneous over the complete entries).")
    n_complete: int
    n_test: int = Field(description="Images in the public test split every entry is scored on.")
    entries: list[EntryOut]


class FrontierOut(OutModel):
    benchmark: str
    recipe_version: str
    x: str = Field(description="The cost axis: MACs per image.")
    y: str = Field(description="The score axis: mean test accuracy.")
    points: list[EntryOut]
