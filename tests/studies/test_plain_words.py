"""Plain words where a reader needs them: an entry or a study variant within seed noise of chance says "at
chance level: not learning"; a study page opens with its answer and folds the statistics away; the studies list
shows each study's answer."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db.session import session_scope
from app.studies.schemas import StudyIn
from app.studies.service import create_study
from app.studies.views import headline
from app.users.service import get_or_create_user
from tests.studies.test_study_features import BASE, _finish

ACCS = {"attention": [0.95, 0.951, 0.952], "identity": [0.10, 0.11, 0.09]}  # digits: 10 classes, chance 10 %


def _study(settings: Settings) -> tuple[int, dict[str, int]]:
    body = StudyIn(name="Mixers", base_spec=BASE, axis="mixer", values=["attention", "identity"], match=None)
    with session_scope(settings.database_url) as session:
        study = create_study(session, get_or_create_user(session, "words"), body, max_epochs=2)
        ids = {plan["label"]: plan["submission_id"] for plan in study.variants}
        for label, sub_id in ids.items():
            _finish(session, sub_id, ACCS[label])
        return study.id, ids


def test_chance_level_is_said_on_the_entry_and_the_variant(client: TestClient, sqlite_settings: Settings) -> None:
    study_id, ids = _study(sqlite_settings)
    guess = client.get(f"/api/v1/submissions/{ids['identity']}").json()
    assert guess["chance_note"] == "At chance level (10 %): not learning."
    assert client.get(f"/api/v1/submissions/{ids['attention']}").json()["chance_note"] is None
    page = client.get(f"/submissions/{ids['identity']}").text
    assert 'id="chance-note"' in page and "At chance level (10 %): not learning." in page
    assert 'id="chance-note"' not in client.get(f"/submissions/{ids['attention']}").text
    rows = {e["id"]: e for e in client.get("/api/v1/benchmarks/digits/leaderboard").json()["entries"]}
    assert rows[ids["identity"]]["notes"][0] == "At chance level (10 %): not learning."  # the board's row too
    assert not any("chance" in n for n in rows[ids["attention"]]["notes"])
    variants = {v["label"]: v for v in client.get(f"/api/v1/studies/{study_id}").json()["variant_list"]}
    assert variants["identity"]["chance_note"] == "At chance level (10 %): not learning."
    assert variants["attention"]["chance_note"] is None
    assert (
        '<small class="chance">At chance level (10 %): not learning.</small>' in client.get(f"/studies/{study_id}").text
    )


def test_the_study_opens_with_its_answer_and_folds_the_statistics(
    client: TestClient, sqlite_settings: Settings
) -> None:
    study_id, _ = _study(sqlite_settings)
    page = client.get(f"/studies/{study_id}").text
    summary = page.index('id="study-summary"')
    assert summary < page.index('class="meta"') and "Yes: attention &gt; identity." in page[summary : summary + 300]
    fold = page.index('<details id="study-statistics">')
    assert fold < page.index("TOST") and fold < page.index("α = ") and "(α =" not in page[:summary]
    listing = client.get("/studies").text
    assert "Does the mixer matter on digits? Yes: attention &gt; identity." in listing


def test_the_headline_is_the_question_and_its_answer() -> None:
    text = "Does the mixer matter on digits? Yes: a > b. 1 of 3 pairs are inconclusive (about 9 seeds)."
    assert headline(text) == "Does the mixer matter on digits? Yes: a > b."
    assert (
        headline("Not decided yet: 2 of 6 runs finished. Verdicts appear later.")
        == "Not decided yet: 2 of 6 runs finished."
    )
