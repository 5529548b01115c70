"""Semantic Versioning 2.0.0: parse a release's version and order versions.

Build metadata (`+...`) is refused: it does not take part in precedence, so two
releases differing only in it could not be told apart as older and newer.
"""

from __future__ import annotations

import re
from functools import total_ordering

# semver.org's recommended expression, without the build-metadata part.
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$"
)
MAX_LENGTH = 64


@total_ordering
class Version:
    """A parsed version, ordered by semver precedence (§11)."""

    def __init__(self, text: str) -> None:
        match = _SEMVER.match(text) if len(text) <= MAX_LENGTH else None
        if match is None:
            raise ValueError(f"not a semantic version: {text!r}")
        self.text = text
        self.core = (int(match[1]), int(match[2]), int(match[3]))
        self.prerelease = tuple(match[4].split(".")) if match[4] else ()

    def _key(self) -> tuple[tuple[int, int, int], int, tuple[tuple[int, int, str], ...]]:
        # A pre-release sorts before its release; numeric identifiers sort
        # numerically and before alphanumeric ones.
        identifiers = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return self.core, 0 if self.prerelease else 1, identifiers

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.text


def is_valid(text: str) -> bool:
    try:
        Version(text)
    except ValueError:
        return False
    return True
