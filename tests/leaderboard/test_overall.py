"""The "which family wins overall?" page: platform baselines only, normalised per benchmark, IQM and
probability of improvement recomputed by hand, and expected-best curves for lineages of three tries."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run, Submission
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user

BASELINE_ACCS = {  # (benchmark, preset) → per-seed accuracies
    ("digits", "tiny_resnet_digits"): [0.97, 0.96, 0.98],
    ("digits", "tiny_vit_digits"): [0.91, 0.90, 0.92],
    ("shapes", "tiny_resnet_synth"): [0.80, 0.82, 0.81],
    ("shapes", "tiny_vit_synth"): [0.60, 0.62, 0.61],
}


def add(settings: Settings, user: str, benchmark: str, spec: dict[str, Any], accs: list[float], baseline: bool) -> int:
    with session_scope(settings.database_url) as session:
        body = SubmissionIn(benchmark=benchmark, name=str(spec), spec=spec, seeds=len(accs))
        sub = create_submission(session, get_or_create_user(session, user), body, max_epochs=settings.max_epochs)
        for run, acc in zip(sorted(sub.runs, key=lambda r: r.seed), accs, strict=True):
            session.execute(update(Run).where(Run.id == run.id).values(status="finished", test_acc=acc))
        session.execute(update(Submission).where(Submission.id == sub.id).values(is_baseline=baseline))
        return sub.id


def iqm_by_hand(runs: dict[str, list[float]]) -> float:
    """Equal runs per benchmark: the mean of the empirical quantile function over [0.25, 0.75] — each sorted run
    covers [i/n, (i+1)/n] and counts by its overlap with the middle half (fractional at the edges)."""
    values = np.sort(np.concatenate([np.asarray(v) for v in runs.values()]))
    n = values.size
    overlap = [max(0.0, min((i + 1) / n, 0.75) - max(i / n, 0.25)) for i in range(n)]
    return float(np.dot(overlap, values) / 0.5)


def test_families_are_ranked_by_iqm_of_normalised_baselines(client: TestClient, sqlite_settings: Settings) -> None:
    for (bench, preset), accs in BASELINE_ACCS.items():
        add(sqlite_settings, "archarena", bench, {"preset": preset, "overrides": {}}, accs, baseline=True)
    add(sqlite_settings, "someone", "digits", {"preset": "tiny_mixer_digits", "overrides": {}}, [0.99] * 3, False)
    body = client.get("/api/v1/overall").json()
    names = [c["name"] for c in body["contenders"]]
    assert names == ["resnet", "metaformer"]  # the user's mixer entry is not a baseline: it does not count
    chance = {"digits": 0.1, "shapes": 1 / 8}
    for contender, preset_of in (("resnet", "tiny_resnet"), ("metaformer", "tiny_vit")):
        runs = {
            b: [(a - chance[b]) / (1 - chance[b]) for a in accs]
            for (b, p), accs in BASELINE_ACCS.items()
            if p.startswith(preset_of)
        }
        got = next(c for c in body["contenders"] if c["name"] == contender)
        assert {b: pytest.approx(v) for b, v in runs.items()} == got["runs"]
        assert got["iqm"]["value"] == pytest.approx(iqm_by_hand(runs))
        assert got["iqm"]["low"] <= got["iqm"]["value"] <= got["iqm"]["high"]
    (improvement,) = body["improvement"]
    assert (improvement["x"], improvement["y"], improvement["value"]) == ("resnet", "metaformer", 1.0)
    assert body["sentence"].startswith("Across 2 benchmarks, resnet has the highest interquartile mean")
    page = client.get("/overall")
    assert page.status_code == 200 and 'id="overall-iqm"' in page.text and "rliable" in page.text


def test_expected_best_curve_for_a_lineage_of_three_tries(client: TestClient, sqlite_settings: Settings) -> None:
    means = [0.90, 0.92, 0.94]
    for i, m in enumerate(means):
        spec = {"preset": "tiny_convmixer_digits", "overrides": {"width": 60 + i}}
        add(sqlite_settings, "tinkerer", "digits", spec, [m, m], baseline=False)
    (curve,) = client.get("/api/v1/overall").json()["try_curves"]
    assert curve["tries"] == 3 and curve["benchmark"] == "digits"
    # Dodge et al.: E[max of n draws with replacement] from the empirical distribution of the three tries.
    expected = [sum(((i / 3) ** n - ((i - 1) / 3) ** n) * v for i, v in enumerate(means, 1)) for n in (1, 2, 3)]
    assert curve["expected_best"] == pytest.approx(expected)
    assert curve["expected_best"][0] == pytest.approx(np.mean(means))
