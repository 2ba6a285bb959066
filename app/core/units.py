"""Plain-language units shared by messages and pages."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """45 → '45 s', 121 → '121 s', 2226 → '37 min', 9000 → '2.5 h': a length of time as people read it (seconds up
    to ten minutes, so that a projection just over a limit does not read as equal to it)."""
    seconds = max(0.0, float(seconds))
    if seconds < 9.5:
        return f"{seconds:.1f} s"
    if seconds < 600:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
