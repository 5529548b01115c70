"""Texts a vendor or reviewer writes in both languages, read in the visitor's."""

from __future__ import annotations

from typing import Any

from torget.i18n import current_language


def localized(obj: Any, name: str) -> str:
    """`obj.<name>_en` for English readers, `obj.<name>_nb` otherwise (bokmål is the default)."""
    language = "en" if current_language() == "en" else "nb"
    return getattr(obj, f"{name}_{language}") or getattr(obj, f"{name}_nb")
