"""Every field of every spec family, addressed by path, with its type, limits and a plain-words description.

For forms and generic studies: ``spec_fields(family)`` lists the fields of a family (derived from the pydantic
models' JSON schema, so it cannot drift from validation), each token mixer's and stem's own fields included
(``when`` says which variant a field belongs to). Paths join keys and list indices with dots: ``"width"``,
``"stages.0.depth"``, ``"stages.1.mixer.heads"``, ``"layers.2"``; in ``spec_fields`` a list index is ``*``.

``numeric_paths``/``get_path``/``set_path``/``field_for`` let a study vary any numeric field of any spec
within that field's limits (``set_path`` also takes ``*`` to set every stage at once, e.g. the depth of all
stages of a plain net).
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter

from app.zoo import spec as spec_module
from app.zoo.spec import FAMILIES, ArchSpec, SpecError, canonical_spec, parse_spec


@dataclass(frozen=True)
class SpecField:
    """One field of a family's spec.

    ``type``: ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``), ``list`` (of the fields under
    ``path.*``) or ``object`` (of the fields under ``path.``). ``min``/``max`` bound numbers (exclusive when
    ``exclusive_min``/``exclusive_max``); ``min_items``/``max_items`` bound lists. ``nullable``: ``null`` is
    allowed too (it means "none" or "automatic", as the description says). ``when``: the field exists only
    when the given discriminator fields have these values (``{"stages.*.mixer.kind": "attention"}``).
    """

    path: str
    type: str
    description: str
    default: Any = None
    required: bool = False
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    odd: bool = False
    choices: tuple[Any, ...] | None = None
    min_items: int | None = None
    max_items: int | None = None
    when: dict[str, str] = field(default_factory=dict)


def _model(defs_name: str) -> type[BaseModel]:
    model = getattr(spec_module, defs_name)
    assert isinstance(model, type) and issubclass(model, BaseModel)
    return model


def _ref_name(node: dict[str, Any]) -> str | None:
    ref = node.get("$ref")
    return ref.rsplit("/", 1)[1] if isinstance(ref, str) else None


def _default(model: type[BaseModel], name: str, prop: dict[str, Any]) -> Any:
    if "default" in prop:
        return prop["default"]
    info = model.model_fields.get(name) or next((f for f in model.model_fields.values() if f.alias == name), None)
    if info is None or info.is_required():
        return None
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value


class _Walker:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.out: list[SpecField] = []

    def model(self, name: str, prefix: str, when: dict[str, str], skip: str | None = None) -> None:
        node, model = self.defs[name], _model(name)
        required = set(node.get("required", []))
        for key, prop in node["properties"].items():
            if key == skip or "const" in prop:
                continue
            self.prop(prop, prefix + key, key in required, when, _default(model, key, prop))

    def prop(self, prop: dict[str, Any], path: str, required: bool, when: dict[str, str], default: Any) -> None:
        desc = prop.get("description", "")
        base = {"path": path, "description": desc, "default": default, "required": required, "when": when}
        if (ref := _ref_name(prop)) is not None:
            self.out.append(SpecField(type="object", **base))
            self.model(ref, path + ".", when)
        elif "oneOf" in prop:
            self.variants(prop, path, base, when)
        elif prop.get("type") == "array":
            self.out.append(
                SpecField(type="list", min_items=prop.get("minItems"), max_items=prop.get("maxItems"), **base)
            )
            items = prop["items"]
            if (ref := _ref_name(items)) is not None:
                self.model(ref, path + ".*.", when)
            else:
                self.out.append(self.scalar(items, {**base, "path": path + ".*", "default": None}))
        else:
            self.out.append(self.scalar(prop, base))

    def variants(self, prop: dict[str, Any], path: str, base: dict[str, Any], when: dict[str, str]) -> None:
        tag = prop["discriminator"]["propertyName"]
        mapping = prop["discriminator"]["mapping"]
        kind_default = base["default"].get(tag) if isinstance(base["default"], dict) else None
        self.out.append(SpecField(type="object", **base))
        tag_base = {**base, "path": f"{path}.{tag}", "default": kind_default}
        self.out.append(SpecField(type="choice", choices=tuple(mapping), **tag_base))
        for value, ref in mapping.items():
            self.model(ref.rsplit("/", 1)[1], path + ".", {**when, f"{path}.{tag}": value}, skip=tag)

    @staticmethod
    def scalar(prop: dict[str, Any], base: dict[str, Any]) -> SpecField:
        options: list[dict[str, Any]] = prop.get("anyOf") or []
        nullable = any(o.get("type") == "null" for o in options)
        if options:
            prop = next(o for o in options if o.get("type") != "null")
        kind = prop.get("type")
        if "enum" in prop:
            return SpecField(type="choice", choices=tuple(prop["enum"]), nullable=nullable, **base)
        return SpecField(
            type={"integer": "int", "number": "float", "boolean": "bool"}.get(str(kind), str(kind)),
            nullable=nullable,
            min=prop.get("minimum", prop.get("exclusiveMinimum")),
            max=prop.get("maximum", prop.get("exclusiveMaximum")),
            exclusive_min="exclusiveMinimum" in prop,
            exclusive_max="exclusiveMaximum" in prop,
            odd=bool(prop.get("odd")),
            **base,
        )


@functools.cache
def _fields(family: str) -> tuple[SpecField, ...]:
    model = FAMILIES[family]
    schema = TypeAdapter(model).json_schema()
    walker = _Walker({**schema.get("$defs", {}), model.__name__: schema})
    walker.model(model.__name__, "", {})
    return tuple(walker.out)


def spec_fields(family: str) -> list[SpecField]:
    """The fields of a family's spec, in declaration order (KeyError for an unknown family)."""
    if family not in FAMILIES:
        raise KeyError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
    return list(_fields(family))


