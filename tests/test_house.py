"""House rules the linters do not check: no function over 60 lines in app/ and workers/, and no comment that
points at an issue tracker or a file outside the repository (comments say why, in place)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60
SOURCES = sorted([*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("workers").rglob("*.py")])
OUTSIDE = re.compile(r"\b(issue|ticket)\s*#?\d+|\.\./shared/|DESIGN\.md|STYLE\.md", re.IGNORECASE)


def test_no_function_is_longer_than_60_lines() -> None:
    long = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    print(f"\n{len(SOURCES)} modules checked; longest allowed {MAX_FUNCTION_LINES} lines")
    assert long == []


def test_comments_say_why_in_place() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{i}: {line.strip()}"
        for path in SOURCES
        for i, line in enumerate(path.read_text().splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert found == []
