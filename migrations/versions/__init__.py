"""Alembic revisions, oldest first by number; the schema exists only through these."""
