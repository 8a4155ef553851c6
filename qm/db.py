"""SQLAlchemy 2 base, engine and session factory. Imports no Flask: the CLI, workers and tests
use it as the web app does."""

from __future__ import annotations

import datetime as dt
import re
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from qm.config import Settings

T = TypeVar("T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Now, in UTC, at microsecond precision (what both databases keep)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; qm stores UTC and needs an aware datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str, **kwargs: Any) -> Engine:
    # A database error's message names the statement, never the values bound to it: they may
    # be a chat's words, and such a message reaches logs and terminals.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            # WAL lets the web app read while a batch import writes.
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    else:
        engine = create_engine(url, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            _ping_when_idle(engine)
    _note_writes(engine)
    return engine


_READ = re.compile(r"\s*(?:SELECT|SHOW|EXPLAIN|VALUES)\b", re.IGNORECASE)
"""A statement that only reads (a WITH may hide a write: it counts as one)."""


def _note_writes(engine: Engine) -> None:
    """Mark, on each connection, whether its transaction has sent anything but reads
    (``conn.info["qm_wrote"]``): ``finish`` commits a transaction that only read."""

    @event.listens_for(engine, "begin")
    def _began(conn: Any) -> None:
        conn.info["qm_wrote"] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _sending(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not conn.info.get("qm_wrote") and not _READ.match(statement):
            conn.info["qm_wrote"] = True


def finish(session: Session, *, failed: bool = False) -> None:
    """Close a request's session. A transaction that only read ends with COMMIT, anything
    else (a write left uncommitted, a failure) with ROLLBACK, as ``close`` does. To the
    database the two ends of a read are the same; but psycopg forgets every prepared statement
    at a ROLLBACK, so a page that rolled back would have its statements planned afresh on
    every request (2-3 ms of the database's time for an evaluation's joined load)."""
    try:
        if not failed and session.in_transaction() and only_read(session):
            session.commit()
    finally:
        session.close()


def only_read(session: Session) -> bool:
    """Whether the session's transaction has only read so far: nothing pending, nothing sent
    but reads. What it read then is what others may read too (it can be kept beyond the
    transaction); after a write it may be undone by a rollback."""
    return (not (session.new or session.dirty or session.deleted)
            and session.connection().info.get("qm_wrote") is False)


def remember(session: Session, store: weakref.WeakKeyDictionary[Any, dict[Any, Any]],
             limit: int, key: Any, value: Any) -> None:
    """Keep ``value`` under ``key`` for the session's database (at most ``limit`` keys; the
    oldest go all at once), if the session has only read: a write of its transaction may
    still be undone, and its version number or (on SQLite) its id come back with other
    content. For what never changes once read (a published form version's questions) or
    is keyed by the versions it was computed from."""
    if only_read(session):
        _put(store.setdefault(session.get_bind(), {}), limit, key, value)


def _put(kept: dict[Any, Any], limit: int, key: Any, value: Any) -> None:
    """``kept[key] = value``, with at most ``limit`` keys: the oldest go all at once."""
    if len(kept) >= limit:
        kept.clear()
    kept[key] = value


def remembered(session: Session, store: weakref.WeakKeyDictionary[Any, dict[Any, Any]]
               ) -> dict[Any, Any]:
    """What ``remember`` kept in ``store`` for the session's database."""
    return store.get(session.get_bind(), {})


def kept_while(store: dict[Any, tuple[float, Any, Any]], key: Any, build: Callable[[], T], *,
               version: Any, ttl_s: float, limit: int,
               may_keep: Callable[[], bool] | None = None) -> T:
    """``build()``, reused from ``store`` under ``key`` for ``ttl_s`` seconds while ``version``
    (e.g. ``change_version`` of what it is made from) stays the same; ``store`` keeps at most
    ``limit`` keys (the oldest go all at once), and nothing when ``may_keep()`` says no (a
    transaction that wrote: what it read may still be undone)."""
    now = time.monotonic()
    hit = store.get(key)
    if hit is not None and hit[1] == version and now - hit[0] < ttl_s:
        return hit[2]
    value = build()
    if may_keep is None or may_keep():
        _put(store, limit, key, (now, version, value))
    return value


def kept_for(session: Session, store: weakref.WeakKeyDictionary[Any, dict[Any, Any]], key: Any,
             build: Callable[[], T], *, version: Any, ttl_s: float, limit: int) -> T:
    """``kept_while`` for the session's database, keeping only what a transaction that has only
    read built (as ``remember``): for what the session reads that may change, reused while
    its ``version`` and time hold."""
    return kept_while(store.setdefault(session.get_bind(), {}), key, build, version=version,
                      ttl_s=ttl_s, limit=limit, may_keep=lambda: only_read(session))


_COMMITTED: dict[type, int] = {}


def change_version(*classes: type) -> int:
    """A number that changes with every commit, in this process, that added, changed or
    deleted a row of one of ``classes`` through the ORM: what a worker keeps a while that is
    made from them (``qm.web.kept``) is built afresh then, so a change through the same worker
    shows at once."""
    return sum(_COMMITTED.get(cls, 0) for cls in classes)


def _note_changes(session: Session, _context: Any) -> None:
    session.info.setdefault("qm_changed", set()).update(
        type(o) for o in (*session.new, *session.dirty, *session.deleted))


def _changes_committed(session: Session) -> None:
    for cls in session.info.pop("qm_changed", ()):
        _COMMITTED[cls] = _COMMITTED.get(cls, 0) + 1


def _changes_rolled_back(session: Session, previous: Any) -> None:
    # A savepoint's rollback undoes only some of the transaction's changes, and which ones is
    # not known here: they all stay noted, so what was kept is built afresh once too often
    # rather than kept stale.
    if not previous.nested:
        session.info.pop("qm_changed", None)


event.listen(Session, "after_flush", _note_changes)
event.listen(Session, "after_commit", _changes_committed)
event.listen(Session, "after_soft_rollback", _changes_rolled_back)


PING_AFTER_IDLE_S = 10.0
"""A pooled connection unused this long is tested before it is handed out."""


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before use only when it sat idle ``PING_AFTER_IDLE_S`` or more:
    a database restarted (or a firewall that dropped the link) while the site was quiet costs
    no request an error, and a busy site, whose connections come back within milliseconds, is
    spared a round trip per request (``pool_pre_ping`` pings every checkout). A connection
    found dead is replaced, transparently, as ``pool_pre_ping`` does."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["qm_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("qm_idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # new, or back in the pool a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception:  # noqa: BLE001 - any failure to ping means: connect again
            alive = False
        if not alive:
            raise DisconnectionError("the pooled connection did not answer a ping")


SESSION_SETTINGS = "settings"
"""The key of ``Session.info`` under which a session carries its site's ``Settings``."""


def make_session_factory(engine: Engine, settings: Settings | None = None) -> sessionmaker[Session]:
    """Sessions on ``engine``; given ``settings`` (the app, the ``qm`` command and the workers
    give theirs), each session carries them to code handed only the session (``settings_of``)."""
    info = {SESSION_SETTINGS: settings} if settings is not None else {}
    return sessionmaker(bind=engine, expire_on_commit=False, info=info)


def settings_of(session: Session) -> Settings:
    """The settings of the site a session works for, where nothing else passed them down (a
    receiver of ``qm.signals`` is given only the session): those the session carries, else
    ``Settings`` read afresh, which is how a script is configured."""
    settings = session.info.get(SESSION_SETTINGS)
    if not isinstance(settings, Settings):
        # A placeholder, not a secret: given one, Settings neither reads nor makes the site's
        # key file, which nothing here has a use for.
        settings = Settings(secret_key="unused")  # noqa: S106
    return settings
