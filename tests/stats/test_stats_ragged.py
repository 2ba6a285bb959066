"""_ragged: the vectorised per-entry moments equal the per-entry numpy computation."""

import numpy as np
import pytest

from app.stats._ragged import ragged_moments
from app.stats._validate import sample_var


def test_ragged_moments_equal_per_entry_numpy() -> None:
    rng = np.random.default_rng(0)
    samples = [rng.normal(0.9, 0.01, int(n)).tolist() for n in rng.integers(0, 6, 300)]
    samples += [[0.9, 0.9, 0.9], [], [0.5]]
    m = ragged_moments(samples)
    for i, s in enumerate(samples):
        assert m.n[i] == len(s)
        if not s:
            assert np.isnan(m.mean[i]) and m.var[i] == 0.0
            continue
        x = np.array(s)
        assert m.mean[i] == pytest.approx(x.mean())
        assert m.var[i] == pytest.approx(sample_var(x), abs=1e-18)
        assert (m.low[i], m.high[i]) == (x.min(), x.max())
    assert m.var[-3] == 0.0  # identical values: exactly zero, not ~1e-33


def test_ragged_moments_refuse_non_finite_values() -> None:
    with pytest.raises(ValueError, match="entry value must be finite"):
        ragged_moments([[0.9, float("inf")]])
