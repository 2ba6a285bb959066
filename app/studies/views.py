"""What a study shows: its variants (accuracy with intervals, compute, curves), the pairwise verdicts at the
current look, a summary in words and notes. Reads only."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from statistics import fmean

from sqlalchemy.orm import Session

from app.benchmarks.registry import Benchmark, get_benchmark
from app.core.db.tables import RunStatus, Study, Submission, User
from app.core.errors import NotFound
from app.entries.chance import chance_note
from app.entries.curves import mean_curve
from app.entries.entry import build_entry
from app.stats.intervals import entry_interval
from app.stats.noise import NoiseReference
from app.studies import repository as repo
from app.studies import verdicts as vd
from app.studies.freeze import StudyFreeze, study_freeze
from app.studies.numeric_view import numeric_parts
from app.studies.schemas import StudyOut, StudySummaryOut, VariantOut
from app.studies.variants import variant_name


@dataclass
class StudyView:
    out: StudyOut
    grids: list[dict[str, object]] = field(default_factory=list)


def get_study(session: Session, study_id: int) -> Study:
    study = repo.get_study(session, study_id)
    if study is None:
        raise NotFound(f"study {study_id}")
    return study


def benchmark_of(study: Study) -> Benchmark:
    return get_benchmark(study.benchmark)


def view_ready(view: StudyOut) -> bool:
    """Every run of every variant is done (finished or failed)."""
    return all(v.status in RunStatus.DONE or v.submission_id is None for v in view.variant_list)


def _mean_curves(session: Session, subs: dict[int, Submission]) -> dict[int, list[float]]:
    """Per submission: mean val accuracy per epoch over its finished seeds."""
    finished = {r.id: s.id for s in subs.values() for r in s.runs if r.status == RunStatus.FINISHED}
    by_run: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for run_id, epoch, val_acc in repo.val_curves(session, list(finished)):
        by_run[run_id].append((epoch, val_acc))
    by_sub: dict[int, list[list[tuple[int, float]]]] = defaultdict(list)
    for run_id, points in by_run.items():
        by_sub[finished[run_id]].append(points)
    return {sid: mean_curve(runs).mean for sid, runs in by_sub.items()}


def _variants(
    study: Study, subs: dict[int, Submission], curves: dict[int, list[float]] | None = None
) -> list[VariantOut]:
    out = []
    for plan in study.variants:
        sub = subs.get(plan["submission_id"]) if plan["submission_id"] else None
        entry = build_entry(sub) if sub is not None else None
        finished = [r for r in sub.runs if r.status == RunStatus.FINISHED] if sub else []
        test2 = [float(r.test2_acc) for r in finished if r.test2_acc is not None]
        speeds = [r.images_per_second for r in finished if r.images_per_second]
        out.append(
            VariantOut(
                label=plan["label"],
                value=plan["value"],
                series=plan.get("series"),
                train_fraction=plan.get("train_fraction"),
                axis_value=plan.get("axis_value"),
                path=plan.get("path"),
                field_value=plan.get("field_value"),
                family=plan.get("family") or (sub.family if sub else None),
                mixer=plan.get("mixer") or (sub.mixer if sub else None),
                name=plan.get("name") or variant_name(study.name, study.axis, plan["label"]),
                submission_id=sub.id if sub else None,
                url=f"/submissions/{sub.id}" if sub else None,
                status=sub.status if sub else "unmatched",
                seeds_requested=sub.seeds_requested if sub else 0,
                seeds_finished=entry.n if entry else 0,
                params=plan["params"],
                macs=plan["macs"],
                width=plan["width"],
                adjustment=plan["adjustment"],
                reason=plan["reason"],
                test_accs=entry.test_accs if entry else [],
                test_acc_mean=entry.test_acc_mean if entry else None,
                test_acc_ci=None,
                test2_acc_mean=fmean(test2) if test2 else None,
                test2_acc_ci=None,
                test2_accs=test2,
                images_per_second=fmean(speeds) if speeds else None,
                val_acc_curve=(curves or {}).get(sub.id, []) if sub else [],
                hidden_reason=sub.hidden_reason if sub else None,
                flag_reason=sub.flag_reason if sub else None,
            )
        )
    return out


def _status(variants: list[VariantOut]) -> str:
    statuses = {v.status for v in variants if v.submission_id is not None}
    for s in (RunStatus.RUNNING, RunStatus.QUEUED):
        if s in statuses:
            return s
    return RunStatus.FINISHED if RunStatus.FINISHED in statuses else RunStatus.FAILED if statuses else "unmatched"


def _summary_out(study: Study, variants: list[VariantOut]) -> StudySummaryOut:
    return StudySummaryOut(
        id=study.id,
        name=study.name,
        benchmark=study.benchmark,
        axis=study.axis,
        match=study.match,
        seeds=study.seeds,
        looks=study.looks,
        variants=len(variants),
        status=_status(variants),
        created_at=study.created_at,
        url=f"/studies/{study.id}",
    )


def study_view(session: Session, study_id: int, *, max_epochs: int | None) -> StudyView:
    study = get_study(session, study_id)
    benchmark = get_benchmark(study.benchmark)
    subs = {s.id: s for s in repo.study_submissions(session, [study.id])}
    variants = _variants(study, subs, _mean_curves(session, subs))
    ready = all(r.status in RunStatus.DONE for s in subs.values() for r in s.runs)
    freeze = study_freeze(session, study.id, study.frozen, study.benchmark, _freeze_groups(variants, subs), ready)
    _intervals(variants, freeze, benchmark)
    alpha = vd.alpha_at(min(study.looks, vd.MAX_LOOKS))
    verdicts, rankings = vd.all_verdicts(variants, ready, freeze, alpha)
    can_add, blocked = vd.can_add_seeds(verdicts, ready, study.looks, study.seeds, benchmark.max_seeds)
    chance = 1.0 / benchmark.num_classes
    summary = vd.summary(
        study.axis, study.benchmark, study.match, study.seeds, variants, verdicts, rankings, freeze, chance
    )
    numeric = numeric_parts(study, variants, verdicts, rankings, freeze, summary, chance)
    out = StudyOut(
        **_summary_out(study, variants).model_dump(),
        description=study.description,
        user=study.user.name,
        base_spec=numeric.base_spec,
        delta=freeze.group(None).delta,
        noise_std=freeze.group(None).ref.sigma,
        frozen_at=freeze.at,
        rankings={k or "": v for k, v in rankings.items()},
        variant_list=variants,
        series=list(dict.fromkeys(v.series for v in variants if v.series)),
        max_looks=vd.MAX_LOOKS,
        alpha=alpha,
        can_add_seeds=can_add,
        add_seeds_blocked=blocked,
        verdicts=verdicts,
        summary=numeric.summary,
        notes=vd.notes(study.match, study.seeds, study.looks, alpha, freeze) + numeric.notes,
        **numeric.fields(),
    )
    return StudyView(out=out, grids=vd.grids(variants, verdicts, numeric.axis_label or study.axis))


def _freeze_groups(variants: list[VariantOut], subs: dict[int, Submission]) -> list[tuple[str, str, list[list[float]]]]:
    """(group key, recipe version, per-seed scores of its variants) for every group the study is judged in."""
    out = []
    for group in vd.groups(variants):
        versions = [subs[v.submission_id].recipe_version for v in group.members if v.submission_id in subs]
        if versions:
            out.append((group.key or "", versions[0], [v.test_accs for v in group.members]))
    return out


def _intervals(variants: list[VariantOut], freeze: StudyFreeze, benchmark: Benchmark) -> None:
    """Each variant's intervals (seed noise moderated toward its group's reference, and test-set sampling), on
    the test set and on the second test set, and its chance-level note; a variant in two groups keeps its first
    group's intervals."""
    n_test, n_test2 = benchmark.n_test, benchmark.n_test2
    for group in vd.groups(variants):
        ref = freeze.group(group.key).ref
        for v in group.members:
            _interval(v, ref, n_test, n_test2)
            if v.test_acc_mean is not None and v.chance_note is None:
                low = v.test_acc_ci[0] if v.test_acc_ci else None
                v.chance_note = chance_note(v.test_acc_mean, benchmark.num_classes, ref.sigma, low)


