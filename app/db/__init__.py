"""Database access: engine and sessions, models, migrations, wiping."""
