"""Connections and transactions. On PostgreSQL, whose server can close a connection the pool
holds (a restart, a firewall, an administrator), a connection left idle ``PING_AFTER_IDLE_S``
or more is tested before it is handed out and a dead one replaced without an error; one back in
the pool a moment ago is handed out without that round trip. A request's session ends a read
with COMMIT and anything else with ROLLBACK."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from qm import db as qm_db
from qm.auth.models import User
from qm.web import db


@pytest.fixture
def pg_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: a SQLite connection is a file, nothing closes it")
    return database_url


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    other = qm_db.make_engine(url, poolclass=NullPool)
    with other.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    other.dispose()


def test_a_connection_closed_by_the_server_while_idle_is_replaced_before_use(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = qm_db.make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        first = _backend(engine)
        _terminate(pg_url, first)
        monkeypatch.setattr(qm_db, "PING_AFTER_IDLE_S", 0.0)  # it has been idle long enough
        second = _backend(engine)  # no error: the dead connection was found and replaced
        assert second != first
        assert _backend(engine) == second  # and the new one is kept
    finally:
        engine.dispose()


def test_a_connection_back_a_moment_ago_is_handed_out_untested(pg_url: str) -> None:
    """The other side of the bargain, shown by its one cost: a connection the server closed
    within the idle time fails the request that gets it, and the pool then starts afresh."""
    engine = qm_db.make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        first = _backend(engine)
        _terminate(pg_url, first)
        with pytest.raises(DBAPIError) as failed, engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert failed.value.connection_invalidated
        assert _backend(engine) != first
    finally:
        engine.dispose()


def _ends(engine: Engine) -> list[str]:
    """How each transaction on ``engine`` ends from now on: "commit" or "rollback"."""
    ends: list[str] = []
    event.listen(engine, "commit", lambda _conn: ends.append("commit"))
    event.listen(engine, "rollback", lambda _conn: ends.append("rollback"))
    return ends


def test_a_request_that_only_read_commits_and_one_that_left_a_write_rolls_back(
        app: Flask, people: dict[str, Any]) -> None:
    """The request's session ends a read with COMMIT (the same to the database; psycopg keeps
    its prepared statements, which a ROLLBACK drops), and anything else as before: a write the
    view did not commit, or a request that failed, is rolled back and lost."""
    ends = _ends(app.extensions["qm"]["engine"])
    lead = people["lead_a"]
    with app.test_request_context():
        assert db.session.get(User, lead.id) is not None
        db.close()
    assert ends == ["commit"]
    with app.test_request_context():
        db.session.execute(update(User).where(User.id == lead.id).values(display_name="Never"))
        db.close()
    assert ends[1:] == ["rollback"]
    with app.test_request_context():
        db.session.get(User, lead.id).display_name = "Never either"
        db.close()
    assert ends[2:] == ["rollback"]
    with app.test_request_context():
        db.session.get(User, lead.id)
        db.close(RuntimeError("the view failed"))
    assert ends[3:] == ["rollback"]
    with app.test_request_context():
        assert db.session.get(User, lead.id).display_name == lead.display_name


def test_prepared_statements_outlive_a_request_that_only_read(
        pg_url: str, app: Flask, people: dict[str, Any]) -> None:
    lead = people["lead_a"]
    for _ in range(8):  # psycopg prepares a statement on its 5th use on one connection
        with app.test_request_context():
            db.session.execute(select(User.id).where(User.username == lead.username)).one()
            db.close()
    with app.test_request_context():
        prepared = db.session.execute(
            text("SELECT statement FROM pg_prepared_statements")).scalars().all()
        db.close()
    assert any("users.username" in statement for statement in prepared)
