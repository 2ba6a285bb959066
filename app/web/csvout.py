"""CSV for people's spreadsheets: one writer, and every user-written text guarded so that a spreadsheet never runs
it as a formula (a name like ``=HYPERLINK(...)`` is written as ``'=HYPERLINK(...)``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: object) -> object:
    """A text a spreadsheet will not run as a formula; numbers and other values are left alone."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_text(value) for value in row])
    return out.getvalue()
