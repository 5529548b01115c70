"""The tree a newcomer reads: what must hold for its parts to find each other."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_benchmark_shadows_a_package_of_the_project() -> None:
    """A script in bench/ runs with bench/ on sys.path: bench/gateway.py once hid `gateway`."""
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    scripts = {path.stem for path in (ROOT / "bench").glob("*.py")}
    assert {"accounts", "catalog", "marketplace", "auth", "gateway", "torget"} <= packages
    assert scripts & packages == set()
