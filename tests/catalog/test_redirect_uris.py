"""Redirect URIs: what a release may register (RFC 9700 §2.1, §4.1; RFC 8252 §7.3)."""

from __future__ import annotations

import pytest

from catalog.redirect_uris import MAX_LENGTH, validate_redirect_uri, validate_redirect_uris
from torget.errors import Invalid


def _refusal(uri: object) -> str:
    with pytest.raises(Invalid) as caught:
        validate_redirect_uri(uri)  # type: ignore[arg-type]
    (message,) = caught.value.fields["redirect_uri"]
    return message


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example/callback",
        "https://app.example:8443/smart/redirect?tenant=oslo",
        "https://xn--br-yia.example/cb",  # an IDN host in its ASCII form
        "https://203.0.113.7/cb",
        "https://[2001:db8::1]/cb",
        "http://localhost:3000/callback",
        "http://127.0.0.1/callback",
        "http://[::1]:8080/callback",
        "https://app.example",
    ],
)
def test_an_acceptable_uri_comes_back_unchanged(uri):
    # Exact string matching at use time: nothing may be normalised here.
    assert validate_redirect_uri(uri) == uri


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("http://app.example/callback", "plain http"),
        ("http://192.168.1.10/callback", "plain http"),
        ("http://localhost.evil.example/cb", "plain http"),
        ("https://app.example/callback#state", "fragment"),
        ("https://app.example/callback#", "fragment"),
        ("https://*.app.example/callback", "wildcards"),
        ("https://app.example/*", "wildcards"),
        ("https://app.example/a*/cb", "wildcards"),
        ("https://user:secret@app.example/cb", "user name"),
        ("https://app.example@evil.example/cb", "user name"),
        ("https://app.example/call back", "spaces"),
        ("https://app.example/cb\n", "control"),
        ("https://app.example/cb\x00", "control"),
        ("https://app.example/cb\u202e", "non-ASCII"),
        ("https://bø.example/cb", "non-ASCII"),
        ("https://app.example\\@evil.example/", "backslashes"),
        ("com.example.app:/oauth2redirect", "Custom URI schemes"),
        ("myapp://callback", "Custom URI schemes"),
        ("javascript:alert(1)", "Custom URI schemes"),
        ("/callback", "absolute"),
        ("app.example/callback", "absolute"),
        ("//app.example/callback", "absolute"),
        ("https:///callback", "absolute"),
        ("", "absolute"),
        ("https://app.example:0/cb", "port"),
        ("https://app.example:65536/cb", "port"),
        ("https://app.example:http/cb", "port"),
        ("https://[::1/cb", "host"),
        ("https://app_1.example/cb", "host"),
        ("https://2130706433/cb", "host"),  # browsers read it as 127.0.0.1
        ("https://0x7f.1/cb", "host"),
        ("https://300.1.1.1/cb", "host"),
        ("https://app.example/" + "a" * MAX_LENGTH, "at most 2000"),
    ],
)
def test_an_unsafe_or_malformed_uri_is_refused_with_its_reason(uri, words):
    assert words in _refusal(uri)


def test_something_that_is_not_text_is_refused():
    assert "absolute" in _refusal(None)
    assert "absolute" in _refusal(["https://app.example/cb"])


def test_a_uri_of_exactly_the_maximum_length_is_accepted():
    uri = "https://app.example/" + "a" * (MAX_LENGTH - len("https://app.example/"))
    assert len(uri) == MAX_LENGTH
    assert validate_redirect_uri(uri) == uri


def test_a_list_keeps_its_order():
    uris = ["https://b.example/cb", "https://a.example/cb", "http://localhost:5173/cb"]
    assert validate_redirect_uris(uris) == uris


@pytest.mark.parametrize(
    "value",
    [[], [f"https://app.example/cb{i}" for i in range(11)], "https://app.example/cb", None],
    ids=["empty", "eleven", "a-string", "none"],
)
def test_a_list_holds_one_to_ten_uris(value):
    with pytest.raises(Invalid) as caught:
        validate_redirect_uris(value)
    assert caught.value.fields == {"redirect_uris": ["Register 1 to 10 redirect URIs."]}


def test_ten_uris_are_accepted():
    uris = [f"https://app.example/cb{i}" for i in range(10)]
    assert validate_redirect_uris(uris) == uris


def test_every_bad_uri_is_reported_on_its_own_index():
    with pytest.raises(Invalid) as caught:
        validate_redirect_uris(
            [
                "https://app.example/cb",
                "http://app.example/cb",
                "https://app.example/cb",
                "https://app.example/other",
                "https://*.example/cb",
            ]
        )
    fields = caught.value.fields
    assert sorted(fields) == ["redirect_uris.1", "redirect_uris.2", "redirect_uris.4"]
    assert "plain http" in fields["redirect_uris.1"][0]
    assert fields["redirect_uris.2"] == ["This redirect URI is already in the list."]
    assert "wildcards" in fields["redirect_uris.4"][0]


def test_duplicates_are_exact_strings():
    # Two spellings of one address are two registrations; matching is exact.
    uris = ["https://app.example/cb", "https://APP.example/cb"]
    assert validate_redirect_uris(uris) == uris
