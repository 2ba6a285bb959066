"""Request and response models of the submissions API."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.core.schemas import OutModel, StrictModel
from app.entries.schemas import SubmissionOut

SLUG = r"^[a-z0-9_]{1,64}$"


class SpecValidateIn(StrictModel):
    benchmark: str = Field(default="digits", pattern=SLUG, description="Benchmark slug, e.g. 'digits'.")
    spec: dict[str, Any] = Field(
        description="An architecture: {'family': ..., ...} or {'preset': NAME, 'overrides': {...}}.",
        examples=[{"preset": "tiny_resnet_digits", "overrides": {}}],
    )


class SpecValidateOut(OutModel):
    benchmark: str
    family: str
    mixer: str | None
    params: int = Field(description="Number of trainable parameters.")
    macs: int = Field(description="Multiply-accumulates of one forward pass of one image.")
    flops: int = Field(description="2 × MACs.")
    macs_breakdown: dict[str, int] = Field(description="MACs per layer type.")
    canonical_spec: dict[str, Any]
    spec_hash: str
    train_s_per_image: float = Field(
        description="Projected training seconds per image (forward, backward, optimiser step) on the reference "
        "CPU at the recipe's batch size, from every op the model does (not only MACs)."
    )
    projected_run_seconds: float = Field(
        description="Projected seconds of one seed's whole run on the reference CPU: train_s_per_image × train "
        "images × the recipe's epochs. The benchmark refuses specs over its run budget."
    )


class SubmissionIn(StrictModel):
    benchmark: str = Field(default="digits", pattern=SLUG)
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    spec: dict[str, Any]
    seeds: int | None = Field(
        default=None, ge=1, le=100, description="How many seeds to train (default: the benchmark's)."
    )


class JoinedOut(OutModel):
    of: int = Field(description="The existing entry's id (the body is that entry).")
    owner: str = Field(description="Who submitted the existing entry.")
    seeds: int = Field(description="The entry's seeds now.")
    seeds_added: int = Field(description="Seeds this request added to it (0: it had enough).")
    quota_used: float = Field(
        description="Run-seconds this request reserved from the asker's daily budget for the seeds it added (0: none)."
    )
    message: str = Field(
        description="What happened, in words, e.g. 'identical to #2 by archarena, trained with 3 seeds; no quota used'."
    )


class SubmitOut(SubmissionOut):
    duplicate: JoinedOut | None = Field(
        default=None,
        description="Set when the spec was already a live entry: this submission joined it instead of making a "
        "new one (the name and description sent are not used).",
    )
