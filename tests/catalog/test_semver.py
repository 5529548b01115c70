from __future__ import annotations

import pytest

from catalog.semver import Version, is_valid


@pytest.mark.parametrize(
    "text",
    ["0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7", "2.0.0-rc.1"],
)
def test_valid(text: str) -> None:
    assert is_valid(text)
    assert str(Version(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "1.2",
        "v1.2.3",
        "01.2.3",
        "1.2.3-",
        "1.2.3+build.1",
        "1.2.3-01",
        "1.2.3 ",
        "1.2.3.4",
        "1" * 70 + ".0.0",
    ],
)
def test_invalid(text: str) -> None:
    assert not is_valid(text)


def test_precedence_follows_the_specification() -> None:
    # semver.org §11's own example, in order.
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2.0",
        "2.0.0",
        "10.0.0",
    ]
    shuffled = list(reversed(ordered))
    assert [str(v) for v in sorted(Version(t) for t in shuffled)] == ordered
    assert Version("1.0.0") == Version("1.0.0")
    assert Version("1.9.0") < Version("1.10.0")
