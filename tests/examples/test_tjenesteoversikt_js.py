"""Runs the Tjenesteoversikt app's node tests (examples/tjenesteoversikt/*.test.mjs)."""

from __future__ import annotations

import subprocess
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "examples" / "tjenesteoversikt"


def test_the_tjenesteoversikt_view_model_passes_its_node_tests() -> None:
    result = subprocess.run(
        ["node", "--test", str(APP)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0, "node --test failed: see the output above"
