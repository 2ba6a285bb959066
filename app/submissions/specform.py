"""The submit form's per-family fields, derived from the pydantic JSON schema of the zoo's spec models, with a
starting spec for each family (the canonical form of its first preset). Pure: no web, database or queue code."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import TypeAdapter

from app.zoo.presets import PRESETS
from app.zoo.spec import ArchSpec, SpecError, canonical_spec, parse_spec


def _field(name: str, prop: dict[str, Any], required: bool) -> dict[str, Any]:
    field: dict[str, Any] = {
        "name": name,
        "title": prop.get("title", name),
        "description": prop.get("description", ""),
        "required": required,
        "default": prop.get("default"),
    }
    kind = prop.get("type")
    if "enum" in prop:
        field.update(kind="enum", options=prop["enum"])
    elif kind in ("integer", "number"):
        field.update(kind="int" if kind == "integer" else "number", min=prop.get("minimum"), max=prop.get("maximum"))
    elif kind == "boolean":
        field.update(kind="bool")
    elif kind == "array" and prop.get("items", {}).get("type") == "integer":
        items = prop["items"]
        field.update(
            kind="int_list", min=items.get("minimum"), max=items.get("maximum"), max_items=prop.get("maxItems")
        )
    else:
        field.update(kind="json")  # nested objects, unions, lists of stages: edited in the JSON box
    return field


@cache
def family_forms() -> dict[str, dict[str, Any]]:
    """``{family: {"description", "fields": [...], "example": canonical spec}}`` for every spec family."""
    schema = TypeAdapter(ArchSpec).json_schema()
    defs = schema["$defs"]
    examples: dict[str, dict[str, Any]] = {}
    for name in sorted(PRESETS, key=lambda n: ("digits" not in n, n)):  # small examples first
        try:
            canonical = canonical_spec(parse_spec({"preset": name}))
        except SpecError:
            continue
        examples.setdefault(str(canonical["family"]), canonical)
    forms: dict[str, dict[str, Any]] = {}
    for option in schema["oneOf"]:
        model = defs[option["$ref"].rsplit("/", 1)[1]]
        props = model["properties"]
        family = props["family"]["const"]
        required = set(model.get("required", []))
        fields = [_field(k, v, k in required) for k, v in props.items() if k != "family"]
        example = examples.get(family) or {"family": family}
        forms[family] = {"description": model.get("description", ""), "fields": fields, "example": example}
    return dict(sorted(forms.items()))
