"""Chats and e-mails through the same redaction as calls, without transcription.

A text interaction's body becomes a stored transcript of ``source="text"``: one segment per
line or message, the speaker taken from a ``Customer:`` / ``Agent:`` prefix where there is one,
redacted with the same context-aware rules as a call (the agent's question licenses the
customer's answer), and counted. There is no timing in a text, so its "metrics" are counts:
messages and words per party.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.models import Interaction
from transcription.models import Transcript
from transcription.pipeline import store_transcript
from transcription.redaction import redact_segments
from transcription.timeline import AGENT, CUSTOMER, MONO, Segment

TEXT_CHANNELS = ("chat", "email", "messaging", "social")
_PREFIX = re.compile(r"^\s*(agent|customer|client|caller|advisor|adviser|you|me)\s*:\s*",
                     re.IGNORECASE)
_SPEAKERS = {"agent": AGENT, "advisor": AGENT, "adviser": AGENT, "me": AGENT,
             "customer": CUSTOMER, "client": CUSTOMER, "caller": CUSTOMER, "you": CUSTOMER}


def segments_of(body: str) -> list[Segment]:
    """One segment per non-empty line; a line without a prefix continues the last speaker (an
    e-mail without prefixes is one speaker throughout). Positions stand in for times."""
    out: list[Segment] = []
    labelled = any(_PREFIX.match(line) for line in body.splitlines())
    speaker = CUSTOMER if labelled else MONO
    for number, line in enumerate(body.splitlines()):
        if not line.strip():
            continue
        match = _PREFIX.match(line) if labelled else None
        if match:
            speaker = _SPEAKERS[match.group(1).lower()]
            line = line[match.end():]
        out.append(Segment(float(number), float(number), " " + line.strip(), speaker))
    return out


def counts(segments: list[Segment]) -> dict[str, Any]:
    def words(speaker: str | None) -> int:
        return sum(len(s.text.split()) for s in segments if speaker in (None, s.speaker))

    def messages(speaker: str) -> int:
        return sum(1 for s in segments if s.speaker == speaker)

    return {"messages": len(segments), "agent_messages": messages(AGENT),
            "customer_messages": messages(CUSTOMER), "words": words(None),
            "agent_words": words(AGENT), "customer_words": words(CUSTOMER)}


def process_text(session: Session, interaction: Interaction, *, keep_raw: bool = False
                 ) -> Transcript | None:
    """Store the redacted text transcript of one text interaction (None without a body)."""
    if not (interaction.body or "").strip():
        return None
    redacted, tags = redact_segments(segments_of(interaction.body or ""))
    segments = [{"start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text.strip(),
                 "confidence": None, "words": []} for s in redacted]
    return store_transcript(session, interaction.id, {
        "source": "text", "language": "", "model": "text", "settings": {},
        "segments": segments, "text": " ".join(s["text"] for s in segments if s["text"]),
        "raw_text": interaction.body if keep_raw else None, "metrics": counts(redacted),
        "redactions": tags, "warnings": []})


def pending(session: Session, limit: int | None = None) -> list[int]:
    """Text interactions with a body and no transcript yet, oldest first."""
    stmt = (select(Interaction.id).where(Interaction.channel.in_(TEXT_CHANNELS),
                                         Interaction.body.is_not(None),
                                         ~Interaction.id.in_(select(Transcript.interaction_id)))
            .order_by(Interaction.id))
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))
