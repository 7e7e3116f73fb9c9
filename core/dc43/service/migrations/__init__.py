"""Alembic migrations of the service's database; ``dc43.service.database`` applies them at start."""
