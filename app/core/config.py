"""One Settings object, read from the environment (prefix ARCHARENA_) and validated at start."""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEMO_SECRET = "demo-secret-change-me"
DEFAULT_HOME = Path("var")
MIN_SECRET_BYTES = 32
SECRET_FILE = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARCHARENA_", extra="ignore")

    mode: Literal["demo", "production"] = "demo"
    home: Path = Field(default=DEFAULT_HOME, description="Folder for the demo's SQLite files.")
    database_url: str = ""
    broker_url: str = ""
    data_dir: Path = Field(default=DEFAULT_HOME / "data")
    secret_key: str = DEMO_SECRET
    device: str = "auto"
    queue: str = "train"
    # Caps the recipe's epochs (tests and quick local trials). Capped runs carry a recipe-version suffix,
    # so they never mix with full-recipe results on the leaderboard.
    max_epochs: int | None = Field(default=None, ge=1)
    # Soft limit < hard limit < broker visibility timeout: a run is stopped before its message is redelivered.
    run_soft_time_limit_s: int = Field(default=3600, ge=10)
    run_hard_time_limit_s: int = Field(default=3900, ge=20)
    broker_visibility_timeout_s: int = Field(default=4200, ge=30)
    max_attempts: int = Field(default=3, ge=1, le=20)
    # POSTs and DELETEs a minute per user (however many tokens they hold) or, without a valid token or session,
    # per client address, before 429; shared through Redis with a redis:// broker.
    rate_limit_per_minute: int = Field(default=60, ge=1)
    # Sign-ups a client address may make an hour, and sign-up / log-in attempts it may make a minute (a name's
    # failed log-ins also back off: 2, 4, 8, … s after the first five).
    signups_per_hour: int = Field(default=5, ge=1)
    auth_attempts_per_minute: int = Field(default=20, ge=1)
    # Addresses (or networks, CIDR) of reverse proxies whose X-Forwarded-For is believed; empty: none, the
    # client address is the TCP peer's. Comma-separated or a JSON list, e.g. "10.0.0.0/8,127.0.0.1".
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Processes that measure new specs (params/MACs) off the web process's GIL; 0 measures in the request thread.
    measure_processes: int = Field(default=2, ge=0, le=32)
    # One spec's measurement is stopped after this long (a 422 names the limit); at most measure_concurrency
    # measurements are in flight or waiting per web process, and a request beyond that gets 503 + Retry-After.
    measure_timeout_s: float = Field(default=10.0, gt=0, le=300)
    measure_concurrency: int | None = Field(default=None, ge=1, le=256)
    # The outbox relay (in every web process and worker): a pass this often (and at once after a commit that
    # queued runs); a queued run whose message the broker no longer holds this long after it was sent is
    # sent again.
    relay_interval_s: float = Field(default=1.0, gt=0, le=60)
    relay_in_web: bool = True
    resend_after_s: float = Field(default=5.0, gt=0, le=3600)
    # Liveness: a worker touches runs.heartbeat_at every heartbeat_s while a run trains (and after every
    # epoch); a running run whose heartbeat is older than dead_after_s (default 3 x heartbeat_s) belongs to a
    # worker that died, and the reaper (in every worker, every reap_interval_s, and `archarena reap`) puts it
    # back in the queue, or fails it as 'crashed' after max_attempts.
    heartbeat_s: float = Field(default=10.0, gt=0, le=600)
    dead_after_s: float | None = Field(default=None, gt=0)
    reap_interval_s: float | None = Field(default=None, gt=0)
    # Seeds trained as one batched model: a worker that claims a run whose spec can be batched on its device, with
    # its memory budget (MiB; None: no budget on CPU, 90% of the free device memory on CUDA — set it when several
    # workers share a GPU), claims the queued seeds of that submission that fit with it. batch_on_cpu forces
    # batching on CPU, where one by one measured faster (tests use it).
    batch_seeds: bool = True
    batch_on_cpu: bool = False
    worker_memory_mb: int | None = Field(default=None, ge=1)
    # Where every run's trained weights go (safetensors): a local folder (default: <data dir>/weights) or
    # s3://bucket/prefix; the endpoint of an S3-speaking server other than AWS (MinIO), if any.
    weights_url: str = ""
    weights_s3_endpoint: str | None = None
    # Queue the downstream runs (linear probe, fine-tune) of a benchmark's downstream tasks when one of its runs
    # finishes with stored weights.
    transfer_runs: bool = True

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"ARCHARENA_TRUSTED_PROXIES: {item!r} is not an IP address or network") from None
        return value

    @model_validator(mode="after")
    def _fill_and_check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.home / 'archarena.sqlite3').resolve()}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{(self.home / 'broker.sqlite3').resolve()}"
        if not self.weights_url:
            self.weights_url = str((self.data_dir / "weights").resolve())
        self._check_secret()
        if self.measure_concurrency is None:
            self.measure_concurrency = 2 * max(1, self.measure_processes)
        if not (self.run_soft_time_limit_s < self.run_hard_time_limit_s < self.broker_visibility_timeout_s):
            raise ValueError("time limits must satisfy soft < hard < broker visibility timeout")
        if self.dead_after_s is None:
            self.dead_after_s = 3 * self.heartbeat_s
        if self.reap_interval_s is None:
            self.reap_interval_s = self.heartbeat_s
        if self.dead_after_s < 2 * self.heartbeat_s:
            raise ValueError(
                "ARCHARENA_DEAD_AFTER_S must be at least twice ARCHARENA_HEARTBEAT_S, "
                "or a live worker with one late heartbeat is taken for dead"
            )
        return self

    def _check_secret(self) -> None:
        if self.mode == "demo":
            if self.secret_key == DEMO_SECRET:  # not set: this home's own random secret, made once
                self.secret_key = demo_secret(self.home)
            return
        if self.secret_key == DEMO_SECRET or len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"ARCHARENA_SECRET_KEY must be a private value of at least {MIN_SECRET_BYTES} bytes outside the demo "
                "(ARCHARENA_MODE=production); generate one with: "
                "python -c 'import secrets; print(secrets.token_hex(32))'"
            )

    @property
    def dead_after(self) -> float:
        """The heartbeat age after which a running run's worker counts as dead (filled at validation)."""
        assert self.dead_after_s is not None
        return self.dead_after_s

    @property
    def reap_interval(self) -> float:
        assert self.reap_interval_s is not None
        return self.reap_interval_s

    def ensure_dirs(self) -> None:
        if self.database_url.startswith("sqlite:///") or self.broker_url.startswith("sqla+sqlite:///"):
            self.home.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)


def demo_secret(home: Path) -> str:
    """The demo's secret: random, made once per home and kept in ``HOME/secret_key`` (mode 0600), so that no two
    demos share one and nobody can forge what a demo signs. Several processes may start at once on a fresh home:
    the file appears complete or not at all (written aside, then linked into place)."""
    path = home / SECRET_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        draft = home / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)  # fails if another process got there first: theirs is kept
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
