"""The `archarena` command: demo, web, worker, migrate, reconcile, reap, token, user, flops, data, submit."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.core.config import get_settings

if TYPE_CHECKING:
    from app.core.queue.relay import RelayPass

WORKER_APP = "workers.celery_app"
cli = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
token_cli = typer.Typer(no_args_is_help=True, help="API tokens.")
data_cli = typer.Typer(no_args_is_help=True, help="Datasets from their official files: fetch or import.")
user_cli = typer.Typer(no_args_is_help=True, help="Users and their roles.")
cli.add_typer(token_cli, name="token")
cli.add_typer(user_cli, name="user")
cli.add_typer(data_cli, name="data")


def main() -> None:
    cli()


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    from app.core.db.migrate import upgrade
    from app.core.db.session import session_scope
    from app.submissions.service import backfill_identity

    settings = get_settings()
    settings.ensure_dirs()
    upgrade(settings.database_url)
    with session_scope(settings.database_url) as session:
        filled = backfill_identity(session)
    typer.echo(
        "database is at the latest schema" + (f"; lineage recorded for {filled} older entries" if filled else "")
    )


@cli.command()
def reconcile() -> None:
    """Send every queued run whose message the broker does not hold, and every unsent outbox row, now (the relays
    in the web processes and workers do this on their own within seconds)."""
    done = _send_queued()
    typer.echo(f"{done.resent_lost} queued runs were missing from the broker; sent {done.sent} messages")


@cli.command()
def reap() -> None:
    """Requeue running runs whose worker stopped sending heartbeats (ARCHARENA_DEAD_AFTER_S), or fail them as
    'crashed' after ARCHARENA_MAX_ATTEMPTS. Every worker also does this periodically."""
    from app.runs.recovery import reap as reap_runs

    reaped = reap_runs(get_settings())
    typer.echo(f"requeued {len(reaped.requeued)} runs; failed {len(reaped.failed)} as crashed")


def _send_queued() -> RelayPass:
    from app.runs.recovery import reconcile as reconcile_runs

    return reconcile_runs(get_settings())


@cli.command()
def web(
    host: str = "127.0.0.1",
    port: int = 8000,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            help="uvicorn worker processes. Quotas (a row lock) and the API rate limit (Redis) hold across "
            "processes; the SQLite demo wants 1.",
        ),
    ] = 1,
) -> None:
    """Serve the web app and the API."""
    import uvicorn

    from app.main import create_app

    settings = get_settings()
    _loopback_in_demo(settings.mode, host)
    try:
        _send_queued()  # messages lost while nothing ran (a broker restarted empty) are sent again
    except Exception as exc:  # a web app that cannot reach the database yet still starts; workers reconcile too
        typer.echo(f"reconcile at start-up failed: {exc}", err=True)
    # The app reads X-Forwarded-For itself, and only from ARCHARENA_TRUSTED_PROXIES: uvicorn's own reading
    # (which trusts 127.0.0.1 by default) would let any local caller choose its rate-limit address.
    options = {"host": host, "port": port, "log_level": "info", "proxy_headers": False}
    if processes == 1:
        uvicorn.run(create_app(settings), **options)  # type: ignore[arg-type]
    else:  # each process builds its own app from the same environment
        uvicorn.run("app.main:create_app", factory=True, workers=processes, **options)  # type: ignore[arg-type]


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _loopback_in_demo(mode: str, host: str) -> None:
    """The demo's defaults (anonymous submissions as 'demo', a secret kept in its home folder) are for one
    person on one machine: it listens on loopback only. A shared server runs in production mode."""
    if mode == "demo" and host not in LOOPBACK:
        raise typer.BadParameter(
            f"the demo listens on loopback only (127.0.0.1 or ::1), not {host!r}; to serve others, run in "
            "production mode (ARCHARENA_MODE=production with PostgreSQL, Redis and ARCHARENA_SECRET_KEY; see "
            "docker-compose.yml)"
        )


@cli.command()
def worker(
    name: Annotated[str, typer.Option(help="Worker node name (default: archarena@host-pid).")] = "",
    threads: Annotated[
        int,
        typer.Option(
            help="torch CPU threads per worker (0: torch's default). The small models of the built-in "
            "benchmarks train ~10-20x faster on one thread than on two contended ones: run one worker "
            "per core instead."
        ),
    ] = 1,
) -> None:
    """A Celery worker with the solo pool: one process trains one run at a time on one device."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if threads:
        import torch

        torch.set_num_threads(threads)
    # By module name: app/ never imports workers/ (the worker is the other side of the broker).
    celery = importlib.import_module(WORKER_APP).celery

    settings = get_settings()
    settings.ensure_dirs()
    node = name or f"archarena-{os.getpid()}@%h"
    celery.worker_main(
        [
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=INFO",
            "-Q",
            settings.queue,
            "-n",
            node,
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]
    )


