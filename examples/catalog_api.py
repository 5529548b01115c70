"""A release from draft to certified through the JSON API, with only the standard library.

    VENDOR_TOKEN=torget_pat_... REVIEWER_TOKEN=torget_pat_... \\
        python3 examples/catalog_api.py [BASE_URL]

Make the two tokens on /account/tokens, signed in as the demo vendor
(vendor@torget.example) and the demo reviewer (reviewer@torget.example). The
vendor registers a new app under its first vendor, makes a draft with a
client secret, uploads evidence for every mandatory criterion and submits;
the reviewer starts the review, passes every criterion and certifies; the
vendor then creates the production client's secret (shown once).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000").rstrip("/")
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def call(
    token: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> tuple[Any, dict[str, str]]:
    """One API call; the parsed JSON answer and the headers. Exits with the problem on an error."""
    data, sent = None, {"Authorization": f"Bearer {token}", **(headers or {})}
    if files is not None:
        data, sent["Content-Type"] = _multipart(body or {}, files)
    elif body is not None:
        data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=sent)  # noqa: S310 - the demo's own address
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310
            raw = response.read()
            return (json.loads(raw) if raw else None), dict(response.headers)
    except urllib.error.HTTPError as error:
        sys.exit(f"{method} {path}: {error.code} {error.read().decode()}")


def _multipart(
    fields: dict[str, Any], files: dict[str, tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, (filename, content, content_type) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def main() -> None:
    vendor_token, reviewer_token = os.environ["VENDOR_TOKEN"], os.environ["REVIEWER_TOKEN"]
    slug = f"api-demo-{uuid.uuid4().hex[:6]}"

    vendors, _ = call(vendor_token, "GET", "/api/v1/vendors")
    vendor = vendors[0]["slug"]
    call(
        vendor_token,
        "POST",
        f"/api/v1/vendors/{vendor}/applications",
        {
            "slug": slug,
            "name": "API-demo",
            "summary_nb": "Laget gjennom API-et.",
            "summary_en": "Made through the API.",
            "description_nb": "Et eksempel.",
            "description_en": "An example.",
            "category": "documentation",
            "audience": "clinician",
            "support_url": "https://example.no/support",
            "privacy_url": "https://example.no/privacy",
            "price_model": "free",
        },
    )
    release, _ = call(
        vendor_token,
        "POST",
        f"/api/v1/applications/{slug}/releases",
        {"version": "1.0.0", "client_type": "confidential_secret"},
    )
    path = f"/api/v1/releases/{release['id']}"
    _, headers = call(vendor_token, "GET", path)
    call(
        vendor_token,
        "PATCH",
        path,
        {
            "launch_url": f"https://{slug}.example.no/launch",
            "redirect_uris": [f"https://{slug}.example.no/callback"],
            "scopes": "launch openid fhirUser patient/Observation.rs",
            "launch_modes": ["ehr"],
            "release_notes": "First release.",
            "data_use_statement": "Reads observations to show a trend; writes nothing.",
        },
        headers={"If-Match": headers["ETag"]},
    )
    criteria, _ = call(vendor_token, "GET", "/api/v1/criteria")
    issued = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=7)).isoformat()
    for criterion in criteria:
        if criterion["mandatory"]:
            call(
                vendor_token,
                "POST",
                f"{path}/evidence",
                {"criterion": criterion["code"], "issued_on": issued},
                files={"file": (f"{criterion['code'].lower()}.pdf", PDF, "application/pdf")},
            )
    missing, _ = call(vendor_token, "GET", f"{path}/missing")
    print("missing before submission:", missing["missing"] or "nothing")
    call(vendor_token, "POST", f"{path}/submit")
    print(f"{slug} 1.0.0 submitted")

    review = f"/api/v1/review/releases/{release['id']}"
    call(reviewer_token, "POST", f"{review}/start")
    for criterion in criteria:
        call(
            reviewer_token,
            "PUT",
            f"{review}/checks/{criterion['code']}",
            {"outcome": "passed", "comment": "Checked."},
        )
    certified, _ = call(reviewer_token, "POST", f"{review}/certify", {"comment": "All met."})
    print(f"{slug} {certified['version']} is {certified['state']}")

    clients, _ = call(vendor_token, "GET", f"/api/v1/applications/{slug}/clients")
    production = next(c for c in clients if c["environment"] == "production")
    issued_secret, _ = call(
        vendor_token, "POST", f"/api/v1/clients/{production['client_id']}/secrets"
    )
    print(f"production client {production['client_id']}: secret {issued_secret['secret'][:14]}…")


if __name__ == "__main__":
    main()
