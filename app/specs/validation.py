"""A spec checked for one benchmark: parsed strictly, measured (params, MACs) in the measuring pool, and held to
the benchmark's limits. Nothing is allocated for real; nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.benchmarks.registry import Benchmark, UnknownBenchmark, all_benchmarks, get_benchmark
from app.core.errors import InputError
from app.specs.measuring import measure_spec
from app.specs.static import static_check
from app.zoo.costmodel import Cost, cost_of
from app.zoo.identity import lineage_key, size_vector
from app.zoo.limits import check_limits
from app.zoo.measure import Measurement
from app.zoo.spec import ArchSpec, SpecError, canonical_spec, parse_spec, spec_hash, spec_summary


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


def resolve_benchmark(slug: str) -> Benchmark:
    try:
        return get_benchmark(slug)
    except UnknownBenchmark:
        known = ", ".join(b.slug for b in all_benchmarks())
        raise InputError.one(["body", "benchmark"], f"unknown benchmark {slug!r}; known: {known}") from None


def validate_spec(benchmark_slug: str, raw_spec: object, *, anonymous: bool = False) -> ValidatedSpec:
    """Parse, check what the fields alone can tell (cheap), measure on the meta device in the bounded pool,
    and check the benchmark's limits (422 errors naming the field; 503 when every measuring slot is busy, or,
    for an ``anonymous`` caller, every slot anonymous callers may share)."""
    benchmark = resolve_benchmark(benchmark_slug)
    try:
        spec = parse_spec(raw_spec)
        # The one call point of the cheap checks: nothing costly runs for a spec they refuse.
        refused = static_check(spec, benchmark.limits, benchmark.input_shape)
        if refused:
            raise InputError([in_body(e) for e in refused])
        measurement = measure_spec(spec, benchmark.input_shape, benchmark.num_classes, anonymous=anonymous)
    except SpecError as exc:
        raise InputError([in_body(e) for e in exc.errors]) from None
    violations = check_limits(spec, measurement, benchmark.limits)
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
        cost=cost_of(measurement, benchmark.recipe.batch_size),
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
