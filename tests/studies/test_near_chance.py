"""The study summary warns when no variant learned the task (equal accuracy at chance says nothing)."""

from types import SimpleNamespace
from typing import Any

from app.stats.noise import NoiseReference
from app.studies.freeze import GroupFreeze, StudyFreeze
from app.studies.verdicts import summary

REF = NoiseReference(sigma=0.01, df=10.0, n_entries=5, method="test", prior_df=4.0)
FREEZE = StudyFreeze({"": GroupFreeze(0.02, REF, "test")}, (0.025, 0.0125, 0.0125), None)


def _variant(name: str, mean: float) -> Any:
    return SimpleNamespace(submission_id=1, test_acc_mean=mean, seeds_finished=3, group=None, series=None, name=name)


def _equivalent(a: str, b: str) -> Any:
    return SimpleNamespace(kind="equivalent", a=a, b=b, diff=0.001, seeds_needed=None, group=None)


def test_summary_warns_when_every_variant_is_near_chance() -> None:
    variants = [_variant("attention", 0.52), _variant("dwconv", 0.535)]
    text = summary("mixer", "pathfinder", "macs", 3, variants, [_equivalent("attention", "dwconv")], {}, FREEZE, 0.5)
    assert text.startswith("Caution: every variant is within 5.0 points of chance (50.0 %)")
    assert "perform the same" in text


def test_no_warning_once_one_variant_learned() -> None:
    variants = [_variant("attention", 0.52), _variant("dwconv", 0.56)]
    text = summary("mixer", "pathfinder", "macs", 3, variants, [_equivalent("attention", "dwconv")], {}, FREEZE, 0.5)
    assert "Caution" not in text
    same = [_equivalent("attention", "dwconv")]
    assert not summary("mixer", "digits", None, 3, variants, same, {}, FREEZE).startswith("Caution")
