"""Typed tables. Relationships refuse lazy loading: repositories say what they load."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db.base import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


# SQLite reuses the largest rowid after a delete unless a table is AUTOINCREMENT: a new entry would then take a
# deleted one's id, and with it that id's audit history and every link to it. PostgreSQL's sequences never reuse.
NO_REUSE: dict[str, Any] = {"sqlite_autoincrement": True}


def dedup_key(benchmark: str, recipe_version: str, spec_hash: str) -> str:
    """The key two submissions of the same experiment share (``submissions.dedup_key`` is unique)."""
    return hashlib.sha256(f"{benchmark}\n{recipe_version}\n{spec_hash}".encode()).hexdigest()


class RunStatus:
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    DONE = (FINISHED, FAILED)


class RunKind:
    """What a run trains: the submission's own benchmark (``upstream``), or a downstream task from an upstream
    run's stored weights: a linear probe (backbone frozen, a new head) or a full fine-tune."""

    UPSTREAM = "upstream"
    PROBE = "probe"
    FINETUNE = "finetune"
    TRANSFER = (PROBE, FINETUNE)


PLATFORM_FAULTS: tuple[str, ...] = ("crashed", "invalid_spec")
"""Run error kinds the platform causes, whose run-seconds are refunded: 'crashed' (the worker was lost
``max_attempts`` times) and 'invalid_spec' (a stored spec that a later zoo no longer accepts; nothing trained).
Every other failure — timeout, oom, diverged, error — is the spec's run and is charged what it used."""


class User(Base):
    __tablename__ = "users"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # The name's skeleton (app.users.names.name_key): case, lookalike letters and separators folded, so two
    # names people cannot tell apart cannot both exist.
    name_key: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # argon2id hash of the web log-in password; None for users who only use API tokens (made by the CLI).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # An admin's ban: every token and session of the user stops working (the audit log says who and why).
    banned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    banned_reason: Mapped[str | None] = mapped_column(Text)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", lazy="raise")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when an admin bans the token (public reason; the audit log says who and when).
    banned_reason: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(back_populates="tokens", lazy="raise")


class WebSession(Base):
    """A browser's log-in, kept on the server: the cookie holds a random secret whose keyed hash is stored here,
    so logging out, changing the password or a ban ends it at once (a signed cookie would live on)."""

    __tablename__ = "web_sessions"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="raise")


