"""CSV for people's spreadsheets: one writer, and every user-written text guarded so that a spreadsheet never runs
it as a formula (a name like ``=HYPERLINK(...)`` is written as ``'=HYPERLINK(...)``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

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


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]], chunk: int = 500) -> Iterator[str]:
    """``to_csv`` a chunk of rows at a time, for a streamed response: the header, then ``chunk`` rows per piece."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for i, row in enumerate(rows, start=1):
        writer.writerow([safe_text(value) for value in row])
        if i % chunk == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
