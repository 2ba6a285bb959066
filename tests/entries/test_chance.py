import pytest

from app.entries.chance import at_chance, chance_level, chance_note


def test_chance_level_is_one_over_the_classes() -> None:
    assert chance_level(10) == pytest.approx(0.1)
    assert chance_level(2) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        chance_level(1)


def test_within_two_noise_widths_of_chance_is_chance() -> None:
    assert at_chance(0.13, 10, noise=0.02)  # 3 points above chance, noise 2 points
    assert not at_chance(0.15, 10, noise=0.02)  # 5 points above: learning something
    assert at_chance(0.08, 10, noise=0.02)  # below chance is no better than guessing


def test_a_tiny_noise_still_leaves_one_point_of_margin() -> None:
    assert at_chance(0.105, 10, noise=0.0)
    assert not at_chance(0.115, 10, noise=0.0)


def test_an_interval_reaching_chance_is_chance() -> None:
    assert at_chance(0.2, 10, noise=0.01, low=0.09)
    assert not at_chance(0.2, 10, noise=0.01, low=0.15)


def test_the_note_names_the_level_in_percent() -> None:
    assert chance_note(0.51, 2, noise=0.02) == "At chance level (50 %): not learning."
    assert chance_note(0.9, 2, noise=0.02) is None
    assert chance_note(None, 2, noise=0.02) is None
