"""Alembic's environment: migrates the engine handed over by `database.upgrade` (no ini file)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from mgadvisor.records.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only via the alembic command line
    from mgadvisor.records.database import make_engine

    engine = make_engine()

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
