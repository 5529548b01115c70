"""The catalog JSON API (/api/v1/...): every action of the portal and the console."""

from __future__ import annotations

from flask_smorest import Blueprint

BLUEPRINTS: list[Blueprint] = []
