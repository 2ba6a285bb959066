"""What a study with a numeric axis (depth, or any field by path) adds to its page: its bases, what the axis is
called, per series whether the largest value beats the smallest, the series compared at each value, and for a
depth study the published reference beside it with one sentence on whether we agree. Reads only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.db.tables import Study
from app.studies import depth
from app.studies import verdicts as vd
from app.studies.freeze import StudyFreeze
from app.studies.published import Reference
from app.studies.schemas import BaseOut, PublishedRowOut, ReferenceOut, TrendOut, VariantOut, VerdictOut

NUMERIC_AXES = ("depth", "path")


@dataclass
class NumericParts:
    base_spec: dict[str, Any]
    summary: str
    axis_label: str = ""
    path: str | None = None
    bases: list[BaseOut] = field(default_factory=list)
    trends: list[TrendOut] = field(default_factory=list)
    reference: ReferenceOut | None = None
    notes: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        """The StudyOut fields this adds."""
        return {
            "path": self.path,
            "axis_label": self.axis_label,
            "bases": self.bases,
            "trends": self.trends,
            "reference": self.reference,
        }


def axis_label(study: Study) -> str:
    """What the axis is called on the page: the study's label, the path of a path axis, or the axis."""
    first: dict[str, Any] = study.variants[0] if study.variants else {}
    if first.get("axis_label"):
        return str(first["axis_label"])
    if study.axis == "path" and first.get("path"):
        return str(first["path"])
    return study.axis


def _bases(study: Study) -> tuple[dict[str, Any], list[BaseOut]]:
    """The first base's spec (what ``base_spec`` shows) and every base of a study with several."""
    stored = study.base_spec.get("bases")
    if not isinstance(stored, list):
        return study.base_spec, []
    bases = [BaseOut.model_validate(b) for b in stored]
    return (bases[0].spec if bases else {}), bases


def reference_out(reference: Reference, trends: Sequence[depth.Trend]) -> ReferenceOut:
    kind, sentence = depth.agreement(reference, trends)
    rows = [PublishedRowOut.model_validate({**r.__dict__, "accuracy": r.accuracy}) for r in reference.rows]
    return ReferenceOut(
        key=reference.key, title=reference.title, url=reference.url, rows=rows, agreement=kind, sentence=sentence
    )


def _summary(
    study: Study,
    variants: Sequence[VariantOut],
    trends: Sequence[depth.Trend],
    rankings: dict[str | None, str],
    plain: str,
    chance: float | None,
) -> str:
    """A study with several bases answers per series; one base adds its trend to the usual summary."""
    decided = [t for t in trends if t.kind != "pending"]
    if not decided:
        return plain
    label = axis_label(study)
    several = any(v.axis_value is not None for v in variants)
    if not several:
        ends = "Shallowest against deepest" if depth.is_depth(variants) else f"Smallest against largest {label}"
        return f"{plain} {ends}: {decided[0].text}."
    ask = depth.question(label, depth.is_depth(variants), True, study.benchmark)
    per_series = " ".join(f"{t.text}." for t in trends)
    caution = vd.near_chance([v for v in variants if v.submission_id is not None], chance).strip()
    return " ".join(p for p in (caution, ask, per_series, depth.between_series(variants, rankings, label)) if p)


def numeric_parts(
    study: Study,
    variants: Sequence[VariantOut],
    verdicts: Sequence[VerdictOut],
    rankings: dict[str | None, str],
    freeze: StudyFreeze,
    summary: str,
    chance: float | None = None,
) -> NumericParts:
    base_spec, bases = _bases(study)
    if study.axis not in NUMERIC_AXES:
        return NumericParts(base_spec=base_spec, summary=summary, axis_label=axis_label(study))
    label = axis_label(study)
    deltas = {g.key: freeze.group(g.key).delta for g in vd.groups(variants)}
    alpha = vd.alpha_at(min(study.looks, vd.MAX_LOOKS))
    contrasts = depth.shallow_vs_deep(variants, verdicts, freeze, alpha)
    trends = depth.series_trends(variants, contrasts, rankings, deltas, label)
    reference = depth.reference_for(trends, depth.is_depth(variants))
    paths = list(dict.fromkeys(v.path for v in variants if v.path))
    return NumericParts(
        base_spec=base_spec,
        summary=_summary(study, variants, trends, rankings, summary, chance),
        axis_label=label,
        path=paths[0] if len(paths) == 1 else None,
        bases=bases,
        trends=[TrendOut.model_validate(t.__dict__) for t in trends],
        reference=reference_out(reference, trends) if reference else None,
        notes=[_compute_note(variants)],
    )


def _compute_note(variants: Sequence[VariantOut]) -> str:
    macs = [v.macs for v in variants if v.macs]
    spread = f" (here from {min(macs):,} to {max(macs):,} MACs per image)" if macs else ""
    return (
        "Compute is not matched along a numeric axis: each variant costs what its value implies" + spread + "; "
        "the table lists every variant's parameters and MACs. Each value is checked against the field's own limits "
        "and the benchmark's before anything is trained."
    )
