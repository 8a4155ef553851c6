"""Which interaction a recording belongs to: the files of a batch, the metadata CSV or a
sidecar JSON, a file named after an interaction's external id, or a new interaction for the
agent given. Never imports Flask."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from qm import audit
from qm.errors import QMError
from qm.interactions import services as interactions
from qm.interactions.models import Interaction
from qm.storage import AUDIO_TYPES, RecordingStore
from transcription.store import ACTOR

METADATA_COLUMNS = ("source", "external_id", "agent", "channel", "queue", "direction",
                    "started_at", "customer_ref")


class LinkError(ValueError):
    """The file cannot be attached to an interaction; the message says how to fix it."""


def audio_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The files named and the audio files in the folders named, folders walked in name
    order; a name that does not exist is passed on (and fails with its reason)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in AUDIO_TYPES:
                    yield child
        else:
            yield path


def read_metadata(path: Path) -> dict[str, dict[str, str]]:
    """A CSV with a ``file`` column (a file name) and the interaction's columns."""
    out: dict[str, dict[str, str]] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "file" not in [f.strip().lower() for f in
                                                   reader.fieldnames]:
            raise LinkError(f"{path.name}: the metadata CSV needs a 'file' column.")
        for line, row in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            name = Path(row.pop("file", "")).name
            if not name:
                raise LinkError(f"{path.name}:{line}: the 'file' cell is empty.")
            out[name] = row
    return out


def _sidecar(path: Path) -> dict[str, str]:
    side = path.with_suffix(path.suffix + ".json")
    if not side.is_file():
        side = path.with_suffix(".json")
    if not side.is_file():
        return {}
    try:
        data = json.loads(side.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LinkError(f"{side.name} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise LinkError(f"{side.name} must hold a JSON object of the interaction's fields.")
    return {str(k): str(v) for k, v in data.items()}


def recording_seconds(duration_s: float) -> int:
    """An interaction's ``duration_s`` for a recording of ``duration_s`` seconds: whole
    seconds, and at least 1 for any sound at all (0 means "unknown" on an interaction)."""
    return max(1, round(duration_s)) if duration_s > 0 else 0


def link(session: Session, path: Path, store: RecordingStore | None, *,
         metadata: Mapping[str, Mapping[str, str]], agent: str | None, timezone: str,
         duration_s: float | None = None) -> Interaction:
    """The interaction the recording belongs to: from the metadata CSV or a sidecar JSON
    (found by source and external id, or created from the fields); else the interaction whose
    external id is the file name; else a new one for ``agent``. ``metadata`` maps file names to
    an interaction's fields (``read_metadata``); ``timezone`` is that of their times.

    ``duration_s`` is the recording's length (from its decoded samples): a new interaction
    takes it; an interaction found takes it only when its own is 0 (unknown), since a duration
    the source system gave is never overwritten. What an interaction found gains here (the
    recording, the duration) is audited like any other change to it."""
    fields = {**_sidecar(path), **metadata.get(path.name, {})}
    external_id = fields.get("external_id") or path.stem
    stmt = select(Interaction).where(Interaction.external_id == external_id)
    if fields.get("source"):
        stmt = stmt.where(Interaction.source == fields["source"])
    found = session.scalars(stmt.order_by(Interaction.id).limit(2)).all()
    if len(found) > 1:
        raise LinkError(f"more than one interaction has external id {external_id!r}; give its "
                        "source in the metadata.")
    if found:
        interaction = found[0]
        before = interactions.interaction_snapshot(interaction)
        if not interaction.recording_path and store is not None:
            stored = store.put_path(path)
            interactions.attach_recording(interaction, stored)
        if not interaction.duration_s and duration_s:
            interaction.duration_s = recording_seconds(duration_s)
        session.flush()
        after = interactions.interaction_snapshot(interaction)
        if after != before:
            audit.record(session, ACTOR, "interaction.updated", interaction, before=before,
                         after=after)
        return interaction
    if not fields.get("agent") and not agent:
        raise LinkError(f"no interaction with external id {external_id!r}: name the file after "
                        "one, describe it in a metadata CSV (--metadata) or a sidecar "
                        f"{path.name}.json, or pass --agent to create one")
    data = {"source": fields.get("source") or "recording", "external_id": external_id,
            "agent": fields.get("agent") or agent,
            "channel": fields.get("channel") or "voice",
            "queue": fields.get("queue", ""), "direction": fields.get("direction") or "inbound",
            "customer_ref": fields.get("customer_ref") or None,
            "duration_s": recording_seconds(duration_s or 0.0),
            "started_at": fields.get("started_at") or dt.datetime.fromtimestamp(
                path.stat().st_mtime, dt.UTC).isoformat()}
    try:
        with path.open("rb") as recording:
            return interactions.create_interaction(
                session, ACTOR, data, store=store, recording=recording,
                recording_name=path.name, timezone=timezone)
    except QMError as exc:
        raise LinkError(f"the interaction could not be made: {exc}") from None
