"""Writes about interactions: create, correct, import, attach a recording. Functions take
(session, actor, ...) and flush, never commit.

A chat's or e-mail's text must be redacted as it is saved, and redaction lives a layer above
(transcription). So the writes here send ``qm.signals.interaction_text_changed`` in the same
transaction, and transcription subscribes to it: the core never imports a domain."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select, tuple_
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from qm import audit, csvfiles
from qm.auth.permissions import require
from qm.errors import InvalidInput
from qm.interactions.models import Interaction
from qm.interactions.services import (
    COLUMN_ALIASES,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SOURCE_RE,
    AgentCache,
    RowInvalid,
    attach_recording,
    clean_fields,
    interaction_snapshot,
    new_interaction,
    parse_timezone,
    text_changed,
)
from qm.storage import RecordingStore, StorageError


@dataclass
class RowError:
    line: int
    reason: str
    external_id: str = ""


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    already_imported: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows, "created": self.created,
            "already_imported": self.already_imported,
            "failed": len(self.errors),
            "errors": [{"line": e.line, "external_id": e.external_id, "reason": e.reason}
                       for e in self.errors],
            "warnings": self.warnings,
        }


def import_csv(
    session: Session,
    actor: Any,
    stream: BinaryIO | io.TextIOBase,
    *,
    source: str = "csv",
    timezone: str = "UTC",
    store: RecordingStore | None = None,
    base_dir: Path | None = None,
    chunk_size: int = 1000,
    on_chunk: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import interactions from CSV: good rows in, bad rows reported by line, nothing twice.

    Each row stands alone: a bad row is reported with its line number and reason and the rest
    goes on. The natural key (source, external_id) makes a re-import of the same file a no-op.
    ``on_chunk`` is called after each chunk is flushed (the CLI commits there, so a crash
    loses at most one chunk, and the re-run picks up the rest).
    """
    require(actor, "interaction.import")
    tz = parse_timezone(timezone)
    if not SOURCE_RE.match(source):
        raise InvalidInput(f"source {source!r} must be 1-40 letters, digits, '.', '-' or '_'.")
    reader = csvfiles.reader(stream)
    report = ImportReport()
    mapping, report.warnings = csvfiles.header(reader, REQUIRED_COLUMNS, OPTIONAL_COLUMNS,
                                               aliases=COLUMN_ALIASES)
    agents = AgentCache(session)
    seen: dict[tuple[str, str], int] = {}
    pending: list[tuple[int, dict[str, Any]]] = []

    def insert(rows: list[tuple[int, dict[str, Any]]]) -> list[Interaction]:
        new = []
        for _line, fields_ in rows:
            interaction = new_interaction(actor, fields_)
            if fields_.get("stored") is not None:
                attach_recording(interaction, fields_["stored"])
            new.append(interaction)
        session.add_all(new)
        session.flush()
        for interaction in new:
            audit.record(session, actor, "interaction.imported", interaction,
                         after=interaction_snapshot(interaction))
            if interaction.body:
                text_changed(session, interaction, new=True)
        session.flush()
        return new

    def flush_pending() -> None:
        if not pending:
            return
        keys = [(f["source"], f["external_id"]) for _, f in pending]
        existing = {tuple(row) for row in session.execute(
            select(Interaction.source, Interaction.external_id)
            .where(tuple_(Interaction.source, Interaction.external_id).in_(keys))
        )}
        fresh = [(line, f) for line, f in pending
                 if (f["source"], f["external_id"]) not in existing]
        report.already_imported += len(pending) - len(fresh)
        audit.lock(session)  # in this transaction, outside the savepoints below
        try:
            with session.begin_nested():
                new = insert(fresh)
        except DBAPIError:
            # The database refused a row the checks above let through. Find it row by row,
            # each in a savepoint of its own: it is reported by line, the others go in.
            new = []
            for line, fields_ in fresh:
                try:
                    with session.begin_nested():
                        new += insert([(line, fields_)])
                except DBAPIError as exc:
                    report.errors.append(RowError(line, csvfiles.refusal(exc),
                                                  fields_["external_id"]))
        report.created_ids.extend(i.id for i in new)
        report.created += len(new)
        pending.clear()
        if on_chunk is not None:
            on_chunk(report)

    for row in csvfiles.numbered(reader, mapping):
        if isinstance(row, csvfiles.Unreadable):
            report.errors.append(RowError(row.line, row.reason))
            break
        line, raw = row.line, row.values
        report.rows += 1
        if row.extra_cells:
            report.errors.append(RowError(line, "more cells than header columns",
                                          str(raw.get("external_id") or "")))
            continue
        try:
            fields_ = clean_fields(raw, agents, tz, source)
        except RowInvalid as exc:
            report.errors.append(RowError(line, str(exc), str(raw.get("external_id") or "")))
            continue
        key = (fields_["source"], fields_["external_id"])
        if key in seen:
            report.errors.append(RowError(line, f"duplicate of line {seen[key]} "
                                          f"({key[0]}/{key[1]})", key[1]))
            continue
        seen[key] = line
        recording = (raw.get("recording") or "").strip()
        if recording:
            try:
                fields_["stored"] = _store_row_recording(recording, store, base_dir)
            except StorageError as exc:
                report.errors.append(RowError(line, str(exc), key[1]))
                continue
        pending.append((line, fields_))
        if len(pending) >= chunk_size:
            flush_pending()
    flush_pending()
    return report


def _store_row_recording(name: str, store: RecordingStore | None, base_dir: Path | None) -> Any:
    if store is None or base_dir is None:
        raise StorageError("this import cannot reference recording files (upload the "
                           "recording on the interaction's page, or import with `qm "
                           "interactions import`, which reads files beside the CSV)")
    path = Path(name)
    if not path.is_absolute():
        path = base_dir / path
    return store.put_path(path)
