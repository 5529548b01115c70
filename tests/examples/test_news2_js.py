"""Runs the NEWS2 Varsel app's node tests (examples/news2/*.test.mjs)."""

from __future__ import annotations

import subprocess
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "examples" / "news2"


def test_the_news2_scorer_and_fhir_mapping_pass_their_node_tests() -> None:
    result = subprocess.run(
        ["node", "--test", str(APP)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0, "node --test failed: see the output above"
