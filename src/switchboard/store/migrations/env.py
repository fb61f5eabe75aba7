"""Alembic environment: runs on the engine handed in by `switchboard.store.migrate`."""

from alembic import context

from switchboard.store.engine import WRITE
from switchboard.store.tables import metadata

engine = context.config.attributes["engine"]
with engine.connect().execution_options(**WRITE) as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite can only alter tables by copying them; batch mode does that for us.
        render_as_batch=True,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()
