"""The real stack in subprocesses: `archarena web` and `archarena worker`, configured by environment
variables exactly as a user would, with readiness checked by polling (never by sleeping a guessed time)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from app.core.config import Settings

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.25) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class Stack:
    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = {
            **os.environ,
            "ARCHARENA_HOME": str(home),
            "ARCHARENA_DATA_DIR": str(home / "data"),
            "OMP_NUM_THREADS": "1",
            "ARCHARENA_TRANSFER_RUNS": "0",  # downstream runs only where a test asks for them
            **env,
        }
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.base_url = ""

    def settings(self) -> Settings:
        """The Settings the stack's processes read from their environment."""
        values = {k.removeprefix("ARCHARENA_").lower(): v for k, v in self.env.items() if k.startswith("ARCHARENA_")}
        return Settings(**values)  # type: ignore[arg-type]

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *args], env=self.env, capture_output=True, check=False, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"archarena {' '.join(args)} failed:\n{done.stderr.decode()[-3000:]}")
        return done.stdout.decode()

    def _spawn(self, label: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.home / f"{label}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", *args], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.procs.append((proc, log))
        return proc

    def start_worker(self, label: str = "worker") -> subprocess.Popen[bytes]:
        return self._spawn(label, "worker", "--name", f"{label}-{os.getpid()}@%h")

    def start_web(self, *options: str) -> str:
        port = free_port()
        proc = self._spawn("web", "web", "--port", str(port), *options)
        self.base_url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"web exited early:\n{self.logs()}")
            try:
                return httpx.get(f"{self.base_url}/api/v1/benchmarks", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, 60, "the web app to answer")
        return self.base_url

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for _, log in self.procs)

    def stop(self) -> None:
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def poll_submission(base_url: str, submission_id: int, timeout: float, stack: Stack) -> dict[str, object]:
    def finished() -> dict[str, object] | None:
        body = httpx.get(f"{base_url}/api/v1/submissions/{submission_id}", timeout=5).json()
        return body if body["status"] in ("finished", "failed") else None

    try:
        return wait_for(finished, timeout, f"submission {submission_id} to finish", interval=0.5)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}\n{stack.logs()}") from None


@contextmanager
def migrated_stack(home: Path, env: dict[str, str]) -> Iterator[Stack]:
    """A Stack on a migrated database, with a broker queue of its own unless ``env`` names one; every process
    it started is stopped on exit."""
    stack = Stack(home, {"ARCHARENA_QUEUE": f"test-{secrets.token_hex(3)}", **env})
    try:
        stack.cli("migrate")
        yield stack
    finally:
        stack.stop()


def collect_page_errors(page: Any) -> list[str]:
    """The page's script errors, console errors (CSP violations are among them) and failed responses, as they
    happen; the browser's own favicon request is the one 404 to ignore."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console", lambda msg: errors.append(msg.text) if msg.type == "error" and "resource" not in msg.text else None
    )
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None,
    )
    return errors
