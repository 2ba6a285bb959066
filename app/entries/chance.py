"""Whether an accuracy is within noise of chance (guessing the class uniformly), and the note that says so.

One rule for every page that shows an entry or a study variant: the leaderboard rows, the entry page and the
study variants all call :func:`chance_note`."""

from __future__ import annotations

NOISE_WIDTHS = 2.0  # how many seed-noise standard deviations above chance still count as chance
MIN_MARGIN = 0.01  # one accuracy point: a margin however small the measured noise is


def chance_level(num_classes: int) -> float:
    """The accuracy of uniform guessing among ``num_classes`` balanced classes, as a fraction."""
    if num_classes < 2:
        raise ValueError(f"a classification benchmark has at least 2 classes, got {num_classes}")
    return 1.0 / num_classes


def at_chance(mean: float, num_classes: int, noise: float, low: float | None = None) -> bool:
    """True when ``mean`` (a fraction) is within noise of chance: at most ``NOISE_WIDTHS`` seed-noise standard
    deviations (``noise``, a fraction; never less than one point) above chance, or an interval whose lower end
    ``low`` reaches chance. Below chance counts as chance: it is no better than guessing."""
    chance = chance_level(num_classes)
    if low is not None and low <= chance:
        return True
    return mean <= chance + max(NOISE_WIDTHS * max(noise, 0.0), MIN_MARGIN)


def chance_note(mean: float | None, num_classes: int, noise: float, low: float | None = None) -> str | None:
    """``"At chance level (10 %): not learning."`` for an accuracy within noise of chance, else None (also for
    no accuracy yet)."""
    if mean is None or not at_chance(mean, num_classes, noise, low):
        return None
    return f"At chance level ({100 * chance_level(num_classes):.0f} %): not learning."
