"""Request rate limits per client and per IP, with Retry-After (being written)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from torget.db import db


class RateLimitWindow(db.Model):
    """Requests counted per key and fixed window, when no Redis is configured."""

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[int] = mapped_column(primary_key=True)  # epoch seconds
    count: Mapped[int] = mapped_column(default=0)
