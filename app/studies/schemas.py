"""Request and response models of the studies API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from app.core.schemas import OutModel, StrictModel
from app.submissions.schemas import SLUG

Axis = Literal["mixer", "depth", "width", "patch_size", "norm", "train_fraction", "path"]
Value = int | float | str | dict[str, Any]
PATH = r"^[A-Za-z_]\w*(\.([A-Za-z_]\w*|\d+|\*))*$"


class BaseIn(StrictModel):
    """One series of a study with several bases: its own base spec, sharing the study's axis."""

    name: str = Field(
        min_length=1, max_length=40, pattern=r"^[\w][\w .+-]*$", description="The series' name, e.g. 'plain'."
    )
    spec: dict[str, Any] = Field(description="This series' base spec (any family, or a preset).")
    path: str | None = Field(
        default=None,
        max_length=100,
        pattern=PATH,
        description="The numeric field this series varies, e.g. 'layers.*' ('*': every element). Default: the "
        "study's path, or for the depth axis the family's blocks per stage.",
    )
    values: list[int | float] | None = Field(
        default=None,
        min_length=2,
        max_length=8,
        description="What this series sets its field to at each of the study's values (same length); default: "
        "the study's values. E.g. a plain net with 2n convs per stage beside a ResNet with n blocks.",
    )


class StudyIn(StrictModel):
    benchmark: str = Field(default="digits", pattern=SLUG, description="Benchmark slug, e.g. 'digits'.")
    name: str = Field(min_length=1, max_length=80, description="Variants are named '{name} · {axis}={value}'.")
    description: str = Field(default="", max_length=2000, description="The question the study answers.")
    base_spec: dict[str, Any] | None = Field(
        default=None,
        description="The spec (any family, or a preset) every variant shares except for the axis; a metaformer "
        "for the mixer, width, patch_size and norm axes. Give either base_spec or bases.",
        examples=[{"preset": "tiny_vit_digits", "overrides": {}}],
    )
    bases: list[BaseIn] | None = Field(
        default=None,
        min_length=2,
        max_length=4,
        description="Several base specs sharing one numeric axis (depth or path), each a series: e.g. a plain "
        "CNN and a ResNet at the same depths. Verdicts compare the values within each series and the series at "
        "each value.",
    )
    axis: Axis = Field(
        description="The one thing that varies: mixer, depth (blocks per stage, any family), width, patch_size, "
        "norm, train_fraction, or path (the numeric field named by 'path')."
    )
    path: str | None = Field(
        default=None,
        max_length=100,
        pattern=PATH,
        description="The path axis: the numeric field to vary, e.g. 'stages.*.depth', 'layers.*', "
        "'stages.0.mlp_ratio' ('*': every element), checked against the field's own limits and the "
        "benchmark's.",
    )
    axis_label: str | None = Field(
        default=None,
        max_length=40,
        description="What the values measure, in words (e.g. 'layers'); default: the axis or path.",
    )
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
    series: str | None = Field(
        default=None, description="The series of this variant: a mixer (training-fraction studies) or a base."
    )
    train_fraction: float | None = Field(default=None, description="Share of the train split; None: all of it.")
    axis_value: str | None = Field(default=None, description="In a study with series: the shared axis value.")
    path: str | None = Field(default=None, description="The spec field a numeric axis set in this variant.")
    field_value: int | float | None = Field(default=None, description="What the field was set to.")
    family: str | None = Field(default=None, description="The variant's architecture family.")
    mixer: str | None = Field(default=None, description="The variant's token mixer (metaformers).")
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
    chance_note: str | None = Field(
        default=None, description="'At chance level (N %): not learning.' when within seed noise of guessing."
    )
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


class BaseOut(OutModel):
    name: str
    family: str
    spec: dict[str, Any]
    path: str = Field(description="The numeric field this series varies.")
    values: list[int | float] = Field(description="What the field is set to at each of the study's values.")


class TrendOut(OutModel):
    series: str
    kind_of_net: str | None = Field(description="plain, residual or residual MLP (what the references speak of).")
    low: str = Field(description="The smallest value of the axis.")
    high: str = Field(description="The largest value of the axis.")
    kind: str = Field(description="better, worse, same (within ±δ), unclear (inconclusive) or pending.")
    diff: float | None = Field(description="Mean test accuracy at the largest value minus at the smallest.")
    text: str
    axis: str = Field(default="", description="What the values measure.")
    low_acc: float | None = Field(default=None, description="Mean test accuracy at the smallest value.")


class PublishedRowOut(OutModel):
    family: str
    model: str
    layers: int
    dataset: str
    error: float | None = Field(description="Test error as printed (a fraction); None: the figure shows no number.")
    accuracy: float | None
    params: str | None
    source: str
    where: str = Field(description="The table or figure of the source.")
    url: str
    note: str


class ReferenceOut(OutModel):
    key: str
    title: str
    url: str
    rows: list[PublishedRowOut]
    agreement: str = Field(description="agrees, partly, disagrees or undecided.")
    sentence: str = Field(description="Whether this study's result agrees with the reference, in one sentence.")


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
    path: str | None = Field(default=None, description="The numeric field a depth or path axis varies.")
    axis_label: str = Field(default="", description="What the values measure, in words.")
    bases: list[BaseOut] = Field(default_factory=list, description="A study with several bases: each series' base.")
    trends: list[TrendOut] = Field(
        default_factory=list, description="A numeric axis: does its largest value beat its smallest, per series?"
    )
    reference: ReferenceOut | None = Field(
        default=None, description="A depth study of a kind of network a published study measured: it, cited."
    )
