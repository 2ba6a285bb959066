"""Functional fingerprints (same function ⇒ same entry) and lineages (near variants across users)."""

from __future__ import annotations

import copy
import multiprocessing
from typing import Any

import pytest
import torch

from app.zoo import fingerprint, lineage_key, near_variant, parse_spec, size_vector
from tests.zoo.registry import REGISTRY

DIGITS = (1, 8, 8)
TINY: dict[str, Any] = {
    "family": "metaformer",
    "stem": {"kind": "patch", "patch_size": 2},
    "stages": [{"depth": 2, "width": 16, "mixer": {"kind": "pooling", "pool_size": 3}, "mlp_ratio": 2.0}],
}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    out.update(changes)
    return out


def _stage(**changes: Any) -> dict[str, Any]:
    return _with(TINY, stages=[{**TINY["stages"][0], **changes}])


SAME_FUNCTION: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("downsample.kernel in an isotropic model", TINY, _with(TINY, downsample={"kernel": 5, "norm": "layernorm"})),
    ("one-stage hierarchical = isotropic", TINY, _with(TINY, layout="hierarchical")),
    (
        "pool windows that both cover the whole 4×4 grid",
        _stage(mixer={"kind": "pooling", "pool_size": 9}),
        _stage(mixer={"kind": "pooling", "pool_size": 11}),
    ),
    (
        "window attention clamped to the grid: shift is moot",
        _stage(mixer={"kind": "window_attention", "heads": 2, "window": 7, "shift": True}),
        _stage(mixer={"kind": "window_attention", "heads": 2, "window": 9, "shift": False}),
    ),
    (
        "RepMLP in deploy form: the training-only kernels are unused",
        {**REGISTRY["repmlp"], "deploy": True, "kernels": [1, 3]},
        {**REGISTRY["repmlp"], "deploy": True, "kernels": [5]},
    ),
    (
        "ResNet shortcut type where no shortcut changes shape",
        {"family": "resnet", "layers": [2], "widths": [16], "stem": "cifar", "stem_width": 16},
        {"family": "resnet", "layers": [2], "widths": [16], "stem": "cifar", "stem_width": 16, "shortcut": "zero_pad"},
    ),
]

DIFFERENT_FUNCTION: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("width", TINY, _stage(width=24)),
    ("mixer", TINY, _stage(mixer={"kind": "dwconv", "kernel": 3})),
    ("pool window inside the grid", TINY, _stage(mixer={"kind": "pooling", "pool_size": 5})),
    ("MLP ratio", TINY, _stage(mlp_ratio=3.0)),
    ("stochastic depth (visible in training mode)", TINY, _with(TINY, drop_path=0.1)),
    ("layer scale init", _with(TINY, layer_scale=0.1), _with(TINY, layer_scale=0.2)),
    ("RepMLP training vs deploy form", REGISTRY["repmlp"], {**REGISTRY["repmlp"], "deploy": True}),
]


@pytest.mark.parametrize(("what", "a", "b"), SAME_FUNCTION, ids=[c[0] for c in SAME_FUNCTION])
def test_same_function_same_fingerprint(what: str, a: dict[str, Any], b: dict[str, Any]) -> None:
    assert parse_spec(a) != parse_spec(b)  # different specs (different hashes) ...
    assert fingerprint(parse_spec(a), DIGITS, 10) == fingerprint(parse_spec(b), DIGITS, 10)  # ... one function


@pytest.mark.parametrize(("what", "a", "b"), DIFFERENT_FUNCTION, ids=[c[0] for c in DIFFERENT_FUNCTION])
def test_real_changes_change_the_fingerprint(what: str, a: dict[str, Any], b: dict[str, Any]) -> None:
    assert fingerprint(parse_spec(a), DIGITS, 10) != fingerprint(parse_spec(b), DIGITS, 10)


def test_fingerprint_depends_on_the_benchmark_and_leaves_global_state_alone() -> None:
    spec = parse_spec(TINY)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    a = fingerprint(spec, DIGITS, 10)
    assert torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads
    assert fingerprint(spec, DIGITS, 2) != a
    assert fingerprint(spec, (1, 16, 16), 10) != a


def _fingerprint_in_child(raw: dict[str, Any]) -> str:
    return fingerprint(parse_spec(raw), DIGITS, 10)


def test_fingerprint_is_stable_across_processes() -> None:
    specs = [TINY, REGISTRY["metaformer-attention-isotropic"], REGISTRY["resnet-basic-cifar"]]
    here = [fingerprint(parse_spec(raw), DIGITS, 10) for raw in specs]
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        there = pool.map(_fingerprint_in_child, specs)
    assert here == there


# ---------------------------------------------------------------- lineage


def test_lineage_key_ignores_size_only() -> None:
    wider, deeper = _stage(width=18), _stage(depth=3)
    assert lineage_key(parse_spec(TINY)) == lineage_key(parse_spec(wider)) == lineage_key(parse_spec(deeper))
    assert lineage_key(parse_spec(TINY)) != lineage_key(parse_spec(_stage(mixer={"kind": "pooling", "pool_size": 5})))
    assert lineage_key(parse_spec(TINY)) != lineage_key(parse_spec(_with(TINY, norm="batchnorm")))
    three = {"family": "resnet", "layers": [2, 2, 2], "widths": [16, 32, 64], "stem": "cifar"}
    four = {"family": "resnet", "layers": [2, 2, 2, 2], "widths": [16, 32, 64, 64], "stem": "cifar"}
    assert lineage_key(parse_spec(three)) != lineage_key(parse_spec(four))  # the number of stages stays


def test_size_vector() -> None:
    sizes = size_vector(parse_spec({"preset": "resnet18"}))
    assert sizes == {
        "layers.0": 2.0, "layers.1": 2.0, "layers.2": 2.0, "layers.3": 2.0,
        "widths.0": 64.0, "widths.1": 128.0, "widths.2": 256.0, "widths.3": 512.0,
        "stem_width": 64.0, "width_per_group": 64.0,
    }  # fmt: skip
    assert size_vector(parse_spec(TINY)) == {"stages.0.depth": 2.0, "stages.0.width": 16.0, "stages.0.mlp_ratio": 2.0}


@pytest.mark.parametrize(
    ("b", "near"),
    [
        (_stage(width=18), True),  # +12.5 %
        (_stage(width=14), True),  # -12.5 %
        (_stage(width=19), False),  # +18.75 %
        (_stage(depth=3), False),  # +50 %: small integers must match
        (_stage(mlp_ratio=2.25), True),
        (_stage(mixer={"kind": "dwconv", "kernel": 3}), False),
        (TINY, True),
    ],
)
def test_near_variant(b: dict[str, Any], near: bool) -> None:
    assert near_variant(parse_spec(TINY), parse_spec(b)) is near
    assert near_variant(parse_spec(b), parse_spec(TINY)) is near  # symmetric
    assert near_variant(parse_spec(TINY), parse_spec(_stage(width=19)), tolerance=0.2)
