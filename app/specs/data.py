"""Whether a benchmark's data is on this server, checked before a submission is charged or queued: a run on a
benchmark without its data could only fail, and its error would name the server's paths."""

from __future__ import annotations

from pathlib import Path

from app.benchmarks.registry import Benchmark
from app.benchmarks.standard import DatasetNotFetched, require_files, resolve_data_dir
from app.core.errors import Conflict


def data_installed(benchmark: Benchmark, data_dir: Path | None) -> bool:
    """Built-in benchmarks always are (their data is made or bundled); a standard set when its files are in the
    data directory."""
    if benchmark.builtin:
        return True
    try:
        require_files(benchmark.slug, resolve_data_dir(data_dir))
    except DatasetNotFetched:
        return False
    return True


def require_data(benchmark: Benchmark, data_dir: Path | None) -> None:
    """Conflict (409) saying how an operator installs the data, when it is not installed; no server path."""
    if not data_installed(benchmark, data_dir):
        raise Conflict(
            f"The {benchmark.title} dataset is not installed on this server yet, so nothing can train on "
            f"{benchmark.slug!r}; nothing was charged. An operator installs it with "
            f"`archarena data fetch {benchmark.slug}` (the files go to the server's data directory)."
        )
