"""Safe, stable actions for a person in a browser: delete asks first and then says what it did; re-running
everything is never the default; the add-seeds form is bounded by the benchmark's maximum, and the server says
why when it is exceeded anyway."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from tests.accounts.test_accounts import csrf, sign_up
from tests.moderation.test_moderation import fail_runs, submit
from tests.submissions.test_api import token_for


def _owner(client: TestClient, settings: Settings) -> int:
    sign_up(client, "alice")
    return submit(client, token_for(settings, "alice"))


def test_delete_asks_first_then_says_what_happened(client: TestClient, sqlite_settings: Settings) -> None:
    sid = _owner(client, sqlite_settings)
    page = client.get(f"/submissions/{sid}").text
    assert f'href="/submissions/{sid}/delete"' in page and 'id="delete-form"' not in page  # no one-click delete
    confirm = client.get(f"/submissions/{sid}/delete")
    assert confirm.status_code == 200 and "cancels its 2 unfinished runs" in confirm.text
    assert client.get(f"/api/v1/submissions/{sid}").status_code == 200  # asking deleted nothing
    token = csrf(client, f"/submissions/{sid}/delete")
    res = client.post(f"/submissions/{sid}/delete", data={"csrf_token": token, "reason": "typo"})
    assert res.status_code == 200 and str(res.url).endswith(f"/submissions/{sid}/deleted")
    assert "was deleted" in res.text and "2 unfinished runs were cancelled" in res.text and "typo" in res.text
    assert client.get(f"/api/v1/submissions/{sid}").status_code == 404
    link = client.get(f"/submissions/{sid}", follow_redirects=False)  # an old link still says what happened
    assert link.status_code == 303 and link.headers["location"] == f"/submissions/{sid}/deleted"


def test_only_the_owner_gets_the_delete_step(client: TestClient, sqlite_settings: Settings) -> None:
    sid = submit(client, token_for(sqlite_settings, "alice"))
    res = client.get(f"/submissions/{sid}/delete", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == f"/login?next=/submissions/{sid}/delete"
    sign_up(client, "mallory")
    assert client.get(f"/submissions/{sid}/delete").status_code == 403
    assert (
        client.get(f"/submissions/{sid}/deleted", follow_redirects=False).headers["location"] == f"/submissions/{sid}"
    )


def test_rerun_all_is_never_preselected(client: TestClient, sqlite_settings: Settings) -> None:
    sid = _owner(client, sqlite_settings)
    form = re.search(r'<form [^>]*id="rerun-form".*?</form>', client.get(f"/submissions/{sid}").text, re.S)
    assert form and "checked" not in form.group(0) and "required" in form.group(0)  # nothing failed: tick to confirm
    fail_runs(sqlite_settings, sid)
    form = re.search(r'<form [^>]*id="rerun-form".*?</form>', client.get(f"/submissions/{sid}").text, re.S)
    assert form and "checked" not in form.group(0) and "Re-run failed runs" in form.group(0)


def test_add_seeds_is_bounded_by_the_benchmark(client: TestClient, sqlite_settings: Settings) -> None:
    sid = _owner(client, sqlite_settings)
    most = get_benchmark("digits").max_seeds
    page = client.get(f"/submissions/{sid}").text
    assert f'name="seeds" type="number" min="1" max="{most - 2}"' in page
    token = csrf(client, f"/submissions/{sid}")
    res = client.post(f"/submissions/{sid}/seeds", data={"seeds": str(most), "csrf_token": token})
    assert res.status_code == 422 and f"maximum of {most} seeds (at most {most - 2} can be added)" in res.text
