"""Append-only, hash-chained audit log.

Each entry carries a sequence number, the hash of the entry before it and the SHA-256 of
``prev_hash + canonical JSON of its own content``. Altering any stored field of an entry, or
removing one from the middle, breaks the chain at that point; ``verify`` names the first break.
Removing entries from the *end* leaves a valid shorter chain, which is why ``head`` exists: publish
the head (sequence and hash) elsewhere, and ``verify(anchor=...)`` proves the log still holds it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, event, false, func, inspect, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from qm.db import Base, UTCDateTime, utcnow

GENESIS = "0" * 64
_HEAD_KEY = "qm.audit.head"
_PG_LOCK_KEY = 0x716D_6175  # "qmau": one advisory lock serialises appends on PostgreSQL


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    # No foreign key on purpose: nothing may ever rewrite an entry, not even a cascade.
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_name: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def content(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "before": self.before,
            "after": self.after,
        }

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for each field that differs: what the history page shows.

        The row version is bookkeeping: it stays in the entry but is not shown as a change.
        """
        before, after = self.before or {}, self.after or {}
        keys = sorted((set(before) | set(after)) - {"version"})
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def entry_hash(prev_hash: str, content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + "\n" + canonical).encode("utf-8")).hexdigest()


def jsonable(value: Any) -> Any:
    """A value as it is kept in the log: JSON types only, deterministic."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def digest(text: str | None) -> dict[str, Any] | None:
    """Stands in for personal free text in the log: proves what it was without keeping it."""
    if text is None:
        return None
    return {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "chars": len(text)}


def snapshot(record: Any, **extra: Any) -> dict[str, Any]:
    """The record's column values (secrets left out), plus any ``extra`` derived fields."""
    excluded = set(getattr(record, "__audit_exclude__", ()))
    mapper = inspect(record).mapper
    data = {
        attr.key: jsonable(getattr(record, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in excluded
    }
    data.update({k: jsonable(v) for k, v in extra.items()})
    return data


def _head(session: Session) -> tuple[int, str]:
    cached = session.info.get(_HEAD_KEY)
    if cached is not None:
        return cached
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Held to the end of the transaction: concurrent writers append one after another.
        session.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    elif bind.dialect.name == "sqlite":
        # A write that matches nothing opens the transaction and takes SQLite's write lock, so
        # the head read next cannot be read by another writer at the same time.
        session.execute(update(AuditEntry).where(false()).values(seq=AuditEntry.seq))
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS)


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: Any) -> None:
    # The cached head is only good inside the transaction that holds the append lock; after a
    # savepoint it is read again (a rolled-back savepoint took its entries with it).
    session.info.pop(_HEAD_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_head_on_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_HEAD_KEY, None)


def lock(session: Session) -> None:
    """Take the chain's append lock now, in the transaction as it stands: before a savepoint,
    so that the lock outlives the savepoint, and so that on SQLite the transaction is open
    (pysqlite begins one only at a write: a SAVEPOINT before it would start one of its own,
    and its RELEASE would commit)."""
    _head(session)


def actor_identity(actor: Any) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    username = getattr(actor, "username", None)
    return getattr(actor, "id", None), username or getattr(actor, "name", "system")


