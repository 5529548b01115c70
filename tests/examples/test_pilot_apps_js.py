"""Runs the pilot apps' node tests (examples/<app>/*.test.mjs) as part of make test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("app", ["news2", "tjenesteoversikt"])
def test_the_pilot_apps_pass_their_node_tests(app: str) -> None:
    result = subprocess.run(
        ["node", "--test", str(EXAMPLES / app)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0, "node --test failed: see the output above"
