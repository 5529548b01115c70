from __future__ import annotations

from factory.alchemy import SQLAlchemyModelFactory

from torget.db import db


class ModelFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        # db.session is swapped per test; look it up at create time.
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"
