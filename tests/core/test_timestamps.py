"""Every timestamp in the API is one ISO 8601 format with its zone: UTC to the second, ``…T19:05:00Z``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.schemas import utc_second
from tests.moderation.test_moderation import submit
from tests.submissions.test_api import token_for

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_naive_and_zoned_values_become_utc_seconds() -> None:
    assert utc_second(datetime(2026, 1, 2, 3, 4, 5, 999)) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    paris = datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    assert utc_second(paris) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_api_timestamps_share_one_format(client: TestClient, sqlite_settings: Settings) -> None:
    sid = submit(client, token_for(sqlite_settings, "clock"))
    body = client.get(f"/api/v1/submissions/{sid}").json()
    stamps = [body["created_at"], *(r["queued_at"] for r in body["runs"])]
    stamps += [body["estimated_start"]] if body["estimated_start"] else []
    assert stamps and all(ISO.match(s) for s in stamps), stamps
    listed = client.get("/api/v1/submissions").json()
    assert all(ISO.match(s["created_at"]) for s in listed)
