"""What every ``qm`` command shares, core or domain: the lazily built settings, engine and
sessions of one invocation (``CliContext``, ``pass_ctx``) and whose name the audit log records
(``actor_option``, ``resolve_actor``), and how an import's report is printed
(``echo_import_report``)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property, wraps
from typing import Any

import click
from sqlalchemy.orm import Session

from qm.config import Settings
from qm.csvfiles import ImportReport


class CliContext:
    """Lazily built settings, engine and sessions for one invocation."""

    def __init__(self) -> None:
        self.schema_checked = False

    @cached_property
    def settings(self) -> Settings:
        return Settings()

    @cached_property
    def engine(self) -> Any:
        from qm.db import make_engine

        return make_engine(self.settings.database_url)

    @contextmanager
    def session(self, check: bool = True) -> Iterator[Session]:
        from qm import migrations
        from qm.db import make_session_factory

        if check and not self.schema_checked:
            migrations.check_schema(self.engine)  # SchemaNotCurrent: one line, from QMGroup
            self.schema_checked = True
        session = make_session_factory(self.engine, self.settings)()
        try:
            yield session
        finally:
            session.close()


pass_ctx = click.make_pass_decorator(CliContext, ensure=True)


def actor_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--as USER``: whose name the audit log records (default: the shell user, as system)."""

    @click.option("--as", "as_user", metavar="USERNAME",
                  help="Act as this qm user (their permissions apply and the audit log names "
                       "them). Default: the operator at this shell, with full rights.")
    @wraps(fn)
    def wrapper(*args: Any, as_user: str | None = None, **kwargs: Any) -> Any:
        kwargs["actor_name"] = as_user
        return fn(*args, **kwargs)

    return wrapper


def resolve_actor(session: Session, name: str | None) -> Any:
    from qm.auth.permissions import SystemActor
    from qm.auth.queries import find_user

    if not name:
        return SystemActor(f"cli:{getpass.getuser()}")
    user = find_user(session, name)
    if user is None or not user.active:
        raise click.ClickException(f"No active user {name!r}.")
    return user


def echo_import_report(report: ImportReport, file_name: str, done: str) -> None:
    """Each refused row as ``FILE:LINE: reason`` on stderr, then the counts (``done``: what
    happened to the rows that went in, "recorded", "added"); exit status 1 when a row failed."""
    for error in report.errors:
        click.echo(f"{file_name}:{error.line}: {error.reason}", err=True)
    click.echo(f"{report.rows} rows: {report.created} {done}, {report.already_there} already "
               f"there, {len(report.errors)} failed.")
    if report.errors:
        sys.exit(1)
