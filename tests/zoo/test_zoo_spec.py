"""Spec parsing: strict validation, hostile input, presets + overrides, canonical form and hash."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from app.zoo import PRESETS, SpecError, canonical_spec, parse_spec, preset_names, spec_hash, spec_summary
from app.zoo.spec import MetaFormerSpec, ResNetSpec
from tests.zoo.registry import REGISTRY

VIT: dict[str, Any] = {
    "family": "metaformer",
    "stem": {"kind": "patch", "patch_size": 2},
    "stages": [{"depth": 2, "width": 32, "mixer": {"kind": "attention", "heads": 4}}],
}


def _with(path: list[str | int], value: Any, base: dict[str, Any] = VIT) -> dict[str, Any]:
    raw = copy.deepcopy(base)
    node: Any = raw
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return raw


def _error(raw: object) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(raw)
    err = info.value
    assert err.errors and all(e["loc"][0] == "spec" and e["msg"] and e["type"] for e in err.errors)
    assert set(err.errors[0]) == {"loc", "msg", "type"}
    json.dumps(err.errors)  # JSON-safe for the 422 body
    return err


def test_parses_a_full_spec_and_fills_defaults() -> None:
    spec = parse_spec(VIT)
    assert isinstance(spec, MetaFormerSpec)
    assert spec.layout == "isotropic" and spec.stages[0].mlp_ratio == 4.0
    assert spec.depth() == 2 and spec.max_width() == 32
    with pytest.raises(Exception):  # noqa: B017 — frozen
        spec.layout = "hierarchical"  # type: ignore[misc]


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_parses(name: str) -> None:
    spec = parse_spec({"preset": name})
    assert spec.family == PRESETS[name]["family"]


@pytest.mark.parametrize(
    ("raw", "loc", "type_"),
    [
        (_with(["stages", 0, "width"], "32"), ["spec", "stages", 0, "width"], "int_type"),
        (_with(["stages", 0, "width"], True), ["spec", "stages", 0, "width"], "int_type"),
        (_with(["stages", 0, "width"], 32.0), ["spec", "stages", 0, "width"], "int_type"),
        (_with(["stages", 0, "width"], -8), ["spec", "stages", 0, "width"], "greater_than_equal"),
        (_with(["stages", 0, "width"], 10**12), ["spec", "stages", 0, "width"], "less_than_equal"),
        (_with(["stages", 0, "depth"], 0), ["spec", "stages", 0, "depth"], "greater_than_equal"),
        (
            _with(["stages", 0, "mixer", "heads"], 65),
            ["spec", "stages", 0, "mixer", "heads"],
            "less_than_equal",
        ),
        (_with(["stages", 0, "mixer", "heads"], "4"), ["spec", "stages", 0, "mixer", "heads"], "int_type"),
        (_with(["stages", 0, "mixer", "kind"], "conv"), ["spec", "stages", 0, "mixer"], "union_tag_invalid"),
        (_with(["stages", 0, "mlp_ratio"], "false"), ["spec", "stages", 0, "mlp_ratio"], "float_type"),
        (_with(["drop_path"], 0.9), ["spec", "drop_path"], "less_than_equal"),
        (_with(["evil"], 1), ["spec", "evil"], "extra_forbidden"),
        (_with(["stages", 0, "hidden"], 1), ["spec", "stages", 0, "hidden"], "extra_forbidden"),
        (_with(["stages"], []), ["spec", "stages"], "too_short"),
        (_with(["stages"], [VIT["stages"][0]] * 7), ["spec", "stages"], "too_long"),
        (_with(["stages", 0, "width"], 30), ["spec", "stages", 0], "value_error"),  # 30 % 4 heads
        (_with(["family"], "transformer"), ["spec", "family"], "union_tag_invalid"),
        ({"layers": [2, 2]}, ["spec", "family"], "union_tag_invalid"),
        ({"family": "resnet", "layers": [2, 2], "widths": [64]}, ["spec"], "value_error"),
        ({"family": "convmixer", "depth": 201}, ["spec", "depth"], "less_than_equal"),
        (
            {"family": "metaformer", "stages": [{"depth": 64, "width": 8, "mixer": "identity"}] * 4},
            ["spec"],
            "value_error",
        ),  # 256 blocks > 200
        (
            {"family": "plain", "stages": [{"depth": 2, "width": 8}], "kernel": 33},
            ["spec", "kernel"],
            "less_than_equal",
        ),
    ],
)
def test_invalid_specs_name_the_field(raw: dict[str, Any], loc: list[Any], type_: str) -> None:
    err = _error(raw)
    assert any(e["loc"] == loc and e["type"] == type_ for e in err.errors), err.errors
    assert ".".join(map(str, loc)) in str(err)


def deep(n: int) -> dict[str, Any]:
    node: dict[str, Any] = {}
    raw = {"family": "resnet", "x": node}
    for _ in range(n):
        node["x"] = {}
        node = node["x"]
    return raw


@pytest.mark.parametrize(
    ("raw", "type_"),
    [
        ([VIT], "type_error"),
        ("resnet18", "type_error"),
        (None, "type_error"),
        ({"family": "resnet", "layers": [2] * 5000}, "too_large"),
        ({"family": "resnet", "comment": "x" * 9000}, "too_large"),
        ({"family": "resnet", "layers": list(range(10**6))}, "too_large"),
        (deep(7), "too_deep"),
        (deep(100_000), "too_deep"),
        ({"family": "resnet", "layers": [float("nan")]}, "finite_number"),
        ({"family": "resnet", "layers": [float("inf")]}, "finite_number"),
        (_with(["drop_path"], float("-inf")), "finite_number"),
        ({"family": "resnet", 3: "x"}, "type_error"),
        ({"family": "resnet", "layers": [10**5000]}, "int_range"),
        ({"family": "resnet", "layers": [-(2**64)]}, "int_range"),
        ({"family": "resnet", "layers": {1, 2}}, "type_error"),
        ({"family": "resnet", "layers": [object()]}, "type_error"),
        ({"preset": "resnet1000"}, "unknown_preset"),
        ({"preset": ["resnet18"]}, "unknown_preset"),
        ({"preset": "resnet18", "overrides": [1]}, "type_error"),
        ({"preset": "resnet18", "extra": 1}, "extra_forbidden"),
        ({"preset": "resnet18", "overrides": {"family": "plain"}}, "value_error"),
        ({"preset": "resnet18", "overrides": {"layers": [2, 2, 2, 2000]}}, "less_than_equal"),
    ],
)
def test_hostile_input_is_a_spec_error(raw: object, type_: str) -> None:
    err = _error(raw)
    assert err.errors[0]["type"] == type_, err.errors


def test_unknown_preset_lists_allowed_names() -> None:
    err = _error({"preset": "nope"})
    assert "resnet18" in err.errors[0]["msg"] and "vit_s16" in err.errors[0]["msg"]


def test_presets_with_overrides_deep_merge() -> None:
    spec = parse_spec({"preset": "tiny_vit_digits", "overrides": {"pos_embed": False, "stem": {"patch_size": 4}}})
    assert isinstance(spec, MetaFormerSpec)
    assert spec.pos_embed is False and spec.stem.kind == "patch" and spec.stem.patch_size == 4
    assert spec.stages == parse_spec({"preset": "tiny_vit_digits"}).stages
    resnet = parse_spec({"preset": "resnet18", "overrides": {"layers": [3, 4, 6, 3]}})
    assert isinstance(resnet, ResNetSpec) and resnet.layers == [3, 4, 6, 3]
    assert PRESETS["resnet18"]["layers"] == [2, 2, 2, 2]  # the registry itself is never mutated


def test_mixer_and_stem_shorthands() -> None:
    short = parse_spec(
        {"family": "metaformer", "stem": "patch", "stages": [{"depth": 1, "width": 8, "mixer": "pooling"}]}
    )
    full = parse_spec(
        {
            "family": "metaformer",
            "stem": {"kind": "patch", "patch_size": 16},
            "stages": [{"depth": 1, "width": 8, "mixer": {"kind": "pooling", "pool_size": 3}}],
        }
    )
    assert spec_hash(short) == spec_hash(full)


def _reorder(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder(v) for v in value]
    return value


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_canonical_form_and_hash_are_stable(name: str) -> None:
    raw = REGISTRY[name]
    spec = parse_spec(raw)
    canonical = canonical_spec(spec)
    assert spec_hash(parse_spec(_reorder(raw))) == spec_hash(spec)
    assert spec_hash(parse_spec(canonical)) == spec_hash(spec)  # defaults filled in: a fixed point
    assert canonical_spec(parse_spec(json.loads(json.dumps(canonical)))) == canonical
    assert list(canonical) == sorted(canonical)
    assert len(spec_hash(spec)) == 64


def test_hash_ignores_int_vs_float_and_negative_zero_but_not_values() -> None:
    base = _with(["drop_path"], 0.0)
    a = spec_hash(parse_spec(base))
    assert a == spec_hash(parse_spec(_with(["drop_path"], 0)))
    assert a == spec_hash(parse_spec(_with(["drop_path"], -0.0)))
    assert a == spec_hash(parse_spec(VIT))  # default filled
    assert a != spec_hash(parse_spec(_with(["drop_path"], 0.1)))
    canonical = canonical_spec(parse_spec(_with(["stages", 0, "mlp_ratio"], 4)))
    assert isinstance(canonical["stages"][0]["mlp_ratio"], float)
    assert json.dumps(canonical["drop_path"]) == "0.0"


def test_hash_is_pinned() -> None:
    """The hash identifies experiments across releases: changing the canonical form is a breaking change."""
    canonical = canonical_spec(parse_spec({"preset": "resnet18"}))
    assert canonical == {
        "block": "basic",
        "family": "resnet",
        "groups": 1,
        "layers": [2, 2, 2, 2],
        "shortcut": "projection",
        "stem": "imagenet",
        "stem_width": 64,
        "width_per_group": 64,
        "widths": [64, 128, 256, 512],
    }


def test_summary() -> None:
    assert spec_summary(parse_spec({"preset": "vit_s16"}))["mixer"] == "attention"
    assert spec_summary(parse_spec(REGISTRY["metaformer-mixed-hierarchical"]))["mixer"] == "mixed"
    summary = spec_summary(parse_spec({"preset": "resnet50"}))
    assert summary["family"] == "resnet" and summary["mixer"] is None and summary["depth"] == 16


def test_convmixer_depth_field_round_trips() -> None:
    spec = parse_spec({"family": "convmixer", "depth": 3})
    assert spec.depth() == 3
    assert canonical_spec(spec)["depth"] == 3
    assert spec_hash(parse_spec(canonical_spec(spec))) == spec_hash(spec)
