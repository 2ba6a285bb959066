"""Every published Fashion-MNIST reference row cites its source and its training budget."""

from __future__ import annotations

from app.benchmarks.references import FASHION_MNIST_REFERENCES
from app.zoo.presets import PRESETS
from app.zoo.spec import FAMILIES


def test_every_row_carries_a_source_and_a_budget() -> None:
    assert len(FASHION_MNIST_REFERENCES) >= 5
    for row in FASHION_MNIST_REFERENCES:
        assert row.source_title.strip() and row.source_url.startswith("https://"), row.model
        assert row.code_url is None or row.code_url.startswith("https://"), row.model
        assert 2017 <= row.year <= 2025, row.model
        assert row.budget.strip() and any(w in row.budget for w in ("epoch", "steps")), row.model
        assert row.augmentation.strip(), row.model
        assert 0.8 < row.accuracy < 1.0, row.model
        assert row.family in FAMILIES and (row.preset is None or row.preset in PRESETS), row.model
        # one sentence saying why our fixed recipe lands elsewhere
        assert row.why_ours_differs.endswith((".", ")")) and row.why_ours_differs.count(". ") == 0, row.model
        assert row.to_dict()["source_url"] == row.source_url


def test_rows_cover_the_contenders() -> None:
    presets = {row.preset for row in FASHION_MNIST_REFERENCES}
    assert {"tiny_resnet_fmnist", "tiny_plain_fmnist", "tiny_vit_fmnist", "tiny_mixer_fmnist"} <= presets
