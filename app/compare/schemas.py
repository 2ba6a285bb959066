"""Response model of the compare API."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.core.schemas import OutModel
from app.entries.schemas import SubmissionOut


class PairOut(OutModel):
    a: int
    b: int
    p_a_beats_b: float | None = Field(
        description="P(A > B) for one random seed of each: the posterior median under seed variances moderated "
        "toward the board's noise reference."
    )
    ci: list[float] | None = Field(description="95% posterior interval of P(A > B) (3 vs 3 seeds is wide).")
    diff_mean: float | None = Field(description="Mean test accuracy of A minus that of B.")
    sentence: str | None = Field(default=None, description="The same, in words.")


class SpecDiffOut(OutModel):
    key: str = Field(description="Dotted path into the canonical spec.")
    values: list[Any] = Field(description="The value in each compared submission, in order.")
    present: list[bool] = Field(description="Whether the key exists in each spec (false: absent, value null).")


class CompareOut(OutModel):
    submissions: list[SubmissionOut]
    pairs: list[PairOut]
    spec_diff: list[SpecDiffOut]
