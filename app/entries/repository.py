"""SQL of the entries read model: a board's visible submissions with their runs, one submission with its runs
and epochs, and lists of submissions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.core.db.boardmarks import mark_board
from app.core.db.tables import NoiseReferenceRow, Run, RunKind, RunStatus, Submission, User


def submissions_for(session: Session, benchmark: str, recipe_version: str) -> list[Submission]:
    query = (
        select(Submission)
        .where(
            Submission.benchmark == benchmark,
            Submission.recipe_version == recipe_version,
            Submission.hidden_reason.is_(None),  # hidden by an admin: off every board
            Submission.deleted_at.is_(None),
        )
        .options(selectinload(Submission.user), selectinload(Submission.runs))
        .order_by(Submission.id)
    )
    return list(session.scalars(query))


def get_submission(session: Session, submission_id: int, *, with_epochs: bool = False) -> Submission | None:
    runs = selectinload(Submission.runs)
    options = [selectinload(Submission.user), runs.selectinload(Run.epochs) if with_epochs else runs]
    return session.scalar(select(Submission).where(Submission.id == submission_id).options(*options))


def list_submissions(
    session: Session,
    *,
    benchmark: str | None = None,
    user: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
    include_hidden: bool = False,
) -> list[Submission]:
    """Live (not deleted) submissions, newest first; hidden ones only with ``include_hidden``."""
    query = (
        select(Submission)
        .where(Submission.deleted_at.is_(None))
        .options(selectinload(Submission.user), selectinload(Submission.runs))
    )
    if not include_hidden:
        query = query.where(Submission.hidden_reason.is_(None))
    if benchmark:
        query = query.where(Submission.benchmark == benchmark)
    if user:
        query = query.join(Submission.user).where(User.name == user)
    if status:
        query = query.where(Submission.status == status)
    query = query.order_by(Submission.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def finished_test_accs(session: Session, benchmark: str, recipe_version: str) -> list[list[float]]:
    """Per visible submission of a board, the test accuracies of its finished runs (one query, no ORM rows)."""
    query = (
        select(Run.submission_id, Run.test_acc)
        .join(Submission, Submission.id == Run.submission_id)
        .where(
            Submission.benchmark == benchmark,
            Submission.recipe_version == recipe_version,
            Submission.hidden_reason.is_(None),
            Submission.deleted_at.is_(None),
            Run.kind == RunKind.UPSTREAM,
            Run.status == RunStatus.FINISHED,
            Run.test_acc.is_not(None),
        )
        .order_by(Run.submission_id, Run.seed)
    )
    by_submission: dict[int, list[float]] = {}
    for submission_id, acc in session.execute(query):
        by_submission.setdefault(int(submission_id), []).append(float(acc or 0.0))
    return list(by_submission.values())


def noise_reference(session: Session, benchmark: str, recipe_version: str) -> NoiseReferenceRow | None:
    return session.scalar(
        select(NoiseReferenceRow).where(
            NoiseReferenceRow.benchmark == benchmark, NoiseReferenceRow.recipe_version == recipe_version
        )
    )


def add_noise_reference(
    session: Session, benchmark: str, recipe_version: str, reference: dict[str, Any], entry_ids: list[int]
) -> NoiseReferenceRow:
    row = NoiseReferenceRow(
        benchmark=benchmark, recipe_version=recipe_version, reference=reference, entry_ids=entry_ids
    )
    session.add(row)
    session.flush()
    mark_board(session, benchmark, recipe_version)  # every interval and rank on the board depends on it
    return row


def reference_entries(session: Session, benchmark: str, recipe_version: str) -> list[Submission]:
    """The platform's reference entries of a board: its baselines (and multi-seed references), with their runs."""
    query = (
        select(Submission)
        .where(
            Submission.benchmark == benchmark,
            Submission.recipe_version == recipe_version,
            Submission.is_baseline.is_(True),
            Submission.deleted_at.is_(None),
        )
        .options(selectinload(Submission.runs))
        .order_by(Submission.id)
    )
    return list(session.scalars(query))


def lineage_members(session: Session, benchmark: str, recipe_version: str) -> list[Submission]:
    """Every try on a board, hidden ones included (their seeds count in their lineage), with their runs."""
    query = (
        select(Submission)
        .where(Submission.benchmark == benchmark, Submission.recipe_version == recipe_version)
        .options(selectinload(Submission.user), selectinload(Submission.runs))
        .order_by(Submission.id)
    )
    return list(session.scalars(query))


@dataclass
class MemberRun:
    """The columns of a run a board reads."""

    status: str
    test_acc: float | None
    train_acc: float | None
    val_acc: float | None
    test2_acc: float | None
    test2_texture_acc: float | None
    test_private_acc: float | None
    projected_seconds: float | None


@dataclass(frozen=True)
class Owner:
    name: str


@dataclass
class Member:
    """The columns of a submission a board reads (no spec, no breakdown: plain tuples, not ORM objects)."""

    id: int
    benchmark: str
    name: str
    user: Owner
    family: str
    mixer: str | None
    params: int
    macs: int
    status: str
    seeds_requested: int
    is_baseline: bool
    hidden_reason: str | None
    flag_reason: str | None
    deleted_at: datetime | None
    lineage_key: str | None
    size_vector: dict[str, Any] | None
    train_s_per_image: float | None
    deploy_params: int | None
    deploy_macs: int | None
    created_at: datetime
    runs: list[MemberRun] = field(default_factory=list)


_MEMBER_COLUMNS = (
    Submission.id, Submission.benchmark, Submission.name, User.name, Submission.family, Submission.mixer,
    Submission.params, Submission.macs, Submission.status, Submission.seeds_requested, Submission.is_baseline,
    Submission.hidden_reason, Submission.flag_reason, Submission.deleted_at, Submission.lineage_key,
    Submission.size_vector, Submission.train_s_per_image, Submission.deploy_params, Submission.deploy_macs,
    Submission.created_at,
)  # fmt: skip
_RUN_COLUMNS = (
    Run.submission_id, Run.status, Run.test_acc, Run.train_acc, Run.val_acc, Run.test2_acc, Run.test2_texture_acc,
    Run.test_private_acc, Run.projected_seconds,
)  # fmt: skip


def board_members(session: Session, benchmark: str, recipe_version: str) -> list[Member]:
    """What ``lineage_members`` returns, as plain rows in two queries: every try on a board (hidden and deleted
    ones too) with the run columns a board reads, by id, runs by seed."""
    where = (Submission.benchmark == benchmark, Submission.recipe_version == recipe_version)
    query = select(*_MEMBER_COLUMNS).join(User, User.id == Submission.user_id).where(*where).order_by(Submission.id)
    connection = session.connection()  # plain rows through Core: the ORM's row loading costs a third more here
    members: dict[int, Member] = {}
    for row in connection.execute(query):
        values = list(row)
        values[3] = Owner(values[3])
        members[row[0]] = Member(*values)
    own = Run.kind == RunKind.UPSTREAM  # an entry's seeds, not its downstream (transfer) runs
    runs = select(*_RUN_COLUMNS).join(Submission, Submission.id == Run.submission_id).where(*where, own)
    for row in connection.execute(runs.order_by(Run.submission_id, Run.seed)):
        member = members.get(row[0])
        if member is not None:
            member.runs.append(MemberRun(*row[1:]))
    return list(members.values())
