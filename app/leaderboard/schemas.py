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
    installed: bool = Field(description="Whether this server has the benchmark's data (else submissions are refused).")
    availability: str = Field(description="In words: built in, installed, or how an operator installs it.")
    n_test: int = Field(description="Images in the public test split (every entry is scored on it).")
    n_test_private: int = Field(description="Images in the private test split (never shown per entry).")
    n_test2: int = Field(description="Images in the second, shifted test set (robustness).")
    class_names: list[str]
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
    deploy_params: int | None = Field(
        default=None, description="RepVGG/RepMLP: parameters of the inference model (branches folded); else None."
    )
    deploy_macs: int | None = Field(
        default=None, description="RepVGG/RepMLP: MACs per image of the inference model (branches folded); else None."
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
    board_version: int = Field(description="The stored board's snapshot number (it grows with each recomputation).")
    updated_at: datetime = Field(description="When the stored board was computed.")
    stale: bool = Field(description="A change since then is being taken in: a newer board is on its way.")
    total: int = Field(description="Entries matching the filters (on every page).")
    page: int
    per_page: int
    pages: int
    entries: list[EntryOut] = Field(
        description="This page's entries, in the order asked for (the board's own by default)."
    )


class FrontierOut(OutModel):
    benchmark: str
    recipe_version: str
    x: str = Field(description="The cost axis: MACs per image.")
    y: str = Field(description="The score axis: mean test accuracy.")
    points: list[EntryOut]


class FitOut(OutModel):
    group: str = Field(description="A token mixer (metaformers) or a family.")
    n_entries: int
    n_seeds: int
    cost_min: float
    cost_max: float
    slope_per_decade: float = Field(description="Accuracy gained per tenfold cost (the fitted slope).")
    intercept: float = Field(description="The fitted accuracy at a cost of 1 (log10 cost 0).")
    costs: list[float] = Field(description="Where the line and band are given: inside the group's own cost range.")
    mean: list[float]
    low: list[float] = Field(description="Pointwise 95% bootstrap band.")
    high: list[float]


class SegmentOut(OutModel):
    cost_from: float
    cost_to: float
    better: str | None = Field(description="The group clearly better over this stretch; None: no difference told.")
    diff_min: float = Field(description="Smallest estimated accuracy difference over the stretch (better − other).")
    diff_max: float


class PairOut(OutModel):
    a: str
    b: str
    overlap: tuple[float, float] | None = Field(description="The costs both groups cover; None: no overlap.")
    separated: bool
    segments: list[SegmentOut]
    sentence: str | None = Field(description="Where the bands separate, in words; None where they never do.")


class FamiliesOut(OutModel):
    benchmark: str
    recipe_version: str
    by: str = Field(description="mixer (metaformers by token mixer, other families as themselves) or family.")
    x: str = Field(description="The cost: macs, params, or deploy (MACs with RepVGG/RepMLP branches folded).")
    confidence: float
    n_boot: int
    method: str
    fits: list[FitOut]
    too_few: dict[str, str] = Field(description="Groups not fitted, and why.")
    pairs: list[PairOut]
    sentences: list[str] = Field(description="One per pair whose bands separate somewhere.")
    summary: str