# ---------------------------------------------------------------- paths on a concrete spec


def _parts(path: str) -> list[str | int]:
    if not path or not re.fullmatch(r"[A-Za-z_][\w]*(\.([A-Za-z_]\w*|\d+|\*))*", path):
        raise SpecError.at([], f"not a field path: {path!r} (e.g. 'width' or 'stages.0.depth')", "path")
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def _has(node: Any, part: str | int) -> bool:
    if isinstance(part, int):
        return isinstance(node, list) and 0 <= part < len(node)
    return isinstance(node, dict) and part in node


def _walk(node: Any, parts: list[str | int], path: str) -> Any:
    for part in parts:
        if not _has(node, part):
            raise SpecError.at(_loc(path), f"this spec has no field {path!r}", "path")
        node = node[part]
    return node


def _loc(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def get_path(spec: ArchSpec, path: str) -> Any:
    """The value at ``path`` in the spec's canonical form (SpecError when there is none)."""
    return _walk(canonical_spec(parse_spec(spec)), _parts(path), path)


def set_path(spec: ArchSpec, path: str, value: Any) -> ArchSpec:
    """A new spec with ``path`` set to ``value`` (``*`` sets every element of a list), validated: SpecError
    names the field when the value is outside its limits or breaks another rule."""
    data = canonical_spec(parse_spec(spec))
    parts = _parts(path)
    targets: list[Any] = [data]
    for part in parts[:-1]:
        if part == "*":
            targets = [item for t in targets for item in (t if isinstance(t, list) else [])]
        else:
            targets = [_walk(t, [part], path) for t in targets]
    last = parts[-1]
    for target in targets:
        if last == "*" and isinstance(target, list):
            target[:] = [copy.deepcopy(value) for _ in target]
        else:
            _walk(target, [last], path)  # the field must exist: no new keys through a path
            target[last] = copy.deepcopy(value)
    return parse_spec(data)


def numeric_paths(spec: ArchSpec) -> list[str]:
    """Paths of every number (not booleans, not null) in the spec's canonical form."""
    out: list[str] = []

    def visit(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                visit(v, f"{prefix}{k}.")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                visit(v, f"{prefix}{i}.")
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            out.append(prefix[:-1])

    visit(canonical_spec(parse_spec(spec)), "")
    return out


def field_for(spec: ArchSpec, path: str) -> SpecField:
    """The SpecField (type, limits, description) of a concrete path of this spec."""
    spec = parse_spec(spec)
    pattern = re.sub(r"(?<=\.)\d+(?=\.|$)", "*", path)
    indices = [p for p in path.split(".") if p.isdigit()]
    for candidate in _fields(spec.family):
        if candidate.path != pattern:
            continue
        if all(_matches(spec, key, value, indices) for key, value in candidate.when.items()):
            return candidate
    raise SpecError.at(_loc(path), f"{spec.family} specs have no field {path!r}", "path")


def _matches(spec: ArchSpec, key: str, value: str, indices: list[str]) -> bool:
    concrete = key
    for index in indices[: key.count("*")]:
        concrete = concrete.replace("*", index, 1)
    try:
        return bool(get_path(spec, concrete) == value)
    except SpecError:
        return False
