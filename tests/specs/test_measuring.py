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
        # Never measured in the request's thread (unbounded, no time limit): busy this once, a fresh pool next.
        assert again.status_code == 503 and int(again.headers["retry-after"]) >= 1, again.text
        assert measuring._get_pool() is not pool
        assert client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": TINY}).status_code == 200
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


def _wide(width: int) -> dict[str, object]:
    """A spec no earlier test measured (measurements are cached by spec)."""
    return {"preset": "tiny_vit_digits", "overrides": {"stages": [{"depth": 2, "width": width, "mixer": "pooling"}]}}


def test_a_spec_over_the_time_limit_is_a_422_naming_it_and_the_pool_lives_on(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"measure_processes": 1, "measure_timeout_s": 0.001})
    with TestClient(create_app(settings)) as client:
        res = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": _wide(40)})
        assert res.status_code == 422, res.text
        error = res.json()["detail"][0]
        assert error["loc"] == ["body", "spec"] and error["type"] == "measure_timeout"
        assert "0.001 s" in error["msg"]
        pool = measuring._get_pool()
        measuring.configure(1, timeout_s=30)  # the same app, a sane limit: the next spec is measured
        assert client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": _wide(44)}).status_code == 200
        assert pool is not None


def test_a_full_measuring_pool_answers_503_with_retry_after_at_once(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"measure_concurrency": 1})
    with TestClient(create_app(settings)) as client:
        assert measuring.limits()[2] == 1
        assert measuring._slots.acquire(blocking=False)  # another request is measuring
        try:
            res = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": _wide(48)})
            assert res.status_code == 503 and res.headers["retry-after"] == str(measuring.RETRY_AFTER_S)
            assert "busy" in res.json()["detail"]
        finally:
            measuring._slots.release()
        assert client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": _wide(48)}).status_code == 200


def test_cheap_checks_refuse_a_huge_spec_before_it_takes_a_slot(sqlite_settings: Settings) -> None:
    huge = {
        "family": "metaformer",
        "stem": {"kind": "patch", "patch_size": 1},
        "stages": [{"depth": 64, "width": 512, "mixer": {"kind": "pooling", "pool_size": 31}}],
    }
    settings = sqlite_settings.model_copy(update={"measure_concurrency": 1})
    with TestClient(create_app(settings)) as client:
        assert measuring._slots.acquire(blocking=False)  # the pool is full, yet the answer is an immediate 422
        try:
            res = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": huge})
        finally:
            measuring._slots.release()
    assert res.status_code == 422, res.text
    fields = {e["loc"][-1] for e in res.json()["detail"]}
    assert {"params", "macs", "run_seconds"} <= fields, res.json()  # depth 64 and width 512 are within the limits
    assert "depth" not in fields and "width" not in fields


def test_anonymous_callers_share_half_of_the_slots(sqlite_settings: Settings) -> None:
    from tests.submissions.test_api import token_for

    settings = sqlite_settings.model_copy(update={"measure_concurrency": 2})
    with TestClient(create_app(settings)) as client:
        token = token_for(settings, "signed-in")
        assert measuring._anonymous_slots.acquire(blocking=False)  # an anonymous flood holds its share
        try:
            res = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": _wide(52)})
            assert res.status_code == 503 and "API token" in res.json()["detail"]
            mine = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": _wide(52)}, headers=token)
            assert mine.status_code == 200, mine.text
        finally:
            measuring._anonymous_slots.release()


def test_a_study_with_too_many_seeds_is_refused_before_any_planning(sqlite_settings: Settings) -> None:
    from tests.submissions.test_api import token_for

    settings = sqlite_settings.model_copy(update={"measure_concurrency": 1})
    study = {
        "name": "eleven",
        "benchmark": "digits",
        "base_spec": {"preset": "tiny_vit_digits", "overrides": {}},
        "axis": "mixer",
        "values": ["pooling", "identity"],
        "match": "macs",
        "seeds": 11,
    }
    with TestClient(create_app(settings)) as client:
        token = token_for(settings, "planner")
        assert measuring._slots.acquire(blocking=False)  # planning would need a slot: it never asks for one
        try:
            res = client.post("/api/v1/studies", json=study, headers=token)
        finally:
            measuring._slots.release()
    assert res.status_code == 422 and "maximum of 10" in res.text, res.text
