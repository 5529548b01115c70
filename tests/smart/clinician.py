"""The user's side of an authorization against a live Torget: a clinician with a browser session.

A `requests.Session` plays the browser: it follows the authorize URL, signs
in on `/login` when sent there, reads the consent page's form and approves
(or denies) it. It never follows the redirect back to the app: the app's
redirect URI need not exist, and the test hands the `Location` to the client
under test (fhirclient's `handle_callback`) or reads the code itself.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from tests.factories.accounts import PASSWORD
from tests.smart.live import REQUEST_TIMEOUT_S


@dataclass
class Form:
    """A form of a page: where it goes, its hidden fields and the values of its radios."""

    method: str
    action: str
    hidden: dict[str, str] = field(default_factory=dict)
    radios: dict[str, list[str]] = field(default_factory=dict)


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._open: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._open = Form(attributes.get("method", "get").lower(), attributes.get("action", ""))
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and attributes.get("name"):
            name, value = attributes["name"], attributes.get("value", "")
            kind = attributes.get("type", "text")
            if kind == "hidden":
                self._open.hidden[name] = value
            elif kind == "radio":
                self._open.radios.setdefault(name, []).append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def post_form(html: str, path: str) -> Form:
    """The one POST form of `html` whose action is `path` (the layout has forms of its own)."""
    reader = _FormReader()
    reader.feed(html)
    found = [f for f in reader.forms if f.method == "post" and urlsplit(f.action).path == path]
    assert len(found) == 1, f"expected one POST form to {path}, found {len(found)}:\n{html[:3000]}"
    return found[0]


def pkce() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636 §4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    """The query of a redirect, one value per name (a repeated name fails the test)."""
    values = parse_qs(urlsplit(url).query)
    assert all(len(v) == 1 for v in values.values()), url
    return {name: v[0] for name, v in values.items()}


class Clinician:
    """A clinician at a browser: one cookie jar, signed in when Torget asks."""

    def __init__(self, email: str) -> None:
        self.email = email
        self.session = requests.Session()

    def _get(self, url: str) -> requests.Response:
        return self.session.get(url, allow_redirects=False, timeout=REQUEST_TIMEOUT_S)

    def _post(self, url: str, data: dict[str, str]) -> requests.Response:
        return self.session.post(url, data=data, allow_redirects=False, timeout=REQUEST_TIMEOUT_S)

    def open(self, authorize_url: str) -> requests.Response:
        """Open the app's authorize URL, signing in if sent to `/login`.

        The answer to the authorization request itself: the consent page (200)
        or a redirect to the app (302) with a code or an error.
        """
        response = self._get(authorize_url)
        if response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login":
            login_url = urljoin(authorize_url, response.headers["Location"])
            page = self._get(login_url)
            assert page.status_code == 200, page.status_code
            form = post_form(page.text, "/login")
            signed_in = self._post(
                urljoin(login_url, form.action),
                {**form.hidden, "email": self.email, "password": PASSWORD},
            )
            assert signed_in.status_code == 303, (signed_in.status_code, signed_in.text[:2000])
            # Back to the same authorization request (the login form's `next`).
            back = urljoin(login_url, signed_in.headers["Location"])
            assert urlsplit(back).path == "/oauth/authorize", back
            response = self._get(back)
        return response

    def consent(self, authorize_url: str) -> requests.Response:
        """The consent page for `authorize_url` (signing in first if need be)."""
        page = self.open(authorize_url)
        assert page.status_code == 200, (page.status_code, page.headers.get("Location"))
        return page

    def decide(self, page: requests.Response, decision: str, *, patient: str | None = None) -> str:
        """Answer the consent page (`approve` or `deny`); the Location of the redirect to the app.

        With `patient`, pick that patient in the picker, which must offer them.
        """
        form = post_form(page.text, "/oauth/authorize")
        choices = {"decision": decision}
        if patient is not None:
            assert patient in form.radios.get("patient", []), form.radios
            choices["patient"] = patient
        answer = self._post(urljoin(page.url, form.action), {**form.hidden, **choices})
        assert answer.status_code == 302, (answer.status_code, answer.text[:2000])
        return answer.headers["Location"]

    def approve(self, authorize_url: str, *, patient: str | None = None) -> str:
        """Sign in, consent and approve: the Location of the redirect to the app."""
        return self.decide(self.consent(authorize_url), "approve", patient=patient)