@cli.command()
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[
        int,
        typer.Option(
            help="Worker processes (one run at a time each, one CPU thread each). Default: one per core, at most 2."
        ),
    ] = 0,
) -> None:
    """Everything on this machine: SQLite database, SQLite broker, a worker, baselines, the web app."""
    from app.core.db.session import session_scope
    from app.demo import seed_demo
    from app.runs.recovery import requeue_interrupted

    settings = get_settings()
    if settings.mode != "demo":
        raise typer.BadParameter("`archarena demo` runs in demo mode only (unset ARCHARENA_MODE)")
    _loopback_in_demo(settings.mode, host)
    migrate()
    with session_scope(settings.database_url) as session:
        created, studies = seed_demo(session, settings.max_epochs, settings.data_dir)
    interrupted = requeue_interrupted(settings)  # the last demo's workers were stopped mid-run
    # web() below sends every queued run to the broker at start-up, in the order they were created.
    typer.echo(
        f"baselines: {len(created)} new; studies: {len(studies)} new; {len(interrupted)} interrupted runs requeued"
    )
    workers = workers or max(1, min(2, os.cpu_count() or 1))
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--name", f"demo{i}@%h"], env=env, preexec_fn=die_with_parent
        )
        for i in range(workers)
    ]
    try:
        typer.echo(f"open http://{host}:{port}")
        web(host=host, port=port)
    finally:
        stop_now(procs)


def die_with_parent() -> None:
    """In a demo worker, before it starts: the kernel kills it the moment the demo process ends, however that
    happens (Ctrl-C, SIGTERM — uvicorn re-raises the signal after its shutdown, so no cleanup code of ours runs —
    or SIGKILL). Its run in progress is requeued at the next demo start. Linux only; elsewhere a no-op."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop_now(procs: list[subprocess.Popen[bytes]], grace_s: float = 5.0) -> None:
    """Stop the demo's workers at once: a cold shutdown (SIGQUIT) abandons the run in progress instead of
    finishing it (minutes); the next demo start puts such runs back in the queue. SIGKILL after ``grace_s``."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)
    deadline = time.monotonic() + grace_s
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@token_cli.command("create")
def token_create(
    user: Annotated[str, typer.Argument(help="User name (created if new).")],
    name: Annotated[str, typer.Option(help="A label for the token.")] = "cli",
) -> None:
    """Create an API token; it is printed once and stored only as a hash."""
    from app.core.db.session import session_scope
    from app.users.service import InvalidName, create_token

    settings = get_settings()
    try:
        with session_scope(settings.database_url) as session:
            token = create_token(session, user, name)
    except InvalidName as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(token)


@user_cli.command("admin")
def user_admin(
    user: Annotated[str, typer.Argument(help="User name (created if new).")],
    off: Annotated[bool, typer.Option("--off", help="Take the admin role away instead.")] = False,
) -> None:
    """Make a user an admin (hide, flag, re-run, ban tokens, read the audit log), or take it away with --off."""
    from app.core.db.session import session_scope
    from app.users.service import InvalidName, set_admin

    settings = get_settings()
    try:
        with session_scope(settings.database_url) as session:
            set_admin(session, user, not off)
    except InvalidName as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"{user} is {'no longer ' if off else ''}an admin")


