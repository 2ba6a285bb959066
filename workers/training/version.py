"""The code version stamped on every result, so numbers from different code are never silently pooled."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path


@lru_cache(maxsize=1)
def code_version() -> str:
    """``<package version>+g<short sha>`` when running from a git checkout, else the package version ("dev" if
    the package is not installed). Never raises: a missing git must not fail a training run."""
    try:
        version = metadata.version("archarena")
    except metadata.PackageNotFoundError:
        version = "dev"
    sha = _git_short_sha()
    return f"{version}+g{sha}" if sha else version


def _git_short_sha() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=2,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha or None
