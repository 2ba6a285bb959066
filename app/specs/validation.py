"""A spec checked for one benchmark, cheapest check first, and its training cost projected from what it does.

1. ``static_check`` (``app.zoo.limits``): no model at all, microseconds to milliseconds. Parse errors, windows far
   larger than their grid, every size limit, and the cost limits when the approximate counts are far over them —
   including the run budget: seconds per image × train images × the recipe's epochs.
2. ``measure`` in the measuring pool (every op counted on the meta device), then ``check_limits`` at the recipe's
   batch size and the run budget on the exact counts.
3. Specs projected within ``PROBE_MARGIN`` of the run budget (the cost model's worst error on held-out models is
   2.8×) are timed for a few real training steps in the measuring pool, under a hard deadline; the measured time
   must fit the budget too. Every other spec is far enough below it that the projection decides.

The run budget (``Limits.max_run_seconds``) is per seed, in seconds on the reference CPU of
``app.zoo.costmodel``. Nothing is allocated for real except by the probe; nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from app.benchmarks.registry import Benchmark, UnknownBenchmark, all_benchmarks, get_benchmark
from app.core.errors import InputError
from app.core.units import duration
from app.specs import static as cheap
from app.specs.measuring import measure_spec, probe_spec
from app.zoo.costmodel import Cost, cost_of
from app.zoo.identity import lineage_key, size_vector
from app.zoo.limits import STATIC_SLACK, check_limits, static_check
from app.zoo.measure import Measurement
from app.zoo.probe import StepTiming
from app.zoo.spec import ArchSpec, SpecError, canonical_spec, parse_spec, spec_hash, spec_summary
from app.zoo.static import static_cost

PROBE_MARGIN = 3.0
"""A spec projected above budget / PROBE_MARGIN is timed for real before it is accepted."""
PROBE_STEPS = 3
PROBE_DEADLINE_S = 3.0
_probing: ContextVar[bool] = ContextVar("probing", default=True)


@contextmanager
def platform_specs() -> Iterator[None]:
    """Specs the platform itself chose (its canonical studies and baselines): the projection decides their run
    budget, without timing real steps, whose wall-clock answer on a busy machine would refuse a platform study
    that fits on a quiet one. Users' specs are always probed near the budget."""
    token = _probing.set(False)
    try:
        yield
    finally:
        _probing.reset(token)


@dataclass(frozen=True)
class ValidatedSpec:
    benchmark: Benchmark
    spec: ArchSpec
    canonical: dict[str, Any]
    hash: str
    family: str
    mixer: str | None
    measurement: Measurement
    lineage_key: str
    sizes: dict[str, float]
    cost: Cost
    projected_run_seconds: float  # one seed, the benchmark's whole recipe, the reference CPU
    probe: StepTiming | None = None  # the real steps timed, for specs near the run budget


def resolve_benchmark(slug: str) -> Benchmark:
    try:
        return get_benchmark(slug)
    except UnknownBenchmark:
        known = ", ".join(b.slug for b in all_benchmarks())
        raise InputError.one(["body", "benchmark"], f"unknown benchmark {slug!r}; known: {known}") from None


def run_budget_error(
    benchmark: Benchmark, s_per_image: float, *, how: str = "projected", slack: float = 1.0
) -> dict[str, Any] | None:
    """The error for a run projected over the benchmark's budget (``slack``: how far over it must be), or None."""
    budget = benchmark.limits.max_run_seconds
    seconds = benchmark.run_seconds(s_per_image)
    if budget is None or seconds <= slack * budget:
        return None
    msg = (
        f"{how} {duration(seconds)} per seed on the reference CPU ({s_per_image:.2g} s per image × "
        f"{benchmark.n_train:,} train images × {benchmark.recipe.epochs} epochs); this benchmark allows "
        f"{duration(budget)} per seed"
    )
    return {"loc": ["spec", "run_seconds"], "msg": msg, "type": "limit", "ctx": {"value": seconds, "limit": budget}}


