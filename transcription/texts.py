"""Chats and e-mails through the same redaction as calls, without transcription.

A text interaction's body becomes a stored transcript of ``source="text"``: one segment per
line or message, the speaker taken from a ``Customer:`` / ``Agent:`` prefix where there is one,
redacted with the same context-aware rules as a call (the agent's question licenses the
customer's answer), and counted. There is no timing in a text, so its "metrics" are counts:
messages and words per party.

The transcript follows the body: ``sync_text`` runs whenever a text interaction is created,
corrected or imported (``qm.interactions.services`` sends ``interaction_text_changed``,
which ``transcription.receivers`` passes to ``sync_text``), in the same transaction;
``qm redact-texts`` backfills the interactions made before that (``pending``).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from qm import audit
from qm.db import settings_of
from qm.interactions.models import Interaction
from transcription import flagging
from transcription.flagging import services as flag_services
from transcription.models import Transcript
from transcription.redaction import redact_segments
from transcription.store import ACTOR, store_transcript, transcript_audit_view
from transcription.timeline import AGENT, CUSTOMER, MONO, Segment

TEXT_CHANNELS = ("chat", "email", "messaging", "social")
_PREFIX = re.compile(r"^\s*(agent|customer|client|caller|advisor|adviser|you|me)\s*:\s*",
                     re.IGNORECASE)
_SPEAKERS = {"agent": AGENT, "advisor": AGENT, "adviser": AGENT, "me": AGENT,
             "customer": CUSTOMER, "client": CUSTOMER, "caller": CUSTOMER, "you": CUSTOMER}


def labelled(body: str) -> bool:
    """Whether a text names its parties (``Customer:`` / ``Agent:`` prefixes)."""
    return any(_PREFIX.match(line) for line in body.splitlines())


def sender(interaction: Interaction) -> str:
    """Who wrote a text without prefixes: an e-mail is its sender's, the customer's when it
    came in, the agent's when it went out; any other unlabelled text stays one ``MONO`` voice.
    Without this, an e-mail's words counted for nobody ("agent 0 (0 words), customer 0")."""
    if interaction.channel != "email":
        return MONO
    return AGENT if interaction.direction == "outbound" else CUSTOMER


def segments_of(body: str, unlabelled: str = MONO) -> list[Segment]:
    """One segment per non-empty line; a line without a prefix continues the last speaker (a
    text without prefixes is ``unlabelled``'s throughout: see ``sender``). Positions stand in
    for times: a segment's start is its line number, so the blank lines between an e-mail's
    headers and its body can be found again."""
    out: list[Segment] = []
    is_labelled = labelled(body)
    speaker = CUSTOMER if is_labelled else unlabelled
    for number, line in enumerate(body.splitlines()):
        if not line.strip():
            continue
        match = _PREFIX.match(line) if is_labelled else None
        if match:
            speaker = _SPEAKERS[match.group(1).lower()]
            line = line[match.end():]
        out.append(Segment(float(number), float(number), " " + line.strip(), speaker))
    return out


def counts(segments: list[Segment], *, one_message: bool = False) -> dict[str, Any]:
    """Messages and words per party. ``one_message``: the lines are one message (an e-mail),
    not a message each (a chat)."""
    def words(speaker: str | None) -> int:
        return sum(len(s.text.split()) for s in segments if speaker in (None, s.speaker))

    def messages(speaker: str) -> int:
        found = sum(1 for s in segments if s.speaker == speaker)
        return min(found, 1) if one_message else found

    return {"messages": min(len(segments), 1) if one_message else len(segments),
            "agent_messages": messages(AGENT),
            "customer_messages": messages(CUSTOMER), "words": words(None),
            "agent_words": words(AGENT), "customer_words": words(CUSTOMER)}


def _stored(session: Session, interaction_id: int) -> Transcript | None:
    return session.scalar(_stored_statement(), {"interaction_id": interaction_id})


@functools.cache
def _stored_statement() -> Any:  # built once: every page with a transcript reads it
    return select(Transcript).where(Transcript.interaction_id == bindparam("interaction_id"))


def _values(interaction: Interaction, keep_raw: bool) -> dict[str, Any]:
    body = interaction.body or ""
    one_email = interaction.channel == "email" and not labelled(body)
    redacted, tags = redact_segments(segments_of(body, sender(interaction)))
    segments = [{"start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text.strip(),
                 "confidence": None, "words": []} for s in redacted]
    return {
        "source": "text", "language": "", "model": "text", "settings": {},
        "segments": segments, "text": " ".join(s["text"] for s in segments if s["text"]),
        "raw_text": interaction.body if keep_raw else None,
        "metrics": counts(redacted, one_message=one_email),
        "redactions": tags, "warnings": []}


def process_text(session: Session, interaction: Interaction, *, keep_raw: bool = False
                 ) -> Transcript | None:
    """Store the redacted text transcript of one text interaction (None without a body).

    A transcript that would come out the same is left as it is: a replacement is audited, and
    the log should say so only when the words (or what was kept of them) changed."""
    if not (interaction.body or "").strip():
        return None
    values = _values(interaction, keep_raw)
    stored = _stored(session, interaction.id)
    if stored is not None and all(getattr(stored, k) == v for k, v in values.items()):
        return stored
    return _store(session, interaction, values)


