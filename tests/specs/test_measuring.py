"""Specs measured in the app's pool of spawned processes: the same numbers and the same 422s as in-process, and a
pool whose child was killed recovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from app.specs import measuring
from app.zoo.measure import measure
from app.zoo.spec import parse_spec
from tests.e2e.stack import wait_for
from tests.submissions.test_api import TINY


def test_the_pool_measures_like_the_process_and_survives_a_killed_child(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"measure_processes": 1})
    body = {"benchmark": "digits", "spec": {"preset": "tiny_resnet_digits", "overrides": {"stem_width": 12}}}
    with TestClient(create_app(settings)) as client:
        res = client.post("/api/v1/specs/validate", json=body)
        assert res.status_code == 200, res.text
        expected = measure(parse_spec(body["spec"]), (1, 8, 8), 10)
        assert (res.json()["params"], res.json()["macs"]) == (expected.params, expected.macs)
        bad = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": {"family": "resnet", "x": 1}})
        assert bad.status_code == 422 and "x" in bad.text

        pool = measuring._get_pool()
        assert pool is not None
        for pid in list(pool._processes):  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
        again = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": TINY})
        assert again.status_code == 200  # measured in the request's thread this once
        assert measuring._get_pool() is not pool  # a fresh pool for the next one
    assert measuring._pool is None and measuring._get_pool() is None  # shut down with the app


PARENT = """
import sys
from app.specs import measuring
measuring.configure(2)
measuring.start()
print(" ".join(str(pid) for pid in measuring._get_pool()._processes), flush=True)
sys.stdin.read()  # until the test kills this process
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for its (new) parent to reap it counts as gone
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_measuring_processes_leave_when_the_web_process_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        children = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(children) == 2 and all(_alive(pid) for pid in children)
        parent.kill()  # no shutdown, no atexit: as when the OOM killer or kill -9 ends a web process
        parent.wait()
        wait_for(lambda: not any(_alive(pid) for pid in children), 20, "the orphaned measuring processes to exit")
    finally:
        if parent.poll() is None:
            parent.kill()