class Study(Base):
    """A base spec, one varied axis and its values, on one benchmark: expanded into ordinary submissions."""

    __tablename__ = "studies"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    benchmark: Mapped[str] = mapped_column(String(64), index=True)
    axis: Mapped[str] = mapped_column(String(16))
    match: Mapped[str | None] = mapped_column(String(8))
    seeds: Mapped[int] = mapped_column(Integer)
    # How many times seeds were fixed and the verdicts looked at (1 at creation, +1 per "add seeds").
    looks: Mapped[int] = mapped_column(Integer, default=1)
    base_spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    # One plan per value: label, value, width, adjustment, params, macs, submission_id (None: not matched), reason.
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Fixed before any verdict is shown and never changed: δ, the α schedule and the noise reference of each
    # group of variants, with the date they were fixed.
    frozen: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    user: Mapped[User] = relationship(lazy="raise")


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    benchmark: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec_hash: Mapped[str] = mapped_column(String(64), index=True)
    family: Mapped[str] = mapped_column(String(32))
    mixer: Mapped[str | None] = mapped_column(String(32))
    params: Mapped[int] = mapped_column(BigInteger)
    macs: Mapped[int] = mapped_column(BigInteger)
    macs_breakdown: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recipe_version: Mapped[str] = mapped_column(String(64))
    seeds_requested: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED, index=True)
    is_baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    # Share of the benchmark's train split used for training (stratified, fixed subset); None = all of it.
    train_fraction: Mapped[float | None] = mapped_column(Float)
    # Moderation: hidden entries leave the boards; flagged ones stay with the public reason shown.
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    flag_reason: Mapped[str | None] = mapped_column(Text)
    # What the spec is, beyond its hash: the function it builds (same parameters and outputs on a fixed input:
    # two specs that differ only in fields the model ignores share it) and its lineage (the spec without its
    # size fields, and those sizes: near-variants are tries of one idea).
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    lineage_key: Mapped[str | None] = mapped_column(String(64), index=True)
    size_vector: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Everything a forward pass does, not only MACs, and the projected training seconds per image it implies;
    # deploy-time params/MACs for re-parameterisable families (RepVGG, RepMLP).
    other_ops: Mapped[int | None] = mapped_column(BigInteger)
    activation_bytes: Mapped[int | None] = mapped_column(BigInteger)
    train_s_per_image: Mapped[float | None] = mapped_column(Float)
    deploy_params: Mapped[int | None] = mapped_column(BigInteger)
    deploy_macs: Mapped[int | None] = mapped_column(BigInteger)
    # The study this submission is a variant of; deleting a study leaves its submissions on the leaderboard.
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id", ondelete="SET NULL"), index=True)
    # Set on the live entry a user's submission created (app.submissions.repository.dedup_key): unique, so two
    # identical submissions at the same moment cannot both create an entry. Cleared when the entry is hidden or
    # deleted, so that the same spec can be submitted again.
    dedup_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # A soft delete: the entry leaves every board and list, but its row, runs and audit history stay.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    deleted_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(lazy="raise", foreign_keys=[user_id])
    # The entry's own runs (one per seed); its downstream runs (probe, fine-tune) are ``transfer_runs``.
    runs: Mapped[list[Run]] = relationship(
        back_populates="submission",
        lazy="raise",
        order_by="Run.seed",
        cascade="all, delete-orphan",
        primaryjoin="and_(Submission.id == Run.submission_id, Run.kind == 'upstream')",
    )
    transfer_runs: Mapped[list[Run]] = relationship(
        lazy="raise",
        order_by="(Run.task, Run.kind, Run.seed)",
        viewonly=True,
        primaryjoin="and_(Submission.id == Run.submission_id, Run.kind != 'upstream')",
    )


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("submission_id", "seed", "kind", "task"), NO_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    seed: Mapped[int] = mapped_column(Integer)
    # RunKind; a downstream run names its task (``app.benchmarks.downstream``) and the upstream run whose
    # weights it starts from.
    kind: Mapped[str] = mapped_column(String(16), default=RunKind.UPSTREAM, server_default=RunKind.UPSTREAM)
    task: Mapped[str] = mapped_column(String(64), default="", server_default="")
    parent_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    # Where the run's trained weights are in the weights store (a key under its URL, never a server path).
    weights_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    device: Mapped[str | None] = mapped_column(String(32))
    worker: Mapped[str | None] = mapped_column(String(128))
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Indexed: the fair order counts the runs that ended in the last hour.
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    epochs_total: Mapped[int | None] = mapped_column(Integer)
    epochs_done: Mapped[int] = mapped_column(Integer, default=0)
    train_loss: Mapped[float | None] = mapped_column(Float)
    train_acc: Mapped[float | None] = mapped_column(Float)
    val_loss: Mapped[float | None] = mapped_column(Float)
    val_acc: Mapped[float | None] = mapped_column(Float)
    test_loss: Mapped[float | None] = mapped_column(Float)
    test_acc: Mapped[float | None] = mapped_column(Float)
    test2_loss: Mapped[float | None] = mapped_column(Float)
    test2_acc: Mapped[float | None] = mapped_column(Float)
    # The private half of the test distribution: never shown per entry (public minus private measures tuning).
    test_private_loss: Mapped[float | None] = mapped_column(Float)
    test_private_acc: Mapped[float | None] = mapped_column(Float)
    # On a cue-conflict second test set: the fraction of predictions that name the texture's class.
    test2_texture_acc: Mapped[float | None] = mapped_column(Float)
    wall_seconds: Mapped[float | None] = mapped_column(Float)
    images_per_second: Mapped[float | None] = mapped_column(Float)
    # The run's projected seconds on the reference CPU (the spec's cost × train images × epochs), fixed when it
    # is queued: what fair scheduling, the queue's estimates and the quota reserve count it as.
    projected_seconds: Mapped[float | None] = mapped_column(Float)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    recipe_version: Mapped[str | None] = mapped_column(String(64))
    code_version: Mapped[str | None] = mapped_column(String(64))
    torch_version: Mapped[str | None] = mapped_column(String(64))

    submission: Mapped[Submission] = relationship(back_populates="runs", lazy="raise")
    epochs: Mapped[list[EpochMetric]] = relationship(
        back_populates="run", lazy="raise", order_by="EpochMetric.epoch", cascade="all, delete-orphan"
    )


