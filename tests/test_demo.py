"""The demo's first start: everything for digits (baselines, the noise-floor reference, the studies) is queued
before anything for the slower 32×32 benchmarks, and a second start creates nothing."""

from sqlalchemy import select

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run, Submission
from app.demo import seed_demo
from app.submissions.baselines import BASELINES, REFERENCE_SUFFIX


def test_demo_queues_one_benchmark_at_a_time_digits_first(sqlite_settings: Settings) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        created, studies = seed_demo(session, sqlite_settings.max_epochs)
    assert {s.benchmark for s in studies} == set(BASELINES) and len(created) > len(BASELINES)
    with session_scope(sqlite_settings.database_url) as session:
        rows = session.execute(
            select(Submission.benchmark, Submission.name, Submission.study_id).join(Run).order_by(Run.id)
        ).all()
        order = list(dict.fromkeys(benchmark for benchmark, _, _ in rows))
        assert order == list(BASELINES)  # each benchmark's runs are contiguous, in this order
        digits = [(name, study) for benchmark, name, study in rows if benchmark == "digits"]
        first_study_run = next(i for i, (_, study) in enumerate(digits) if study is not None)
        reference = [i for i, (name, _) in enumerate(digits) if name.endswith(REFERENCE_SUFFIX)]
        assert reference and max(reference) < first_study_run  # the noise floor (δ) before the studies
        assert seed_demo(session, sqlite_settings.max_epochs) == ([], [])
