"""The submit page's study form: its defaults, and its text fields turned into a ``StudyIn``. Pure."""

from __future__ import annotations

import json
from typing import Any

from app.core.errors import InputError
from app.studies.schemas import StudyIn
from app.submissions.specform import STUDY_DEFAULTS

DEFAULTS = STUDY_DEFAULTS


def parse_values(text: str, field: str) -> list[Any]:
    """A JSON list (``[{"kind": "attention", "heads": 2}, "dwconv"]``) or comma-separated words and numbers
    (``attention, dwconv`` · ``1, 2, 4`` · ``0.1, 0.3, 1``)."""
    text = text.strip()
    if text.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError.one([field], f"not a valid JSON list: {exc}") from None
        if not isinstance(data, list):
            raise InputError.one([field], "expected a list")
        return data
    return [_scalar(part.strip()) for part in text.split(",") if part.strip()]


def _scalar(word: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            pass
    return word


def study_from_form(form: dict[str, str]) -> StudyIn:
    """Raises InputError (a field that cannot be read) or pydantic's ValidationError (the model's rules)."""
    seeds = form["seeds"].strip()
    if seeds and not (seeds.isascii() and seeds.isdigit()):  # "²" passes isdigit() but not int()
        raise InputError.one(["seeds"], "seeds is a whole number, e.g. 3")
    return StudyIn(
        benchmark=form["benchmark"],
        name=form["name"].strip(),
        description=form.get("description", ""),
        base_spec={"preset": form["preset"], "overrides": {}},
        axis=form["axis"],  # type: ignore[arg-type]
        path=form.get("path", "").strip() or None,
        values=parse_values(form["values"], "values"),
        series=parse_values(form["series"], "series") if form["series"].strip() else None,
        match=form["match"] or None,  # type: ignore[arg-type]
        seeds=int(seeds) if seeds else None,
    )


FIELDS = ("name", "benchmark", "preset", "axis", "path", "values", "series", "match", "seeds")
ALIASES = {"base_spec": "preset", "bases": "preset"}


def field_errors(errors: list[dict[str, Any]]) -> dict[str, str]:
    """Errors keyed by the study form's field they concern (``"form"`` for the rest), one sentence each, so the
    page shows them beside the field: ``["body", "values", 1, "stages"]`` → ``"values"``."""
    out: dict[str, list[str]] = {}
    for error in errors:
        loc = [p for p in error.get("loc", []) if p != "body"]
        key = str(loc[0]) if loc else "form"
        key = ALIASES.get(key, key if key in FIELDS else "form")
        msg = str(error.get("msg", "")).removeprefix("Value error, ")
        out.setdefault(key, []).append(msg)
    return {key: "; ".join(msgs) + "." for key, msgs in out.items()}
