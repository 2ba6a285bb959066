"""One planned variant of a study, how variants are labelled and named, and how a variant's errors are placed
in the request (``relocate``). Shared by the planners (``plan`` for MetaFormer axes and compute matching,
``numeric`` for any numeric field and series of bases)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.benchmarks.recipes import fraction_label
from app.core.errors import InputError

MAX_VARIANTS = 16
"""Variants (series × values for a study with series) one study may create."""


@dataclass
class VariantPlan:
    label: str
    value: Any
    spec: dict[str, Any] | None = None
    width: int | None = None
    adjustment: str | None = None
    params: int | None = None
    macs: int | None = None
    reason: str | None = None
    submission_id: int | None = None
    series: str | None = None  # the mixer (training-fraction studies) or the base (series of bases)
    train_fraction: float | None = None  # None: the whole train split
    axis_value: str | None = None  # the label of the shared axis value, in a study with series
    path: str | None = None  # the spec field a numeric axis set
    field_value: int | float | None = None  # what it was set to (a series may map the axis onto its own values)
    family: str | None = None
    mixer: str | None = None
    name: str | None = None  # the submission's name; None: ``variant_name`` of the label (older studies)
    axis_label: str | None = None  # what the values measure, in words ("layers"), when the study names it

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "width": self.width,
            "adjustment": self.adjustment,
            "params": self.params,
            "macs": self.macs,
            "reason": self.reason,
            "submission_id": self.submission_id,
            "series": self.series,
            "train_fraction": self.train_fraction,
            "axis_value": self.axis_value,
            "path": self.path,
            "field_value": self.field_value,
            "family": self.family,
            "mixer": self.mixer,
            "name": self.name,
            "axis_label": self.axis_label,
        }


def variant_label(axis: str, value: Any) -> str:
    """``attention(heads=4)`` for a mixer dict, ``10%`` for a fraction, the value itself otherwise."""
    if axis == "mixer" and isinstance(value, dict):
        extra = ", ".join(f"{k}={v}" for k, v in value.items() if k != "kind")
        return f"{value.get('kind')}({extra})" if extra else str(value.get("kind"))
    if axis == "train_fraction" and isinstance(value, int | float):
        return fraction_label(float(value))
    return str(value)


def variant_name(study_name: str, axis: str, label: str) -> str:
    return f"{study_name} · {axis}={label}"


def relocate(error: dict[str, Any], prefix: list[str | int], who: str) -> dict[str, Any]:
    """An error of a spec (``loc`` under ``body.spec`` or ``spec``) placed under ``prefix``, its message opened
    with ``who`` (the variant it belongs to)."""
    loc = list(error["loc"])
    rest = loc[2:] if loc[:2] == ["body", "spec"] else loc[1:]
    return {**error, "loc": [*prefix, *rest], "msg": f"{who}: {error['msg']}"}


def unique_labels(labels: list[str], loc: list[str | int]) -> None:
    for i, label in enumerate(labels):
        if labels.index(label) != i:
            raise InputError.one([*loc, i], f"'{label}' appears twice")
