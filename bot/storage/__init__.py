"""Persistence: SQLAlchemy models, the session factory, the queries, migrations."""
