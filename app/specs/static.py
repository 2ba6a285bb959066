"""Cheap checks of a parsed spec before it is measured: structural limits (depth, width) and arithmetic lower
bounds on parameters and MACs from its fields alone. Microseconds, no torch: a spec far beyond a benchmark's
limits is refused before it takes a measuring slot.

Every bound here is a *lower* bound of what measuring would find (each block holds at least one width × width
weight; an isotropic MetaFormer applies its MLP to every token), so a spec that fits is never refused here;
measuring stays the judge of the exact numbers. A fuller static estimate (app.zoo) can replace this module's
``static_check`` behind the same call."""

from __future__ import annotations

from typing import Any

from app.zoo.limits import Limits
from app.zoo.spec import (
    ArchSpec,
    ConvMixerSpec,
    MetaFormerSpec,
    PlainSpec,
    RepVGGSpec,
    ResNetSpec,
)


def _error(field: str, what: str, value: int, limit: int, how: str) -> dict[str, Any]:
    return {
        "loc": ["spec", field],
        "msg": f"{what} {value:,} exceeds this benchmark's limit of {limit:,}{how}",
        "type": "limit",
        "ctx": {"value": value, "limit": limit},
    }


def _block_weights(spec: ArchSpec) -> list[tuple[int, int]]:
    """(blocks, weights each of them holds at least) per stage. Only weights between two tensors of the
    stage's own width count (a stage's first block may start from a narrower one); families whose blocks can
    be narrower than their width (bottlenecks, dense layers) give no bound."""
    if isinstance(spec, MetaFormerSpec):  # the channel MLP: width → hidden → width
        return [(s.depth, 2 * s.width * max(1, int(s.width * s.mlp_ratio))) for s in spec.stages]
    if isinstance(spec, ResNetSpec) and spec.block == "basic":  # the second 3×3 conv: width → width
        return [(n, 9 * w * w) for n, w in zip(spec.layers, spec.widths, strict=True)]
    if isinstance(spec, RepVGGSpec):  # the 3×3 branch of every block after a stage's first
        return [(n - 1, 9 * w * w) for n, w in zip(spec.layers, spec.widths, strict=True)]
    if isinstance(spec, PlainSpec):  # every conv after a stage's first
        return [(s.depth - 1, spec.kernel * spec.kernel * s.width * s.width) for s in spec.stages]
    if isinstance(spec, ConvMixerSpec):  # the point-wise conv
        return [(spec.depth(), spec.width * spec.width)]
    return []


def _first_stage_tokens(spec: ArchSpec, input_shape: tuple[int, int, int] | None) -> int:
    """Tokens every block of an isotropic MetaFormer with a patch stem sees (1 when unknown: no bound)."""
    if input_shape is None or not isinstance(spec, MetaFormerSpec) or spec.layout != "isotropic":
        return 1
    if spec.stem.kind != "patch":
        return 1
    _, height, width = input_shape
    patch = spec.stem.patch_size
    return max(1, height // patch) * max(1, width // patch)


def static_check(
    spec: ArchSpec, limits: Limits, input_shape: tuple[int, int, int] | None = None
) -> list[dict[str, Any]]:
    """Pydantic-shaped errors for every limit the spec must exceed, from its fields alone; empty when it may
    fit (measuring then decides)."""
    errors = []
    if spec.depth() > limits.max_depth:
        errors.append(_error("depth", "depth", spec.depth(), limits.max_depth, ""))
    if spec.max_width() > limits.max_width:
        errors.append(_error("width", "width", spec.max_width(), limits.max_width, ""))
    params = sum(blocks * weights for blocks, weights in _block_weights(spec))
    if params > limits.max_params:
        how = " (at least: its blocks' weights alone, depth × width²)"
        errors.append(_error("params", "parameter count", params, limits.max_params, how))
    macs = params * _first_stage_tokens(spec, input_shape)
    if macs > limits.max_macs:
        how = " (at least: every block's MLP applied to every token)"
        errors.append(_error("macs", "MACs", macs, limits.max_macs, how))
    return errors
