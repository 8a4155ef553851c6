"""The connection pool on PostgreSQL, whose server can close a connection the pool holds (a
restart, a firewall, an administrator): a connection left idle ``PING_AFTER_IDLE_S`` or more is
tested before it is handed out, and a dead one is replaced without an error; one back in the pool
a moment ago is handed out without that round trip."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from qm import db as qm_db


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
