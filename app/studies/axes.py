"""A study axis that is any numeric field of a spec, addressed by path (``"stages.*.depth"``, ``"layers.*"``,
``"width"``): which field it is, whether a value is inside that field's limits, and the spec with it set. Pure
(no database, no measuring); errors are 422s (``InputError``) whose ``loc`` the caller places.

``*`` sets every element of a list (every stage's depth at once). The field's own limits come from the spec
models (``app.zoo.fields``), so they cannot drift from validation; the benchmark's limits (depth, MACs, …) are
checked afterwards, when the variant is measured."""

from __future__ import annotations

import re
from typing import Any

from app.core.errors import InputError
from app.zoo.fields import SpecField, field_for, numeric_paths, set_path
from app.zoo.spec import ArchSpec, SpecError, canonical_spec

DEPTH_PATHS: dict[str, str] = {
    "metaformer": "stages.*.depth",
    "plain": "stages.*.depth",
    "repmlp": "stages.*.depth",
    "resnet": "layers.*",
    "repvgg": "layers.*",
    "densenet": "blocks.*",
    "convmixer": "depth",
}
"""What the ``depth`` axis sets in each family: the blocks (or layers) of every stage."""

Loc = list[str | int]


def depth_path(family: str) -> str:
    return DEPTH_PATHS[family]


def patterns(spec: ArchSpec) -> list[str]:
    """The spec's numeric fields, list indices written ``*`` (``stages.*.depth``), in order, once each."""
    return list(dict.fromkeys(re.sub(r"(?<=\.)\d+(?=\.|$)", "*", p) for p in numeric_paths(spec)))


def _allowed(spec: ArchSpec) -> str:
    return ", ".join(patterns(spec))


def numeric_field(spec: ArchSpec, path: str, loc: Loc) -> SpecField:
    """The field at ``path`` (``*`` read as the first element); a 422 at ``loc`` when the spec has no such field
    or it is not a number, listing the numeric fields it has."""
    concrete = path.replace("*", "0")
    try:
        found = field_for(spec, concrete)
    except SpecError:
        raise InputError.one(
            loc, f"a {spec.family} spec has no field {path!r}; its numeric fields are: {_allowed(spec)}"
        ) from None
    if found.type not in ("int", "float"):
        raise InputError.one(
            loc,
            f"{path!r} is a {found.type} field, not a number; a study varies a numeric field, one of: {_allowed(spec)}",
        )
    return found


def _bounds(field: SpecField) -> str:
    low = "" if field.min is None else f"{field.min:g} {'<' if field.exclusive_min else '≤'} "
    high = "" if field.max is None else f" {'<' if field.exclusive_max else '≤'} {field.max:g}"
    return f"{low}value{high}"


def _outside(field: SpecField, value: float) -> bool:
    if field.min is not None and (value <= field.min if field.exclusive_min else value < field.min):
        return True
    return field.max is not None and (value >= field.max if field.exclusive_max else value > field.max)


def check_value(field: SpecField, path: str, value: Any, loc: Loc) -> None:
    """A 422 at ``loc`` naming the value and the field's limit when ``value`` cannot go into the field."""
    kind = "an integer" if field.type == "int" else "a number"
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or (field.type == "int" and not isinstance(value, int)):
        raise InputError.one(loc, f"{path} takes {kind} ({field.description}); got {value!r}", "int_type")
    if _outside(field, value):
        raise InputError.one(
            loc,
            f"{path} = {value:g} is outside this field's limits ({_bounds(field)}: {field.description})",
            "limit",
            value=value,
            min=field.min,
            max=field.max,
        )
    if field.odd and value % 2 == 0:
        raise InputError.one(loc, f"{path} = {value} must be odd", "odd")


def apply_path(spec: ArchSpec, path: str, value: Any, loc: Loc) -> dict[str, Any]:
    """The canonical spec with ``path`` set to ``value`` after the field's own checks; another rule the new
    value breaks (a width that its heads do not divide, …) is a 422 at ``loc`` too."""
    check_value(numeric_field(spec, path, loc), path, value, loc)
    try:
        return canonical_spec(set_path(spec, path, value))
    except SpecError as exc:
        msgs = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors)
        raise InputError.one(loc, f"{path} = {value}: {msgs}") from None
