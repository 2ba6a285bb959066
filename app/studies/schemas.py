"""Request and response models of the studies API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from app.core.schemas import OutModel, StrictModel
from app.submissions.schemas import SLUG

Axis = Literal["mixer", "depth", "width", "patch_size", "norm", "train_fraction"]
Value = int | float | str | dict[str, Any]


class StudyIn(StrictModel):
    benchmark: str = Field(default="digits", pattern=SLUG, description="Benchmark slug, e.g. 'digits'.")
    name: str = Field(min_length=1, max_length=80, description="Variants are named '{name} · {axis}={value}'.")
    description: str = Field(default="", max_length=2000, description="The question the study answers.")
    base_spec: dict[str, Any] = Field(
        description="A metaformer spec (or preset); every variant shares it except for the axis.",
        examples=[{"preset": "tiny_vit_digits", "overrides": {}}],
    )
    axis: Axis = Field(description="The one thing that varies between variants.")
    values: list[Value] = Field(
        min_length=2,
        max_length=8,
        description="mixer: token-mixer dicts such as {'kind': 'attention', 'heads': 4} (applied to every "
        "stage); depth: blocks per stage; width: width of the first stage (others scale with it); "
        "patch_size: the patch stem's patch size; norm: 'layernorm', 'batchnorm' or 'groupnorm'; "
        "train_fraction: shares of the train split in [0.01, 1], e.g. [0.1, 0.3, 1].",
    )
    series: list[str | dict[str, Any]] | None = Field(
        default=None,
        min_length=2,
        max_length=5,
        description="train_fraction axis only: token mixers compared at each fraction (e.g. ['attention', "
        "'dwconv', 'spatial_mlp']); variants are series × values and verdicts are between series per fraction.",
    )
    match: Literal["macs", "params"] | None = Field(
        default=None,
        description="mixer axis (or train_fraction with series) only: adjust each mixer's width so its MACs (or "
        "params) are within ±5% of the base spec's.",
    )
    seeds: int | None = Field(
        default=None, ge=2, le=100, description="Seeds per variant, fixed now (default: the benchmark's)."
    )


class SeedsIn(StrictModel):
    seeds: int = Field(ge=1, le=100, description="Seeds to add to every variant (new seed numbers).")


class VariantOut(OutModel):
    label: str
    value: Value
    series: str | None = Field(default=None, description="Training-fraction studies: the mixer of this variant.")
    train_fraction: float | None = Field(default=None, description="Share of the train split; None: all of it.")
    name: str
    submission_id: int | None = Field(description="None when the variant could not be matched (see reason).")
    url: str | None
    status: str = Field(description="queued, running, finished, failed, or unmatched.")
    seeds_requested: int
    seeds_finished: int
    params: int | None
    macs: int | None
    width: int | None
    adjustment: str | None = Field(description="The width change that matched compute, e.g. 'width 48 → 56'.")
    reason: str | None = Field(description="Why the variant was not created (compute could not be matched).")
    test_accs: list[float]
    test2_accs: list[float] = Field(default_factory=list, description="Second-test accuracy of each finished seed.")
    test_acc_mean: float | None
    test_acc_ci: tuple[float, float] | None
    test2_acc_mean: float | None = Field(default=None, description="Mean accuracy on the second test set.")
    test2_acc_ci: tuple[float, float] | None = None
    images_per_second: float | None = Field(default=None, description="Mean training throughput over seeds.")
    val_acc_curve: list[float] = Field(default_factory=list, description="Mean val accuracy per epoch over seeds.")
    hidden_reason: str | None = Field(default=None, description="Set when an admin hid the variant's submission.")
    flag_reason: str | None = Field(default=None, description="Set when an admin flagged the variant's submission.")


class VerdictOut(OutModel):
    group: str | None = Field(default=None, description="Training-fraction studies with series: the fraction.")
    a: str
    b: str
    kind: str = Field(description="equivalent, a_better, b_better, inconclusive, or pending (seeds not done).")
    text: str
    diff: float | None = Field(description="mean(A) - mean(B) of test accuracy.")
    ci_low: float | None
    ci_high: float | None
    seeds_needed: int | None


class StudySummaryOut(OutModel):
    id: int
    name: str
    benchmark: str
    axis: str
    match: str | None
    seeds: int
    looks: int
    variants: int
    status: str
    created_at: datetime
    url: str


class StudyOut(StudySummaryOut):
    description: str
    user: str
    base_spec: dict[str, Any]
    delta: float = Field(description="Equivalence margin: max(0.01, 2 × the reference's seed σ), fixed once.")
    noise_std: float = Field(description="The seed σ of the noise reference the verdicts are judged against.")
    frozen_at: datetime | None = Field(description="When δ, α and the reference were fixed (None: not yet).")
    rankings: dict[str, str] = Field(
        default_factory=dict, description='The ranking in words per group ("" for the whole study).'
    )
    variant_list: list[VariantOut]
    series: list[str] = Field(description="Training-fraction studies: the mixers compared at each fraction.")
    max_looks: int
    alpha: float = Field(description="The error rate spent at this look, for the difference test and TOST.")
    can_add_seeds: bool = Field(description="All runs done, a pair inconclusive, a look and seeds left.")
    add_seeds_blocked: str | None = Field(description="Why seeds cannot be added now.")
    verdicts: list[VerdictOut]
    summary: str
    notes: list[str]
