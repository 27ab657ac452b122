"""Alembic environment: runs on the connection ``alliance.storage.database.migrate`` passes."""

from alembic import context

from alliance.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
