"""The published depth results carry their sources, and the agreement sentence follows from the data."""

from __future__ import annotations

import pytest

from app.studies.depth import Trend, TrendKind, agreement, reference_for
from app.studies.published import HE_ET_AL, REFERENCES, RESMLP


@pytest.mark.parametrize("reference", list(REFERENCES.values()), ids=list(REFERENCES))
def test_every_published_row_carries_its_source(reference: object) -> None:
    from app.studies.published import Reference

    assert isinstance(reference, Reference)
    for row in reference.rows:
        assert row.source == reference.title and row.url.startswith("https://arxiv.org/abs/")
        assert row.where.startswith(("Table", "Fig.")) and row.dataset and row.layers > 0
        assert row.error is not None or row.note  # a figure-only row says what the figure shows
        assert row.error is None or 0 < row.error < 1
    for claim in reference.claims:  # every claim is backed by rows of that kind of net
        assert any(r.family == claim.family for r in reference.rows)


def test_he_et_al_numbers_are_the_papers() -> None:
    cifar = {r.layers: r.error for r in HE_ET_AL.rows if r.family == "residual" and r.dataset == "CIFAR-10"}
    assert cifar == {20: 0.0875, 32: 0.0751, 44: 0.0717, 56: 0.0697, 110: 0.0643}  # Table 6
    imagenet = {r.model: r.error for r in HE_ET_AL.rows if r.where == "Table 2"}
    assert imagenet == {"plain-18": 0.2794, "plain-34": 0.2854, "ResNet-18": 0.2788, "ResNet-34": 0.2503}
    assert [r.accuracy for r in RESMLP.rows] == pytest.approx([0.766, 0.794])  # Table 3, top-1


def _trend(series: str, net: str, kind: TrendKind, low_acc: float | None = None) -> Trend:
    return Trend(series, net, "8", "62", kind, None, "", "layers", low_acc)


@pytest.mark.parametrize(
    ("plain", "resnet", "expected", "opening"),
    [
        ("worse", "better", "agrees", "Ours agrees with He et al. (2016)"),
        ("worse", "same", "partly", "Ours partly agrees with He et al. (2016)"),
        ("better", "worse", "disagrees", "Ours disagrees with He et al. (2016)"),
        ("same", "same", "disagrees", "Ours disagrees"),
        ("worse", "pending", "undecided", "Not decided yet whether ours agrees"),
        ("worse", "unclear", "undecided", "Not decided yet whether ours agrees"),
    ],
)
def test_the_agreement_sentence_follows_from_the_trends(
    plain: TrendKind, resnet: TrendKind, expected: str, opening: str
) -> None:
    trends = [_trend("plain", "plain", plain), _trend("resnet", "residual", resnet)]
    assert reference_for(trends, depth=True) is HE_ET_AL
    kind, sentence = agreement(HE_ET_AL, trends)
    assert kind == expected and sentence.startswith(opening), sentence
    assert "(8 → 62 layers)" in sentence


def test_a_residual_net_at_the_ceiling_is_said_to_have_little_left_to_gain() -> None:
    trends = [_trend("plain", "plain", "worse"), _trend("resnet", "residual", "same", low_acc=0.991)]
    kind, sentence = agreement(HE_ET_AL, trends)
    assert kind == "partly" and "(ours is at 99.1% already at 8 layers: little is left to gain)" in sentence
    trends[1] = _trend("resnet", "residual", "same", low_acc=0.90)
    assert "little is left" not in agreement(HE_ET_AL, trends)[1]


def test_a_reference_applies_only_to_a_depth_study_of_the_nets_it_measured() -> None:
    mlp = [_trend("spatial_mlp", "residual MLP", "better")]
    assert reference_for(mlp, depth=True) is RESMLP and agreement(RESMLP, mlp)[0] == "agrees"
    assert reference_for(mlp, depth=False) is None
    assert reference_for([_trend("plain", "plain", "worse")], depth=True) is None  # no residual series
