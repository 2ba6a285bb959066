"""Per-benchmark limits on a spec's size and cost, checked before anything is queued.

Two levels, cheapest first:

- ``static_check(raw, limits, input_shape, num_classes)``: no model at all (``app.zoo.static``: microseconds
  to a few milliseconds whatever the spec). Parse errors, input mismatches, windows far larger than their
  grid, and every limit — exact for depth, width, params and MACs; for the approximate counts (other ops,
  activation bytes, projected seconds) only when they are over by more than ``STATIC_SLACK``, a margin for
  the approximation, so that it refuses only what the measurement would refuse too.
- ``check_limits(spec, measurement, limits)``: the same limits on ``measure()``'s exact counts.

``fits`` runs both. The cost limits default to values derived from ``max_macs`` (see ``Limits``), so a
benchmark that only sets a MAC budget still refuses specs whose other ops, memory traffic or training time
are far beyond what that budget implies.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from app.zoo.costmodel import DEFAULT_BATCH, REFERENCE_CPU, cost_of
from app.zoo.measure import Measurement, measure
from app.zoo.presets import preset_names
from app.zoo.spec import ArchSpec, SpecError, parse_spec
from app.zoo.static import MIN_MEANINGFUL_WINDOW, StaticCost, static_cost

# The static counts of other ops, activation bytes and time are within 0.7-1.4× of measure()'s for every preset
# and registry entry (tests hold them to [0.6, 1.5]); refusing only beyond 2× keeps a margin for that.
STATIC_SLACK = 2.0


@dataclass(frozen=True)
class Limits:
    """A benchmark's budget for one spec, per image.

    ``max_ops``: MACs + other ops of one forward pass (default 2 × ``max_macs``: the other ops may cost as
    much as the MAC budget again). ``max_activation_bytes``: bytes one image's forward pass writes (default
    ``max_macs / 2``, one float32 per 8 MACs of budget). ``max_train_s_per_image``: projected training seconds
    per image on the reference CPU (``app.zoo.costmodel``; default: three times what a model spending the whole
    MAC budget in dense layers would project, plus 1 ms). ``max_run_seconds``: projected seconds of one whole run
    (one seed) on the reference CPU; the zoo does not know a benchmark's train size or epochs, so
    ``app.specs.validation`` checks it (None: no run budget).
    """

    max_params: int
    max_macs: int
    max_depth: int
    max_width: int
    max_ops: int | None = None
    max_activation_bytes: int | None = None
    max_train_s_per_image: float | None = None
    max_run_seconds: float | None = None

    def ops_limit(self) -> int:
        return self.max_ops if self.max_ops is not None else 2 * self.max_macs

    def activation_limit(self) -> int:
        return self.max_activation_bytes if self.max_activation_bytes is not None else self.max_macs // 2

    def time_limit(self) -> float:
        if self.max_train_s_per_image is not None:
            return self.max_train_s_per_image
        return 3 * REFERENCE_CPU.per_mac_s * self.max_macs + 1e-3


def limit_error(field: str, what: str, value: float, limit: float, unit: str = "") -> dict[str, Any]:
    """A pydantic-shaped error for a limit the spec exceeds (``loc`` = ``["spec", field]``)."""
    shown = (lambda v: f"{v:.3g}{unit}") if isinstance(value, float) else (lambda v: f"{v:,}{unit}")
    return {
        "loc": ["spec", field],
        "msg": f"{what} {shown(value)} exceeds this benchmark's limit of {shown(limit)}",
        "type": "limit",
        "ctx": {"value": value, "limit": limit},
    }


def _size_checks(spec: ArchSpec, params: int, macs: int, limits: Limits) -> list[tuple[str, str, float, float, str]]:
    return [
        ("depth", "depth", spec.depth(), limits.max_depth, ""),
        ("width", "width", spec.max_width(), limits.max_width, ""),
        ("params", "parameter count", params, limits.max_params, ""),
        ("macs", "MACs", macs, limits.max_macs, ""),
    ]


def _cost_checks(m: Measurement, limits: Limits, batch_size: int) -> list[tuple[str, str, float, float, str]]:
    seconds = cost_of(m, batch_size).train_s_per_image
    return [
        (
            "ops",
            "operations per image (MACs + pooling, norms, activations, element-wise)",
            m.macs + m.other_ops,
            limits.ops_limit(),
            "",
        ),
        ("activation_bytes", "activation bytes per image", m.activation_bytes, limits.activation_limit(), " B"),
        ("train_seconds", "projected training time per image", seconds, limits.time_limit(), " s"),
    ]


def check_limits(
    spec: ArchSpec, measurement: Measurement, limits: Limits, batch_size: int = DEFAULT_BATCH
) -> list[dict[str, Any]]:
    """Pydantic-shaped errors for every limit the spec exceeds; empty when it fits. Cost limits (ops,
    activation bytes, projected seconds at ``batch_size``) apply to measurements that carry the op counts."""
    checks = _size_checks(spec, measurement.params, measurement.macs, limits)
    if measurement.kernels:  # a Measurement from measure(), not a hand-made one with sizes only
        checks += _cost_checks(measurement, limits, batch_size)
    return [limit_error(f, what, v, lim, unit) for f, what, v, lim, unit in checks if v > lim]


def _window_errors(cost: StaticCost) -> list[dict[str, Any]]:
    errors, seen = [], set()
    for loc, size, side in cost.windows:
        meaningful = max(MIN_MEANINGFUL_WINDOW, 2 * side - 1)
        if size > meaningful and tuple(loc) not in seen:  # once per field, not once per block
            seen.add(tuple(loc))
            msg = (
                f"a {size}×{size} window on a {side}×{side} grid only adds padding: "
                f"at most {meaningful} is meaningful here"
            )
            errors.append({"loc": ["spec", *loc], "msg": msg, "type": "input_mismatch"})
    return errors


def static_check(
    raw: object,
    limits: Limits,
    input_shape: tuple[int, int, int],
    num_classes: int,
    batch_size: int = DEFAULT_BATCH,
    slack: float = STATIC_SLACK,
) -> list[dict[str, Any]]:
    """Violations found without building or measuring anything (empty: measure it next).

    ``raw`` is user data or a parsed spec. See the module docstring for what is checked and how strictly;
    ``slack`` is how far over a limit the approximate counts must be to be refused.
    """
    try:
        spec = parse_spec(raw)
        cost = static_cost(spec, input_shape, num_classes)
    except SpecError as exc:
        return list(exc.errors)
    checks = _size_checks(spec, cost.params, cost.macs, limits)
    errors = [limit_error(f, what, v, lim, unit) for f, what, v, lim, unit in checks if v > lim]
    approximate = _cost_checks(cost.as_measurement(), limits, batch_size)
    errors += [limit_error(f, what, v, lim, unit) for f, what, v, lim, unit in approximate if v > slack * lim]
    return _window_errors(cost) + errors


def fits(
    spec: object,
    input_shape: tuple[int, int, int],
    num_classes: int,
    limits: Limits,
    batch_size: int = DEFAULT_BATCH,
) -> bool:
    """Whether a spec (raw or parsed) can be submitted to a benchmark with this input and these limits:
    static checks first, then ``measure()`` (meta device, cached) against every limit."""
    if static_check(spec, limits, input_shape, num_classes, batch_size):
        return False
    parsed = parse_spec(spec)
    return not check_limits(parsed, measure(parsed, input_shape, num_classes), limits, batch_size)


@functools.cache
def presets_that_fit(
    input_shape: tuple[int, int, int], num_classes: int, limits: Limits, batch_size: int = DEFAULT_BATCH
) -> tuple[str, ...]:
    """The presets a form may offer for a benchmark: those whose static counts fit every limit (sizes are
    exact; the approximate costs are compared without slack). Milliseconds, no model, cached; tests check it
    agrees with ``fits`` on the built-in benchmarks."""
    shape = tuple(int(d) for d in input_shape)
    return tuple(
        name
        for name in preset_names()
        if not static_check({"preset": name}, limits, shape, num_classes, batch_size, slack=1.0)  # type: ignore[arg-type]
    )
