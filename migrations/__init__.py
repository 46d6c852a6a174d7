"""Alembic environment and version files of lynkflow's schema (installed as `lynkflow.migrations`)."""
