"""Recording retention: call audio is kept for a set period (90-365 days is common practice),
then deleted unless the interaction is on legal hold. Transcripts and evaluations stay: they
are the evidence of monitoring; the audio is the personal data with the shortest life."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qm import audit
from qm.auth.permissions import require
from qm.db import utcnow
from qm.errors import InvalidInput
from qm.interactions.models import Interaction
from qm.interactions.services import get_interaction, interaction_snapshot
from qm.storage import RecordingStore


@dataclass
class RetentionReport:
    cutoff: dt.datetime
    deleted: int = 0
    held: int = 0
    shared: int = 0  # files kept because a younger or held interaction has the same recording
    missing: int = 0
    bytes_freed: int = 0
    ids: list[int] = field(default_factory=list)
    files: list[tuple[str, int]] = field(default_factory=list)  # to delete once committed

    def remove_files(self, store: RecordingStore) -> None:
        """Delete the files, after the commit: a crash in between leaves an orphan file (no
        record points at it), never a record pointing at a deleted file."""
        for relpath, size in self.files:
            path = store.path(relpath)
            if path.is_file():
                path.unlink()
                self.bytes_freed += size
            else:
                self.missing += 1
        self.files = []

    def line(self) -> str:
        return (f"Recordings of contacts before {self.cutoff:%Y-%m-%d}: {self.deleted} deleted "
                f"({self.bytes_freed / 1e6:.1f} MB freed), {self.held} kept on legal hold, "
                f"{self.shared} files kept for a younger interaction, {self.missing} were "
                "already missing.")


def apply_retention(session: Session, actor: Any, store: RecordingStore, days: int, *,
                    now: dt.datetime | None = None, dry_run: bool = False) -> RetentionReport:
    """Delete the recordings of interactions that started more than ``days`` ago.

    Each deletion is audited; the caller commits, then calls ``report.remove_files``. A file
    shared (same content) with an interaction that keeps its recording stays on disk; only the
    expired link goes.
    """
    require(actor, "interaction.edit")
    if days < 1:
        raise InvalidInput("The retention period is at least one day.", {"days": ">= 1"})
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    report = RetentionReport(cutoff)
    expired = session.scalars(select(Interaction).where(
        Interaction.started_at < cutoff, Interaction.recording_path.is_not(None))
        .order_by(Interaction.id)).all()
    for interaction in expired:
        if interaction.legal_hold:
            report.held += 1
            continue
        keepers = session.scalar(select(Interaction.id).where(
            Interaction.recording_path == interaction.recording_path,
            Interaction.id != interaction.id,
            (Interaction.started_at >= cutoff) | Interaction.legal_hold).limit(1))
        relpath, size = interaction.recording_path, interaction.recording_bytes or 0
        report.ids.append(interaction.id)
        report.deleted += 1
        if dry_run:
            continue
        with audit.change(session, actor, "recording.deleted_by_retention", interaction,
                          interaction_snapshot):
            interaction.recording_path = None
            interaction.recording_deleted_at = utcnow()
        if keepers is not None:
            report.shared += 1
        else:
            report.files.append((relpath, size))
    return report


def set_legal_hold(session: Session, actor: Any, interaction_id: int, hold: bool) -> Interaction:
    require(actor, "interaction.edit")
    interaction = get_interaction(session, interaction_id)
    with audit.change(session, actor, "interaction.legal_hold" if hold
                      else "interaction.legal_hold_released", interaction,
                      interaction_snapshot):
        interaction.legal_hold = hold
    return interaction
