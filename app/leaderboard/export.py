"""Leaderboard rows as a filtered view and as CSV. Pure: entries in, rows or text out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.entries.entry import Entry
from app.web.csvout import to_csv

CSV_COLUMNS = [
    "rank", "rank_low", "rank_high", "id", "name", "user", "family", "mixer", "params", "macs", "flops", "status",
    "seeds_requested",
    "seeds_finished", "test_acc_mean", "test_acc_std", "test_acc_ci_low", "test_acc_ci_high", "test2_acc_mean",
    "gap", "on_frontier", "lineage_id", "lineage_tries", "is_baseline", "created_at", "url",
]  # fmt: skip


def matches(entry: Entry, family: str | None = None, mixer: str | None = None) -> bool:
    """The server's half of the leaderboard filters (the page's script applies the rest)."""
    return (not family or entry.family == family) and (not mixer or (entry.mixer or "") == mixer)


def filter_entries(entries: Iterable[Entry], family: str | None = None, mixer: str | None = None) -> list[Entry]:
    return [e for e in entries if matches(e, family, mixer)]


def entries_csv(entries: Sequence[Entry]) -> str:
    return to_csv(CSV_COLUMNS, (csv_row(e) for e in entries))


def csv_row(e: Entry) -> list[object]:
    return csv_values(e.to_dict())


def csv_values(e: Mapping[str, Any]) -> list[object]:
    """One CSV row from an entry in its API shape (a stored board's row as it is: no Entry to build)."""
    low, high = e["test_acc_ci"] or (None, None)
    return [
        e["rank"], e["rank_low"], e["rank_high"], e["id"], e["name"], e["user"], e["family"], e["mixer"] or "",
        e["params"], e["macs"], e["flops"], e["status"], e["seeds_requested"], e["n"], e["test_acc_mean"],
        e["test_acc_std"], low, high, e["test2_acc_mean"], e["gap"], e["on_frontier"], e["lineage_id"],
        e["lineage_tries"], e["is_baseline"], e["created_at"], e["url"],
    ]  # fmt: skip
