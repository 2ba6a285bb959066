"""User names that people cannot tell apart are the same name: ``P_WEBADMIN`` beside ``p_webadmin``, ``adm1n``
beside ``admin``, or a Cyrillic ``а`` beside a Latin ``a``. Every name has a *skeleton* (Unicode NFKC, case
folded, lookalike characters mapped to one representative, separators unified); the database keeps one user per
skeleton (``users.name_key``, unique), so a lookalike of a taken name is refused at sign-up.

The map is deliberately small (Unicode's full confusables table is 6,000 lines): the ASCII lookalikes that sans
fonts draw alike, and the Cyrillic and Greek letters that look like Latin ones."""

from __future__ import annotations

import unicodedata

# One representative per group of characters that look alike in a sans-serif font (after NFKC and casefold).
_LOOKALIKES: dict[str, str] = {
    "0": "o",
    "1": "l",
    "i": "l",
    "|": "l",
    "5": "s",
    # Cyrillic
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "і": "l",
    "ј": "j",
    "ѕ": "s",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    # Greek
    "α": "a",
    "β": "b",
    "ε": "e",
    "η": "n",
    "ι": "l",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
}
# Letter pairs that read as one letter at a glance.
_PAIRS = (("rn", "m"), ("vv", "w"))
_SEPARATORS = str.maketrans({".": "_", "-": "_", " ": "_"})


def name_key(name: str) -> str:
    """The skeleton of a user name: two names with the same skeleton are too alike to both exist."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    # Combining marks (an accent added to a letter) do not make a name look different enough.
    base = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    mapped = "".join(_LOOKALIKES.get(c, c) for c in base).translate(_SEPARATORS)
    for pair, one in _PAIRS:
        mapped = mapped.replace(pair, one)
    return mapped[:64]
