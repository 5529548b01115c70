"""Call Torget's JSON API with a personal API token, using only the standard library.

    TORGET_URL=http://127.0.0.1:5000 TORGET_TOKEN=torget_pat_... python examples/api_token.py

Create the token on /account/tokens. Prints who you are and the municipalities.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any


def get(base_url: str, path: str, token: str | None = None) -> Any:
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"TORGET_URL must be an http(s) URL, not {base_url!r}")
    request = urllib.request.Request(base_url.rstrip("/") + path)  # noqa: S310 - scheme checked
    request.add_header("Accept", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def main() -> int:
    base_url = os.environ.get("TORGET_URL", "http://127.0.0.1:5000")
    token = os.environ.get("TORGET_TOKEN")
    if not token:
        print("Set TORGET_TOKEN to a personal API token (see /account/tokens).", file=sys.stderr)
        return 2
    try:
        me = get(base_url, "/api/v1/me", token)
        tenants = get(base_url, "/api/v1/tenants")
    except urllib.error.HTTPError as error:
        # Torget answers errors as application/problem+json (RFC 9457).
        problem = json.load(error)
        print(f"{error.code} {problem.get('title')}: {problem.get('detail', '')}", file=sys.stderr)
        return 1
    roles = ", ".join(
        m["role"] + (f" ({m['organisation']['name']})" if m["organisation"] else "")
        for m in me["memberships"]
    )
    print(f"Signed in as {me['display_name']} <{me['email']}>: {roles or 'no roles'}")
    for tenant in tenants:
        print(f"{tenant['name']:<24} {tenant['organisation_number']}  {tenant['population']:>9,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
