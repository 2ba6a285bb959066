"""Two to four submissions side by side: P(A > B) per pair from per-seed test accuracies, and the spec keys that
differ. Services never commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from statistics import fmean
from typing import Any

from sqlalchemy.orm import Session

from app.compare.schemas import CompareOut, PairOut, SpecDiffOut
from app.core.db.tables import RunStatus
from app.core.errors import InputError
from app.entries.noise import board_reference
from app.entries.schemas import SubmissionOut
from app.entries.views import get_submission_out
from app.stats.compare import superiority
from app.stats.noise import NoiseReference

MIN_IDS, MAX_IDS = 2, 4
_MISSING = object()


def parse_ids(raw: Iterable[str], *, dedupe: bool = True) -> list[int]:
    """``?ids=1,2&ids=3`` → ``[1, 2, 3]``: commas and repeats both work; duplicates are dropped unless
    ``dedupe`` is off (the API compares exactly what it was asked to)."""
    ids: list[int] = []
    for part in (p.strip() for chunk in raw for p in chunk.split(",")):
        if not part:
            continue
        if not part.isdigit() or int(part) < 1 or len(part) > 19:  # a larger id is no such submission (404)
            raise InputError.one(["query", "ids"], f"{part[:20]!r} is not a submission id")
        if not dedupe or int(part) not in ids:
            ids.append(int(part))
    if not MIN_IDS <= len(ids) <= MAX_IDS:
        raise InputError.one(["query", "ids"], f"compare takes {MIN_IDS} to {MAX_IDS} submission ids, got {len(ids)}")
    return ids


def test_accs(submission: SubmissionOut) -> list[float]:
    return [r.test_acc for r in submission.runs if r.status == RunStatus.FINISHED and r.test_acc is not None]


def pair(a: SubmissionOut, b: SubmissionOut, ref: NoiseReference) -> PairOut:
    xa, xb = test_accs(a), test_accs(b)
    if not xa or not xb:
        return PairOut(a=a.id, b=b.id, p_a_beats_b=None, ci=None, diff_mean=None, sentence=None)
    found = superiority(xa, xb, ref)
    return PairOut(
        a=a.id,
        b=b.id,
        p_a_beats_b=found.p,
        ci=[found.low, found.high],
        diff_mean=fmean(xa) - fmean(xb),
        sentence=found.sentence,
    )


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as dotted keys (``stages.0.depth``); leaves are kept as they are."""
    if isinstance(value, Mapping):
        items: Iterable[tuple[str, Any]] = ((str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, child in items:
        flat.update(flatten(child, f"{prefix}.{key}" if prefix else key))
    if not flat and prefix:
        flat[prefix] = value
    return flat


def spec_diff(specs: Sequence[Mapping[str, Any]]) -> list[SpecDiffOut]:
    """The keys whose values are not the same in every spec (absent counts as different)."""
    flats = [flatten(s) for s in specs]
    keys = sorted(set().union(*flats))
    out = []
    for key in keys:
        values = [f.get(key, _MISSING) for f in flats]
        if any(v != values[0] for v in values[1:]):
            out.append(
                SpecDiffOut(
                    key=key,
                    values=[None if v is _MISSING else v for v in values],
                    present=[v is not _MISSING for v in values],
                )
            )
    return out


def compare(session: Session, ids: Sequence[int]) -> CompareOut:
    subs = [get_submission_out(session, i) for i in ids]
    refs = {(s.benchmark, s.recipe_version): board_reference(session, s.benchmark, s.recipe_version).ref for s in subs}
    return CompareOut(
        submissions=subs,
        pairs=[pair(a, b, refs[(a.benchmark, a.recipe_version)]) for a, b in combinations(subs, 2)],
        spec_diff=spec_diff([s.spec for s in subs]),
    )
