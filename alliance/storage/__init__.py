"""Persistence: SQLAlchemy 2 Core tables, engines, Alembic migrations and queries."""
