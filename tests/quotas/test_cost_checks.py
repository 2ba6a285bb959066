"""Cost that is measured, not declared: a spec's projected run (every op counted × train images × epochs) is held
to its benchmark's per-seed budget, cheapest check first; specs near the budget are timed for real; the
validate API and the entry show the projection. The worst-case spec of the attack (64 blocks of width 512 with
31×31 pooling on 8×8 digits: 4.2 M MACs) is refused before anything is measured, never queued, never free."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.benchmarks.registry import all_benchmarks, get_benchmark
from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import QuotaCharge, Run
from app.core.errors import InputError
from app.core.units import duration
from app.specs import validation
from app.specs.validation import PROBE_MARGIN, validate_spec
from app.zoo.measure import measure
from app.zoo.spec import parse_spec
from tests.quotas.test_ledger import token

DIGITS = get_benchmark("digits")
HOSTILE = {
    "family": "metaformer",
    "stem": {"kind": "patch", "patch_size": 1},
    "stages": [{"depth": 64, "width": 512, "mlp_ratio": 0.002, "mixer": {"kind": "pooling", "pool_size": 31}}],
}


def pooling(depth: int, width: int = 64) -> dict[str, object]:
    return {
        "family": "metaformer",
        "stem": {"kind": "patch", "patch_size": 1},
        "stages": [{"depth": depth, "width": width, "mixer": {"kind": "pooling", "pool_size": 3}}],
    }


def errors_of(benchmark: str, raw: object) -> list[dict[str, object]]:
    with pytest.raises(InputError) as caught:
        validate_spec(benchmark, raw)
    return list(caught.value.errors)


def test_every_benchmark_has_an_explicit_run_budget_and_train_size() -> None:
    for benchmark in all_benchmarks():
        assert benchmark.limits.max_run_seconds, benchmark.slug
        assert benchmark.limits.max_run_seconds <= 3600  # inside the worker's one-hour soft limit
    for slug in ("digits", "pathfinder", "shapes"):  # generated: their train split is here to count
        assert get_benchmark(slug).n_train == len(get_benchmark(slug).load().train), slug


def test_the_hostile_spec_is_refused_by_the_cheap_checks_naming_projection_and_budget(
    client: TestClient, sqlite_settings: Settings
) -> None:
    start = time.perf_counter()
    errors = errors_of("digits", HOSTILE)
    elapsed = time.perf_counter() - start
    (run,) = [e for e in errors if e["loc"] == ["body", "spec", "run_seconds"]]
    ctx = run["ctx"]
    assert isinstance(ctx, dict) and ctx["value"] > 10 * ctx["limit"]
    budget = DIGITS.limits.max_run_seconds
    assert budget is not None and ctx["limit"] == budget
    msg = str(run["msg"])
    print(f"hostile spec: {msg} (refused in {elapsed * 1000:.1f} ms)")
    assert msg.startswith(f"projected about {duration(ctx['value'])} per seed on the reference CPU")
    assert msg.endswith(f"this benchmark allows {duration(budget)} per seed")
    assert elapsed < 0.5  # no measuring: the static counts refuse it (measuring it takes seconds)

    headers = token(sqlite_settings, "mallory")
    body = {"name": "free compute", "spec": HOSTILE, "seeds": 10}
    res = client.post("/api/v1/submissions", json=body, headers=headers)
    assert res.status_code == 422 and "per seed on the reference CPU" in res.text
    with session_scope(sqlite_settings.database_url) as session:
        assert session.scalar(select(func.count(Run.id))) == 0
        assert session.scalar(select(func.count(QuotaCharge.id))) == 0


def test_the_measured_projection_is_held_to_the_budget_when_the_static_counts_pass() -> None:
    budget = DIGITS.limits.max_run_seconds
    assert budget is not None
    fits = validate_spec("digits", pooling(20), probe=False)
    assert budget / PROBE_MARGIN < fits.projected_run_seconds <= budget
    over = [e for e in errors_of("digits", pooling(23)) if e["loc"][-1] == "run_seconds"]
    assert len(over) == 1 and "this benchmark allows" in str(over[0]["msg"])
    m = measure(parse_spec(pooling(23)), DIGITS.input_shape, DIGITS.num_classes)
    assert m.macs < DIGITS.limits.max_macs  # under every MAC and size limit: only the run budget refuses it


def test_specs_near_the_budget_are_timed_for_real_and_cheap_ones_are_not() -> None:
    near = validate_spec("digits", pooling(16))
    assert near.probe is not None and near.probe.status == "ok" and near.probe.steps == validation.PROBE_STEPS
    assert near.probe.cpu_seconds_per_step is not None
    measured = DIGITS.run_seconds(near.probe.cpu_seconds_per_step / DIGITS.recipe.batch_size)
    ratio = measured / near.projected_run_seconds
    print(f"probe: projected {near.projected_run_seconds:.0f} s, measured {measured:.0f} s (ratio {ratio:.2f})")
    assert 0.2 < ratio < 5  # the cost model's worst held-out error is 2.8x; a shared machine adds noise
    assert validate_spec("digits", {"preset": "tiny_resnet_digits"}).probe is None
    with validation.platform_specs():  # the platform's own specs: the projection alone decides
        assert validate_spec("digits", pooling(16)).probe is None
    assert validate_spec("digits", pooling(16)).probe is not None  # and users' specs are timed again after it


def test_a_measured_run_over_the_budget_is_refused_naming_the_measurement() -> None:
    error = validation.run_budget_error(DIGITS, 0.01, how="measured (3 steps of 32 images timed):")
    assert error is not None and error["loc"] == ["spec", "run_seconds"]
    assert str(error["msg"]).startswith(f"measured (3 steps of 32 images timed): {duration(0.01 * 1150 * 15)}")
    assert validation.run_budget_error(DIGITS, 0.001) is None


def test_validate_and_the_entry_show_the_projection(client: TestClient, sqlite_settings: Settings) -> None:
    spec = {"preset": "tiny_vit_digits"}
    res = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": spec})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["projected_run_seconds"] == pytest.approx(DIGITS.run_seconds(body["train_s_per_image"]))
    sub = client.post("/api/v1/submissions", json={"name": "v", "spec": spec}, headers=token(sqlite_settings, "a"))
    entry = sub.json()
    assert entry["train_s_per_image"] == pytest.approx(body["train_s_per_image"])
    epochs = sqlite_settings.max_epochs
    assert entry["projected_run_seconds"] == pytest.approx(DIGITS.run_seconds(body["train_s_per_image"], epochs=epochs))
    page = client.get(f"/submissions/{entry['id']}").text
    assert 'id="projected"' in page and 'id="queue-position"' in page
