"""Alembic migrations for the Newswatch schema (run with `newswatch db upgrade`)."""
