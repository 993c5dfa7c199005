"""Alembic migrations of the records (run by :func:`mgadvisor.records.database.upgrade`)."""
