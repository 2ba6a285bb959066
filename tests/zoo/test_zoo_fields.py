"""Spec fields for forms and studies: every field described, every numeric field addressable by path."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.zoo import (
    SpecError,
    field_for,
    get_path,
    numeric_paths,
    parse_spec,
    preset_names,
    set_path,
    spec_fields,
    spec_hash,
)
from app.zoo.spec import FAMILIES, MIXER_KINDS
from tests.zoo.registry import REGISTRY

RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_field_is_described_once(family: str) -> None:
    fields = spec_fields(family)
    assert fields
    for f in fields:
        assert len(f.description) > 10, f.path
    keys = [(f.path, tuple(sorted(f.when.items()))) for f in fields]
    assert len(keys) == len(set(keys))


def test_each_token_mixer_brings_its_own_fields() -> None:
    fields = spec_fields("metaformer")
    kind = next(f for f in fields if f.path == "stages.*.mixer.kind")
    assert kind.type == "choice" and set(kind.choices or ()) == set(MIXER_KINDS)
    heads = [f for f in fields if f.path == "stages.*.mixer.heads"]
    assert {f.when["stages.*.mixer.kind"] for f in heads} == {"attention", "window_attention", "external_attention"}
    pool = next(f for f in fields if f.path == "stages.*.mixer.pool_size")
    assert (pool.type, pool.min, pool.max, pool.default, pool.odd) == ("int", 1, 31, 3, True)
    ratio = next(f for f in fields if f.path == "stages.*.mlp_ratio")
    assert (ratio.type, ratio.min, ratio.exclusive_min, ratio.max) == ("float", 0.0, True, 8.0)
    stages = next(f for f in fields if f.path == "stages")
    assert (stages.type, stages.min_items, stages.max_items, stages.required) == ("list", 1, 6, True)
    stem = next(f for f in fields if f.path == "stem")
    assert stem.default == {"kind": "patch", "patch_size": 16, "norm": None}


def _all_leaf_patterns(raw: dict[str, Any]) -> set[str]:
    out: set[str] = set()

    def visit(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                visit(v, f"{prefix}{k}.")
        elif isinstance(node, list) and node and isinstance(node[0], dict):
            for v in node:
                visit(v, prefix + "*.")
        elif isinstance(node, list):
            out.add(prefix + "*")
        else:
            out.add(prefix[:-1])

    visit(raw, "")
    return {p for p in out if p != "family"}


@pytest.mark.parametrize("name", preset_names())
def test_fields_cover_every_key_of_every_preset(name: str) -> None:
    from app.zoo import canonical_spec

    spec = parse_spec({"preset": name})
    known = {f.path for f in spec_fields(spec.family)}
    missing = {p for p in _all_leaf_patterns(canonical_spec(spec)) if p not in known and not p.endswith(".*")}
    assert not missing
    for path in numeric_paths(spec):  # and each concrete path resolves to its variant's field
        assert field_for(spec, path).path == re.sub(r"(?<=\.)\d+(?=\.|$)", "*", path)


def _bounds(spec: Any, path: str) -> list[Any]:
    f = field_for(spec, path)
    assert f.min is not None and f.max is not None, path
    if f.type == "int":
        low = int(f.min) + int(f.exclusive_min)
        return [low + (1 if f.odd and low % 2 == 0 else 0), int(f.max) - int(f.exclusive_max)]
    return [f.min + 1e-3 if f.exclusive_min else f.min, f.max]


@pytest.mark.parametrize("name", preset_names())
def test_numeric_paths_can_be_read_and_set_within_limits(name: str) -> None:
    """Each numeric field: read it, write it back (same spec), write its limits (parses, or fails only on a rule
    between fields such as heads dividing the width), and one step past the upper limit (a range error at that
    very field)."""
    spec = parse_spec({"preset": name})
    parsed = refused = 0
    for path in numeric_paths(spec):
        value = get_path(spec, path)
        f = field_for(spec, path)
        assert f.min is not None and f.max is not None and f.min <= value <= f.max, path
        assert spec_hash(set_path(spec, path, value)) == spec_hash(spec)
        for bound in _bounds(spec, path):
            try:
                changed = set_path(spec, path, bound)
                parent, _, last = path.rpartition(".")
                if last.isdigit():  # a list of numbers may be kept sorted (RepMLP kernels)
                    assert bound in get_path(changed, parent)
                else:
                    assert get_path(changed, path) == bound
                parsed += 1
            except SpecError as exc:
                refused += 1
                loc = ["spec", *(int(p) if p.isdigit() else p for p in path.split("."))]
                assert not [e for e in exc.errors if e["loc"] == loc and e["type"] in RANGE_ERRORS], path
        beyond = f.max + (1 if f.type == "int" else 0.5)
        with pytest.raises(SpecError) as info:
            set_path(spec, path, int(beyond) if f.type == "int" else beyond)
        assert any(e["type"] in RANGE_ERRORS for e in info.value.errors), path
    print(f"{name}: {len(numeric_paths(spec))} numeric fields; limits parsed {parsed}, cross-field refusals {refused}")
    assert parsed > 0


def test_set_path_for_studies() -> None:
    plain = parse_spec(REGISTRY["plain"])
    deeper = set_path(plain, "stages.*.depth", 5)
    assert [s.depth for s in deeper.stages] == [5, 5]  # type: ignore[union-attr]
    assert set_path(parse_spec({"preset": "resnet18"}), "layers.2", 4).layers == [2, 2, 4, 2]  # type: ignore[union-attr]
    convmixer = set_path(parse_spec({"preset": "tiny_convmixer_digits"}), "depth", 12)
    assert convmixer.depth() == 12
    with pytest.raises(SpecError, match="no field"):
        set_path(plain, "stages.7.depth", 2)
    with pytest.raises(SpecError, match="no field"):
        get_path(plain, "layers.0")
    with pytest.raises(SpecError, match="not a field path"):
        get_path(plain, "stages[0].depth")
    with pytest.raises(SpecError):
        set_path(plain, "stages.0.depth", "3")  # strict: no strings for numbers