def _static_errors(benchmark: Benchmark, raw_spec: object) -> list[dict[str, Any]]:
    """Everything the fields alone refuse (no model built): the zoo's static checks and the run budget."""
    bs = benchmark.recipe.batch_size
    errors = static_check(raw_spec, benchmark.limits, benchmark.input_shape, benchmark.num_classes, bs)
    try:
        spec = parse_spec(raw_spec)
        cost = static_cost(spec, benchmark.input_shape, benchmark.num_classes)
    except SpecError:  # it does not parse or build: static_check said why
        return errors
    errors += [e for e in cheap.static_check(spec, benchmark.limits, benchmark.input_shape) if e not in errors]
    over = run_budget_error(benchmark, cost.train_s_per_image(bs), how="projected about", slack=STATIC_SLACK)
    return errors + ([over] if over else [])


def _probe(benchmark: Benchmark, spec: ArchSpec, projected: float) -> tuple[StepTiming | None, list[dict[str, Any]]]:
    """Real training steps for a spec near the budget, and the errors they show (none when it fits)."""
    budget = benchmark.limits.max_run_seconds
    if budget is None or projected <= budget / PROBE_MARGIN:
        return None, []
    c, bs = benchmark.input_shape, benchmark.recipe.batch_size
    timing = probe_spec(spec, c, benchmark.num_classes, bs, PROBE_STEPS, PROBE_DEADLINE_S)
    if timing.status == "too_large":
        return timing, [{"loc": ["spec"], "msg": f"too large to train: {timing.detail}", "type": "limit"}]
    # CPU time whenever there is one: the budget is in seconds of a core, and wall time on a busy machine also
    # counts the other processes' turns.
    per_step = timing.cpu_seconds_per_step if timing.cpu_seconds_per_step is not None else timing.seconds_per_step
    if per_step is None:
        return timing, []
    over = run_budget_error(benchmark, per_step / bs, how=f"measured ({timing.detail}):")
    return timing, [over] if over else []


def validate_spec(
    benchmark_slug: str, raw_spec: object, *, probe: bool = True, anonymous: bool = False
) -> ValidatedSpec:
    """Check a spec for a benchmark, cheapest first (see the module docstring); 422 errors name the field and,
    for cost, the projection and the budget. ``probe``: time real steps for specs near the run budget;
    ``anonymous``: a caller without a token or log-in, who may use only its share of the measuring slots (503
    when they are all busy)."""
    benchmark = resolve_benchmark(benchmark_slug)
    refused = _static_errors(benchmark, raw_spec)
    if refused:
        raise InputError([in_body(e) for e in refused])
    try:
        spec = parse_spec(raw_spec)
        measurement = measure_spec(spec, benchmark.input_shape, benchmark.num_classes, anonymous=anonymous)
    except SpecError as exc:
        raise InputError([in_body(e) for e in exc.errors]) from None
    bs = benchmark.recipe.batch_size
    cost = cost_of(measurement, bs)
    violations = check_limits(spec, measurement, benchmark.limits, bs)
    over = run_budget_error(benchmark, cost.train_s_per_image)
    violations += [over] if over else []
    timing = None
    if not violations and probe and _probing.get():
        timing, violations = _probe(benchmark, spec, benchmark.run_seconds(cost.train_s_per_image))
    if violations:
        raise InputError([in_body(v) for v in violations])
    summary = spec_summary(spec)
    return ValidatedSpec(
        benchmark=benchmark,
        spec=spec,
        canonical=canonical_spec(spec),
        hash=spec_hash(spec),
        family=summary["family"],
        mixer=summary.get("mixer"),
        measurement=measurement,
        lineage_key=lineage_key(spec),
        sizes=size_vector(spec),
        cost=cost,
        projected_run_seconds=benchmark.run_seconds(cost.train_s_per_image),
        probe=timing,
    )


def in_body(error: dict[str, Any]) -> dict[str, Any]:
    return {**error, "loc": ["body", *error["loc"]]}


def check_seed_count(benchmark: Benchmark, total: int, *, have: int = 0) -> None:
    """The one rule for how many seeds an entry may have: at most the benchmark's ``max_seeds`` in all."""
    if total <= benchmark.max_seeds:
        return
    if have:
        msg = (
            f"{have} seeds + {total - have} more would exceed this benchmark's maximum of {benchmark.max_seeds} "
            f"seeds (at most {max(0, benchmark.max_seeds - have)} can be added)"
        )
    else:
        msg = f"seeds {total} exceeds this benchmark's maximum of {benchmark.max_seeds}"
    raise InputError.one(["body", "seeds"], msg, "limit", value=total - have, limit=benchmark.max_seeds)