def _store(session: Session, interaction: Interaction, values: dict[str, Any]) -> Transcript:
    """Store a text's transcript and flag it with the current model, as calls are."""
    stored = store_transcript(session, interaction.id, values)
    flagging.flag(session, stored)
    flag_services.check_stored(session, stored)
    return stored


def shown_transcript(session: Session, interaction: Interaction) -> Transcript | None:
    """What people are shown of an interaction's words: its stored transcript; for a chat or
    e-mail without one (made before texts were redacted on arrival, and not yet backfilled by
    ``qm redact-texts``), a redacted one made now and not stored; else None. A text's body is
    never shown as it was typed."""
    stored = _stored(session, interaction.id)
    if (stored is not None or interaction.channel not in TEXT_CHANNELS
            or not (interaction.body or "").strip()):
        return stored
    return Transcript(interaction_id=interaction.id, **_values(interaction, keep_raw=False))


_LABELS = {AGENT: "Agent", CUSTOMER: "Customer"}


def _as_lines(segments: list[dict[str, Any]], with_labels: bool = True) -> str:
    """Redacted segments back into the shape of a typed text: a line per message, with its
    speaker's label where the text had labels (``with_labels``: an e-mail's sender is known
    without them, and they were never typed)."""
    return "\n".join(f"{_LABELS[s['speaker']]}: {s['text']}"
                     if with_labels and s["speaker"] in _LABELS
                     else s["text"] for s in segments if s["text"])


def shown_bodies(session: Session, interactions: list[Interaction]) -> dict[int, str | None]:
    """Each interaction's text (a chat, an e-mail, a call's notes) as anyone without
    ``transcript.read_raw`` may see it: redacted. From the stored text transcript where there
    is one (one query for all of them), else redacted now. This is the one way an interaction's
    body leaves qm, on the pages and through the API alike."""
    with_text = [i for i in interactions if (i.body or "").strip()]
    stored: dict[int, list[dict[str, Any]]] = {}
    if with_text:
        stored = dict(session.execute(
            select(Transcript.interaction_id, Transcript.segments).where(
                Transcript.interaction_id.in_([i.id for i in with_text]),
                Transcript.source == "text")).all())
    out: dict[int, str | None] = {i.id: None for i in interactions}
    for item in with_text:
        segments = stored.get(item.id)
        out[item.id] = _as_lines(segments if segments is not None
                                 else _values(item, keep_raw=False)["segments"],
                                 labelled(item.body or ""))
    return out


def shown_body(session: Session, interaction: Interaction,
               transcript: Transcript | None = None) -> str | None:
    """One interaction's ``shown_bodies``; ``transcript``, the one ``shown_transcript`` gave the
    page, spares reading (or redacting) a text's words a second time."""
    if transcript is not None and transcript.source == "text":
        return _as_lines(transcript.segments, labelled(interaction.body or ""))
    return shown_bodies(session, [interaction])[interaction.id]


def sync_text(session: Session, interaction: Interaction, *, keep_raw: bool | None = None,
              new: bool = False) -> Transcript | None:
    """Bring an interaction's text transcript in step with its channel and body, in the
    caller's transaction: stored for a text with a body, replaced when the words changed,
    deleted (audited) when the body is cleared or the channel is no longer a text one.

    A transcript made from audio is never touched: it came from a recording, not the body.
    ``keep_raw`` defaults to the site's ``keep_raw_transcripts`` (``qm.db.settings_of``: a
    receiver of ``qm.signals`` is given the session and nothing else). ``new``: the interaction
    was just created, so it has no transcript to look up (an import of many chats)."""
    is_text = interaction.channel in TEXT_CHANNELS and bool((interaction.body or "").strip())
    if new and not is_text:
        return None
    keep = keep_raw
    if keep is None and is_text:
        keep = settings_of(session).keep_raw_transcripts
    if new:
        return _store(session, interaction, _values(interaction, bool(keep)))
    stored = _stored(session, interaction.id)
    if stored is not None and stored.source != "text":
        return None
    if is_text:
        return process_text(session, interaction, keep_raw=bool(keep))
    if stored is not None:
        before, transcript_id = transcript_audit_view(stored), stored.id
        session.delete(stored)
        session.flush()
        audit.record(session, ACTOR, "transcript.deleted", entity_type="transcripts",
                     entity_id=transcript_id, before=before)
    return None


def pending(session: Session, limit: int | None = None) -> list[int]:
    """Text interactions with a body and no transcript yet, oldest first."""
    stmt = (select(Interaction.id).where(Interaction.channel.in_(TEXT_CHANNELS),
                                         Interaction.body.is_not(None),
                                         ~Interaction.id.in_(select(Transcript.interaction_id)))
            .order_by(Interaction.id))
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))