class EpochMetric(Base):
    __tablename__ = "epoch_metrics"
    __table_args__ = (UniqueConstraint("run_id", "epoch"), NO_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    epoch: Mapped[int] = mapped_column(Integer)
    train_loss: Mapped[float] = mapped_column(Float)
    train_acc: Mapped[float] = mapped_column(Float)
    val_loss: Mapped[float] = mapped_column(Float)
    val_acc: Mapped[float] = mapped_column(Float)
    lr: Mapped[float] = mapped_column(Float)
    elapsed_s: Mapped[float] = mapped_column(Float)

    run: Mapped[Run] = relationship(back_populates="epochs", lazy="raise")


class NoiseReferenceRow(Base):
    """A benchmark's seed noise under one recipe version, measured on the platform's own reference entries and
    frozen once they are complete: no submitter's entry ever changes it."""

    __tablename__ = "noise_references"
    __table_args__ = (UniqueConstraint("benchmark", "recipe_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark: Mapped[str] = mapped_column(String(64))
    recipe_version: Mapped[str] = mapped_column(String(64))
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)
    entry_ids: Mapped[list[int]] = mapped_column(JSON)
    frozen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxMessage(Base):
    """A run to send to the broker, written in the same transaction as the change that queued it (the
    transactional outbox). The relay sends unsent rows and marks them sent; a row claimed by a relay that died
    is taken over once its lease ends."""

    __tablename__ = "outbox"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # Which relay holds the row, and until when (a lease: a relay that dies mid-send loses it).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class QuotaCharge(Base):
    """One run paid for from a user's daily run-seconds on a benchmark (a ledger row, never deleted): written
    with the projection when the run is queued at the user's cost, settled with the seconds it really used when
    it ends (0 for a failure the platform caused). Deleting the submission leaves it: it counts all the same."""

    __tablename__ = "quota_charges"
    __table_args__ = (Index("ix_quota_charges_user_benchmark_at", "user_id", "benchmark", "at"), NO_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    benchmark: Mapped[str] = mapped_column(String(64))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    projected_seconds: Mapped[float] = mapped_column(Float)
    # Set when the run ends: the seconds it used (its share of a batched run's wall time), 0 when refunded.
    seconds: Mapped[float | None] = mapped_column(Float)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(32))


class AuditEvent(Base):
    """Who did what to which object, and when: every owner/admin action on submissions, runs and tokens."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_kind", "target_id"), NO_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    target_kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship(lazy="raise")


class StoredBoard(Base):
    """A benchmark's board under one recipe version as last computed (``app.entries.stored``): its numbers in
    ``meta`` and its rows in ``board_entries``, replaced together; ``version`` counts the snapshots (0: none
    yet). A refresher holds ``lease_until`` while it recomputes, so one process at a time does."""

    __tablename__ = "boards"
    __table_args__ = (UniqueConstraint("benchmark", "recipe_version"), NO_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark: Mapped[str] = mapped_column(String(64))
    recipe_version: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    compute_seconds: Mapped[float | None] = mapped_column(Float)  # CPU seconds the computation took
    n_entries: Mapped[int] = mapped_column(Integer, default=0)
    meta: Mapped[str] = mapped_column(Text, default="{}")  # JSON text: noise reference, covers, level, groups
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64))


class BoardEntry(Base):
    """One row of a stored board: the entry as the API shows it (``data``, JSON text) and the columns the
    board's pages filter and sort on."""

    __tablename__ = "board_entries"
    __table_args__ = (Index("ix_board_entries_board_entry", "board_id", "entry_id"),)

    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True)
    # The board's own order: rank, then mean; entries still waiting for their first seed last.
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    family: Mapped[str] = mapped_column(String(32))
    mixer: Mapped[str | None] = mapped_column(String(32))
    params: Mapped[int] = mapped_column(BigInteger)
    macs: Mapped[int] = mapped_column(BigInteger)
    test_acc_mean: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    on_frontier: Mapped[bool] = mapped_column(Boolean, default=False)
    search: Mapped[str] = mapped_column(Text)  # lower-cased name, submitter, family and mixer
    data: Mapped[str] = mapped_column(Text)


class BoardMark(Base):
    """A change that affects a board (a run ended, an entry hidden, seeds added, a noise reference frozen),
    written in the same transaction as the change. Insert-only, so concurrent changes never wait on each other;
    the refresher deletes the marks it has taken into account."""

    __tablename__ = "board_marks"
    __table_args__ = (Index("ix_board_marks_board", "benchmark", "recipe_version"), NO_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark: Mapped[str] = mapped_column(String(64))
    recipe_version: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
