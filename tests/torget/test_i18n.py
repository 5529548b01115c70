from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import csrf_token
from torget.i18n import safe_next

ROOT = Path(__file__).resolve().parents[2]


def _switch(client, lang: str, next_path: str = "/"):
    return client.post(
        "/language", data={"lang": lang, "next": next_path, "csrf_token": csrf_token(client, "/")}
    )


def test_bokmal_is_the_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="nb">' in page
    assert "Logg inn" in page


def test_the_switcher_changes_language_and_returns_to_the_page(client):
    response = _switch(client, "en", "/m/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/m/"
    page = client.get("/m/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Municipalities" in page
    _switch(client, "nb")
    assert "Kommuner" in client.get("/m/").get_data(as_text=True)


def test_an_unknown_language_is_refused(client):
    response = _switch(client, "xx")
    assert response.status_code == 422


def test_the_switcher_needs_a_csrf_token(client):
    response = client.post("/language", data={"lang": "en"})
    assert response.status_code == 400
    assert '<html lang="nb">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "",
        None,
        "/ok\r\nSet-Cookie: x=1",
    ],
)
def test_returning_never_leaves_the_site(target):
    assert safe_next(target) == "/"


def test_returning_keeps_a_local_path_and_query():
    assert safe_next("/m/oslo/?tab=apps") == "/m/oslo/?tab=apps"


def test_every_ui_string_has_a_bokmal_translation(tmp_path):
    """Extract the messages as the build does; every one must be translated."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    with (ROOT / "torget/translations/nb/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert len(wanted) > 50
    assert sorted(str(m) for m in wanted - translated) == []