def _interval(v: VariantOut, ref: NoiseReference, n_test: int, n_test2: int) -> None:
    if v.test_accs and v.test_acc_ci is None:
        iv = entry_interval(v.test_accs, n_test, ref)
        v.test_acc_ci = (iv.low, iv.high)
    if v.test2_accs and n_test2 and v.test2_acc_ci is None:
        iv = entry_interval(v.test2_accs, n_test2, ref)
        v.test2_acc_ci = (iv.low, iv.high)


def can_manage(study: StudyOut, user: User | None) -> bool:
    return user is not None and (user.is_admin or user.name == study.user)


def list_studies(session: Session, *, limit: int = 100, offset: int = 0) -> list[StudySummaryOut]:
    studies = repo.list_studies(session, limit=limit, offset=offset)
    subs = {s.id: s for s in repo.study_submissions(session, [s.id for s in studies])}
    return [_summary_out(study, _variants(study, subs)) for study in studies]


def headline(summary: str) -> str:
    """A study's answer in one line for the list: the question and its answer ("Does the mixer matter on digits?
    Yes: dwconv > pooling."), or the first sentence of anything else (not decided yet, a warning)."""
    sentences = re.split(r"(?<=[.?])\s+", summary.strip())
    take = 2 if sentences and sentences[0].endswith("?") else 1
    return " ".join(sentences[:take])


def list_with_answers(
    session: Session, *, max_epochs: int | None, limit: int = 100
) -> list[tuple[StudySummaryOut, str]]:
    """The studies, newest first, each with its headline answer (each study's view is built: a page, not the
    API's list)."""
    studies = list_studies(session, limit=limit)
    return [(s, headline(study_view(session, s.id, max_epochs=max_epochs).out.summary)) for s in studies]
