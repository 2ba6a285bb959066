"""Tuning to the public test set (public minus private gap), and robustness on the shifted test set.

Public − private gap: the test-set-tuning measure
------------------------------------------------
Each benchmark's public and private test splits come from one distribution, and every run is scored on both.
A lineage that was selected or tuned by its public score scores higher on the public half than on the
private one (Kaggle's private board, in the open). Per run j the gap is g_j = public_j − private_j; pairing
per run cancels the run's own luck (a good seed is good on both halves), so what is left under "no tuning"
is test-set sampling of the two halves:

    Var(ḡ) ≤ p(1 − p)·(1/n_public + 1/n_private)

with p the run's accuracy. Every run is scored on the *same* two halves, so this error does not average out
over runs; the bound (exact when runs agree image by image) is used as is, not divided by the number of
runs. The interval is ḡ ± z·SE, and the flag is one-sided — only a public score *above* the private one
signals tuning — with false-alarm rate ≤ α per lineage on pure noise (``tests/stats/test_stats_holdout.py``
measures it on runs that share their test images). p is clipped half an image from 0 and 1.

The shifted second test set is robustness, not tuning
-----------------------------------------------------
A shifted set (cue-conflict shapes, a newer collection of digits) measures how accuracy carries over to a
different distribution: every model drops, by amounts that differ between architectures for reasons that
have nothing to do with test-set reuse. So it gets a plain description, never a tuning flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special

from app.stats._validate import as_finite_array


@dataclass(frozen=True)
class Gap:
    """Public-minus-private accuracy gap of one lineage (fractions), its interval and the tuning flag."""

    gap: float
    low: float
    high: float
    se: float
    flag: bool
    n_runs: int
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


def public_private_gap(
    public: Sequence[float], private: Sequence[float], n_public: int, n_private: int, alpha: float = 0.05
) -> Gap:
    """The gap, its two-sided 1 − α interval, and the one-sided tuning flag at level α (module docstring).

    ``public[j]``/``private[j]`` are run j's accuracies on the two halves (paired per run).
    """
    pub = as_finite_array(public, "public")
    priv = as_finite_array(private, "private")
    if pub.size != priv.size:
        raise ValueError(f"public and private must be paired per run, got {pub.size} and {priv.size} values")
    if n_public < 1 or n_private < 1:
        raise ValueError(f"test sizes must be >= 1, got {n_public} and {n_private}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
    gap = float((pub - priv).mean())
    eps = 0.5 / max(n_public, n_private)
    p = float(np.clip(np.concatenate([pub, priv]).mean(), eps, 1.0 - eps))
    se = float(np.sqrt(p * (1.0 - p) * (1.0 / n_public + 1.0 / n_private)))
    half = float(special.ndtri(1.0 - alpha / 2.0)) * se
    flag = gap > float(special.ndtri(1.0 - alpha)) * se
    return Gap(gap, gap - half, gap + half, se, flag, int(pub.size), _gap_sentence(gap, half, flag, alpha))


def _gap_sentence(gap: float, half: float, flag: bool, alpha: float) -> str:
    head = (
        f"Public minus private test accuracy: {_pts(gap)} ± {_pts(half)} points "
        f"({100 * (1 - alpha):.0f}% interval; the two halves come from one distribution)"
    )
    if flag:
        return head + ": the public score is higher than test-set sampling explains — a sign of tuning to it."
    return head + ": within test-set sampling, no sign of tuning to the public test set."


def robustness_description(
    test_acc: float, shifted_acc: float, shifted_name: str = "shifted test set", typical_drop: float | None = None
) -> str:
    """A plain description of accuracy on the shifted (robustness) test set; never a tuning flag.

    ``typical_drop`` (e.g. the board's median drop) puts the entry's drop in context when given.
    """
    for name, value in (("test_acc", test_acc), ("shifted_acc", shifted_acc)):
        if not (np.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"{name} must be a fraction in [0, 1], got {value}")
    drop = test_acc - shifted_acc
    kept = shifted_acc / test_acc if test_acc > 0.0 else 0.0
    text = (
        f"Robustness: on the {shifted_name} (a different distribution) it scores {_pts(shifted_acc)} %, "
        f"{_pts(abs(drop))} points {'below' if drop >= 0 else 'above'} its test accuracy "
        f"({100.0 * kept:.0f}% of it kept)"
    )
    if typical_drop is None:
        return text + "."
    return text + f"; the typical entry here drops {_pts(typical_drop)} points."


def _pts(fraction: float) -> str:
    return f"{round(100.0 * fraction, 1) + 0.0:.1f}"
