"""How a written interaction reads on a page: an e-mail as headers and a body, a chat as
messages by party (the standard library only; the interaction page, the evaluation screen, the
dispute review and the calibration item all show it).

Built from the redacted text transcript (``transcription.texts``), never from the body as it
was typed: a segment is a line of the text, its ``start`` the line's number, so the blank line
that ends an e-mail's headers, and the paragraphs of its body, are found again. Each line
keeps its segment's index, so the words a flag fired on (``flag_marks``: a segment's index to
its marked words' indexes in ``text.split()``) are highlighted where they are shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

HEADERS = ("From", "To", "Cc", "Subject", "Date", "Reply-To")
_HEADER = re.compile(rf"^({'|'.join(HEADERS)})\s*:\s*(.*)$", re.IGNORECASE)
# A time a chat export put before a message: "[10:02]", "10:02:15 -", "(09:15)".
_TIME = re.compile(r"^[\[(]?(\d{1,2}:\d{2}(?::\d{2})?)[\])]?\s*[-:]?\s+")
PARTIES = {"agent": "Agent", "customer": "Customer"}


@dataclass(frozen=True)
class Line:
    """A line as shown: its segment's index, its text, and how many of the segment's words
    come before it (a chat line's time, taken out): a flag's word ``i`` is ``i - skip`` here."""

    index: int
    text: str
    skip: int = 0


@dataclass
class Email:
    headers: list[tuple[str, str]] = field(default_factory=list)
    blocks: list[list[Line]] = field(default_factory=list)
    words: int = 0

    @property
    def paragraphs(self) -> list[str]:
        return ["\n".join(line.text for line in block) for block in self.blocks]

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)


@dataclass
class Message:
    party: str  # "agent", "customer", or "speaker" where the text does not say
    text: str
    time: str | None = None
    line: Line | None = None  # where it is in the transcript, for the flags' marks

    @property
    def label(self) -> str:
        return PARTIES.get(self.party, "Unnamed")


def email(segments: list[dict[str, Any]]) -> Email:
    """Headers while the first lines are ``Name: value`` ones, up to the first blank line or
    the first other line; then the body, one paragraph per run of lines without a blank one.

    ``[{"start": 0, "text": "Subject: Refund"}, {"start": 2, "text": "Hello,"},
    {"start": 3, "text": "I was charged twice."}]`` is the headers ``[("Subject", "Refund")]``
    and the one paragraph ``"Hello,\\nI was charged twice."``.
    """
    out = Email()
    lines = [(int(s["start"]), index, s["text"]) for index, s in enumerate(segments)
             if s.get("text")]
    position = 0
    expected = lines[0][0] if lines else 0
    for number, _index, text in lines:
        match = _HEADER.match(text)
        if number != expected or not match:
            break
        name = next(h for h in HEADERS if h.lower() == match.group(1).lower())
        out.headers.append((name, match.group(2).strip()))
        position += 1
        expected = number + 1
    block: list[Line] = []
    last = None
    for number, index, text in lines[position:]:
        if last is not None and number > last + 1 and block:
            out.blocks.append(block)
            block = []
        block.append(Line(index, text))
        last = number
    if block:
        out.blocks.append(block)
    out.words = sum(len(p.split()) for p in out.paragraphs)
    return out


def chat(segments: list[dict[str, Any]]) -> list[Message]:
    """One message per line, with its party, and the time where the line starts with one."""
    out = []
    for index, s in enumerate(segments):
        text = s.get("text") or ""
        if not text:
            continue
        match = _TIME.match(text)
        time = match.group(1) if match else None
        shown = text[match.end():] if match else text
        skip = len(text[:match.end()].split()) if match else 0
        out.append(Message(s.get("speaker") or "speaker", shown, time,
                           Line(index, shown, skip)))
    return out


def view(interaction: Any, transcript: Any) -> dict[str, Any] | None:
    """What ``scoring/_written.html`` shows of a chat or an e-mail (None for a call, or a
    contact with no text transcript): the interaction (its sender and date where the text has
    no headers), and an e-mail's headers and body or a chat's messages by party, from the
    redacted text transcript."""
    if transcript is None or transcript.source != "text":
        return None
    if interaction.channel == "email":
        return {"interaction": interaction, "email": email(transcript.segments)}
    messages = chat(transcript.segments)
    return {"interaction": interaction, "messages": messages, "summary": summary(messages)}


def summary(messages: list[Message]) -> str:
    """``"3 messages: agent 1 (12 words), customer 2 (9 words)"``; a party that wrote nothing
    is left out, and so is a split by party where the text names none."""
    if not messages:
        return "No messages"
    parts = []
    for party, label in PARTIES.items():
        said = [m for m in messages if m.party == party]
        if said:
            words = sum(len(m.text.split()) for m in said)
            parts.append(f"{label.lower()} {len(said)} ({words} word{'s' * (words != 1)})")
    head = f"{len(messages)} message{'s' * (len(messages) != 1)}"
    return f"{head}: {', '.join(parts)}" if parts else head
