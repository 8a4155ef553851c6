from __future__ import annotations

from alembic import context

from qm.db import Base
from qm.migrations import load_models

load_models()
config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite cannot ALTER most things: batch mode rebuilds a table (copy, drop, rename),
        # and with foreign keys on, dropping a table that other rows point at fails half-way.
        # SQLite's own recipe: keys off for the migration (a no-op inside a transaction, so
        # before it begins), checked once it is done, and on again.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(
                        "the migration would leave rows pointing at missing rows "
                        f"(table, rowid, parent, key): {broken[:5]}")
        connection.commit()
    finally:
        if sqlite:
            connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
