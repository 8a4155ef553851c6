"""Storing a transcript (calls and texts alike), audited without its words, and a segment as
stored JSON. Never imports Flask."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qm import audit
from qm.auth.permissions import SystemActor
from transcription.models import Transcript
from transcription.timeline import Segment

ACTOR = SystemActor("transcription")


def segment_json(segment: Segment) -> dict[str, Any]:
    return {"start": round(segment.start, 3), "end": round(segment.end, 3),
            "speaker": segment.speaker, "text": segment.text.strip(),
            "confidence": None if segment.confidence is None else round(segment.confidence, 4),
            "words": [[round(w.start, 3), round(w.end, 3), w.text, round(w.probability, 4)]
                      for w in segment.words]}


def store_transcript(session: Session, interaction_id: int,
                     values: dict[str, Any]) -> Transcript:
    """Create or replace an interaction's transcript (calls and texts alike), audited."""
    stored = session.scalar(select(Transcript).where(
        Transcript.interaction_id == interaction_id))
    before = None
    if stored is None:
        stored = Transcript(interaction_id=interaction_id)
        session.add(stored)
    else:
        before = transcript_audit_view(stored)
    for name, value in values.items():
        setattr(stored, name, value)
    session.flush()
    audit.record(session, ACTOR, "transcript.stored" if before is None
                 else "transcript.replaced", stored, before=before,
                 after=transcript_audit_view(stored))
    return stored


def transcript_audit_view(stored: Transcript) -> dict[str, Any]:
    """What the log keeps of a transcript: never its words (they must stay erasable), only
    their digest and what made them."""
    return {"interaction_id": stored.interaction_id, "source": stored.source,
            "audio_sha256": stored.audio_sha256,
            "model": stored.model, "duration_s": stored.duration_s,
            "redactions": stored.redactions, "text": audit.digest(stored.text),
            "raw_text_kept": stored.raw_text is not None}
