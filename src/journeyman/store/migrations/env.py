"""Alembic environment: the engine comes from ``journeyman.store.migrate``."""

from __future__ import annotations

from alembic import context

from journeyman.store.schema import metadata

engine = context.config.attributes.get("engine")
if engine is None:  # run by the alembic command line: take the URL from alembic.ini
    from journeyman.store.database import make_engine

    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
