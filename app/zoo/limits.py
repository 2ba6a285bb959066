"""Per-benchmark limits on a spec's size, checked before anything is queued."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.zoo.measure import Measurement
from app.zoo.spec import ArchSpec


@dataclass(frozen=True)
class Limits:
    max_params: int
    max_macs: int
    max_depth: int
    max_width: int


def _error(field: str, what: str, value: int, limit: int) -> dict[str, Any]:
    return {
        "loc": ["spec", field],
        "msg": f"{what} {value:,} exceeds this benchmark's limit of {limit:,}",
        "type": "limit",
        "ctx": {"value": value, "limit": limit},
    }


def check_limits(spec: ArchSpec, measurement: Measurement, limits: Limits) -> list[dict[str, Any]]:
    """Pydantic-shaped errors for every limit the spec exceeds; empty when it fits."""
    checks = (
        ("depth", "depth", spec.depth(), limits.max_depth),
        ("width", "width", spec.max_width(), limits.max_width),
        ("params", "parameter count", measurement.params, limits.max_params),
        ("macs", "MACs", measurement.macs, limits.max_macs),
    )
    return [_error(field, what, value, limit) for field, what, value, limit in checks if value > limit]