def record(
    session: Session,
    actor: Any,
    action: str,
    entity: Any = None,
    *,
    entity_type: str | None = None,
    entity_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. ``entity`` names the record (its table and id) unless given explicitly."""
    if entity is not None:
        if entity_id is None:
            if inspect(entity).identity is None:
                session.flush()
            entity_id = inspect(entity).identity[0]
        entity_type = entity_type or entity.__tablename__
    if entity_type is None or entity_id is None:
        raise ValueError("an audit entry needs the entity it is about")
    seq, prev = _head(session)
    actor_id, actor_name = actor_identity(actor)
    entry = AuditEntry(
        seq=seq + 1,
        at=utcnow(),
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=before,
        after=after,
        prev_hash=prev,
    )
    entry.hash = entry_hash(prev, entry.content())
    session.add(entry)
    session.info[_HEAD_KEY] = (entry.seq, entry.hash)
    return entry


@contextmanager
def change(session: Session, actor: Any, action: str, entity: Any,
           snap: Callable[[Any], dict[str, Any]] = snapshot) -> Iterator[None]:
    """Audit the changes made to ``entity`` inside the block: before, flush, after.

    Nothing is recorded if the block raises, so a refused change leaves no entry.
    """
    before = snap(entity)
    yield
    session.flush()
    record(session, actor, action, entity, before=before, after=snap(entity))


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""
    first_bad_seq: int | None = None
    head: tuple[int, str] | None = None


def _entries(session: Session) -> Iterator[AuditEntry]:
    # populate_existing: verify what the database holds now, never an object cached earlier.
    stmt = select(AuditEntry).order_by(AuditEntry.seq).execution_options(
        yield_per=2000, populate_existing=True
    )
    yield from session.scalars(stmt)


def verify(session: Session, anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the chain from the first entry; stop at the first entry that does not fit."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    anchor_seen = anchor is None
    for entry in _entries(session):
        if entry.seq != expected_seq:
            missing = (
                f"entry {expected_seq}" if entry.seq == expected_seq + 1
                else f"entries {expected_seq}..{entry.seq - 1}"
            )
            return VerifyResult(False, checked, f"{missing} removed: the chain jumps from "
                                f"{expected_seq - 1} to {entry.seq}", expected_seq)
        if entry.prev_hash != prev_hash:
            return VerifyResult(False, checked, f"entry {entry.seq} does not follow entry "
                                f"{entry.seq - 1}: its prev_hash was changed, or the entry "
                                "before it was altered or replaced", entry.seq)
        if entry_hash(prev_hash, entry.content()) != entry.hash:
            return VerifyResult(False, checked, f"entry {entry.seq} was altered: its content no "
                                "longer matches its hash", entry.seq)
        if anchor is not None and entry.seq == anchor[0]:
            if entry.hash != anchor[1]:
                return VerifyResult(False, checked, f"entry {entry.seq} differs from the "
                                    "published anchor", entry.seq)
            anchor_seen = True
        prev_hash, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
        session.expunge(entry)
    head = (expected_seq - 1, prev_hash) if checked else None
    if not anchor_seen:
        assert anchor is not None
        return VerifyResult(False, checked, f"the anchored entry {anchor[0]} is missing: the "
                            f"log ends at entry {expected_seq - 1}", anchor[0], head)
    return VerifyResult(True, checked, head=head)


def history(session: Session, entity_type: str, entity_id: Any) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.seq.desc())
    )
    return list(session.scalars(stmt))


# --- reading the log (the audit page) ----------------------------------------------------------

def head(session: Session) -> tuple[int, str] | None:
    """The last entry's (seq, hash), to note down and check later with ``verify(anchor=...)``;
    None on an empty log. A plain read: unlike appending, it takes no lock."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def filtered(stmt: Any, wanted: Any) -> Any:
    """``stmt`` narrowed to the entries a ``qm.auditview.AuditFilter`` asks for."""
    if wanted.start is not None:
        stmt = stmt.where(AuditEntry.at >= wanted.start)
    if wanted.end is not None:
        stmt = stmt.where(AuditEntry.at < wanted.end)
    if wanted.system_actor:
        stmt = stmt.where(AuditEntry.actor_id.is_(None))
    elif wanted.actor:
        stmt = stmt.where(AuditEntry.actor_name == wanted.actor)
    if wanted.entity_type:
        stmt = stmt.where(AuditEntry.entity_type == wanted.entity_type)
    if wanted.entity_id:
        stmt = stmt.where(AuditEntry.entity_id == wanted.entity_id)
    if wanted.action_is_prefix:
        escaped = wanted.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(AuditEntry.action.like(escaped + "%", escape="\\"))
    elif wanted.action:
        stmt = stmt.where(AuditEntry.action == wanted.action)
    return stmt


def present(session: Session) -> tuple[list[str], list[str]]:
    """The record types and the actions the log holds, for the page's filters (each read from
    its own index)."""
    types = session.scalars(select(AuditEntry.entity_type).distinct()
                            .order_by(AuditEntry.entity_type)).all()
    actions = session.scalars(select(AuditEntry.action).distinct()
                              .order_by(AuditEntry.action)).all()
    return list(types), list(actions)
