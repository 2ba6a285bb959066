"""Why a benchmark's data cannot be read here, told twice: once for the public (pages, API, a run's stored error)
and once for the operator (CLI, logs), who may see the server's paths."""

from __future__ import annotations

from app.benchmarks.standard import DatasetNotFetched


class DataUnavailable(DatasetNotFetched):
    """The files a benchmark needs are not installed on this machine.

    ``str(exc)`` is the public message: it names what is missing and how an operator installs it, never a path
    on the server (runs store ``str(exc)`` where every visitor can read it). ``operator_hint`` adds the
    directories searched and the exact commands to run.
    """

    def __init__(self, public_message: str, operator_hint: str) -> None:
        super().__init__(public_message)
        self.public_message = public_message
        self.operator_hint = operator_hint

    def __str__(self) -> str:
        return self.public_message

    def __reduce__(self) -> tuple[type[DataUnavailable], tuple[str, str]]:
        """Pickle both messages (exceptions cross process boundaries in Celery and the measuring pool)."""
        return (type(self), (self.public_message, self.operator_hint))


class DataCorrupt(DataUnavailable):
    """A file is present but is not the official data (wrong format, count or checksum)."""
