"""Alembic, driven from code: ``qm db upgrade`` and the schema check at start-up."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from qm.config import DOMAINS
from qm.errors import SchemaNotCurrent

HERE = Path(__file__).parent


def load_models() -> None:
    """Import every model module so that ``Base.metadata`` knows every table."""
    importlib.import_module("qm.auth.models")
    importlib.import_module("qm.audit")
    importlib.import_module("qm.notifications.models")
    for domain in DOMAINS:
        if importlib.util.find_spec(f"{domain}.models") is not None:
            importlib.import_module(f"{domain}.models")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str | None:
    script = ScriptDirectory(str(HERE))
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def check_schema(engine: Engine) -> None:
    """Refuse to serve a database whose schema is not the one this code was written for."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaNotCurrent(
            f"The database at {where} has no qm schema yet. Run `qm db upgrade` to create it."
        )
    script = ScriptDirectory(str(HERE))
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaNotCurrent(
            f"The database at {where} is at revision {current}, which this version of qm does "
            "not know: it was migrated by a newer qm. Upgrade qm, or restore a matching backup."
        )
    raise SchemaNotCurrent(
        f"The database at {where} is at schema revision {current}; this qm needs {head}. "
        "Run `qm db upgrade` to migrate it (take a backup first)."
    )
