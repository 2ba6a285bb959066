"""Shared fixtures for the stats tests: seeded generators and a report of the measured simulation rates.

Simulation tests are marked ``simulation`` and use a modest, seeded number of trials so that the whole stats
suite stays under a few seconds on a shared CPU. Their measured rates are printed in a terminal-summary
section ("archarena stats: measured rates") at the end of every run.
"""

from collections.abc import Callable

import numpy as np
import pytest

_MEASURED: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "simulation: seeded Monte Carlo check of an error rate or power")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _MEASURED:
        terminalreporter.section("archarena stats: measured rates")
        for line in _MEASURED:
            terminalreporter.write_line(line)


@pytest.fixture
def report() -> Callable[[str], None]:
    """Record one line for the terminal summary (also printed, for ``-s`` runs)."""

    def _report(line: str) -> None:
        print(line)
        _MEASURED.append(line)

    return _report


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)