@cli.command()
def flops(
    spec_file: Annotated[Path | None, typer.Argument(help="A spec as JSON.")] = None,
    preset: Annotated[str | None, typer.Option(help="A preset name instead of a file.")] = None,
    input: Annotated[str, typer.Option(help="Input shape CxHxW.")] = "3x224x224",
    classes: Annotated[int, typer.Option(help="Number of classes.")] = 1000,
) -> None:
    """Print params, MACs, FLOPs and the per-layer-type breakdown of a spec as JSON."""
    from app.zoo.measure import measure
    from app.zoo.spec import SpecError, parse_spec

    if (spec_file is None) == (preset is None):
        raise typer.BadParameter("give a SPEC.json file or --preset NAME (one of them)")
    raw = {"preset": preset, "overrides": {}} if preset else json.loads(Path(str(spec_file)).read_text())
    try:
        shape = tuple(int(p) for p in input.lower().split("x"))
        if len(shape) != 3:
            raise ValueError
    except ValueError:
        raise typer.BadParameter(f"--input must look like 3x224x224, got {input!r}") from None
    try:
        m = measure(parse_spec(raw), (shape[0], shape[1], shape[2]), classes)
    except SpecError as exc:
        typer.echo(json.dumps({"errors": exc.errors}, indent=2), err=True)
        raise typer.Exit(2) from None
    out = {"params": m.params, "macs": m.macs, "flops": m.flops, "breakdown": m.breakdown}
    typer.echo(json.dumps(out, indent=2))


@data_cli.command("fetch")
def data_fetch(
    name: Annotated[str, typer.Argument(help="mnist, fashion_mnist, cifar10, cifar100, svhn, …")],
    base_url: Annotated[str | None, typer.Option(help="A mirror to fetch from instead.")] = None,
) -> None:
    """Download a dataset's official files into ARCHARENA_DATA_DIR and check their published checksums."""
    from app.benchmarks.fetch import fetch

    settings = get_settings()
    settings.ensure_dirs()

    def progress(file: str, done: int, total: int | None) -> None:
        typer.echo(f"\r{file}: {done / 1e6:.1f} MB" + (f" of {total / 1e6:.1f} MB" if total else ""), nl=False)

    paths = fetch(name, settings.data_dir, base_url=base_url, progress=progress)
    typer.echo("")
    for path in paths:
        typer.echo(f"ok {path}")


@data_cli.command("import")
def data_import(
    name: Annotated[str, typer.Argument(help="fashion_mnist")],
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="A directory holding the four official IDX files (gz or not); default: the directory of "
            "Debian's dataset-fashion-mnist package.",
        ),
    ] = None,
) -> None:
    """Verify a dataset's official files found on this machine and register them in ARCHARENA_DATA_DIR."""
    from app.benchmarks.errors import DataUnavailable
    from app.benchmarks.importer import import_dataset

    settings = get_settings()
    settings.ensure_dirs()
    try:
        result = import_dataset(name, settings.data_dir, source)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from None
    except DataUnavailable as exc:
        typer.echo(exc.operator_hint, err=True)
        raise typer.Exit(1) from None
    for f in result.files:
        typer.echo(f"ok {f.path} ({f.count:,} items, decompressed sha256 {f.sha256})")


@cli.command()
def submit(
    spec_file: Annotated[Path, typer.Argument(help="A spec as JSON.")],
    name: Annotated[str, typer.Option(help="The entry's name.")],
    benchmark: str = "digits",
    url: str = "http://127.0.0.1:8000",
    token: Annotated[str, typer.Option(envvar="ARCHARENA_TOKEN", help="API token.")] = "",
) -> None:
    """Submit a spec through the REST API and print the submission's URL."""
    import httpx

    body = {"benchmark": benchmark, "name": name, "spec": json.loads(spec_file.read_text())}
    res = httpx.post(f"{url}/api/v1/submissions", json=body, headers={"Authorization": f"Bearer {token}"})
    if res.status_code not in (200, 201):
        typer.echo(f"{res.status_code}: {res.text}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{url}{res.json()['url']}")


if __name__ == "__main__":
    main()
