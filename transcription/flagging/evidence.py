"""Evidence: what a flag points at, in words an evaluator can check against the transcript.

A flag that says only "flagged" cannot be acted on, and one that names a feature or a model id
cannot be checked. Every detector (``rules``, ``classify``) therefore returns ``Evidence``: one
thing it found, with a sentence a person reads ("customer said 'cancel my account' at 1:42",
"silence of 48 s at 3:10") and where to find it in the transcript, so that the page can jump to
the time and highlight the words. Evidence knows nothing about the flag that used it, so one
shape serves every flag, the review queue and the stored verdicts (``as_dict`` / ``from_dict``
give plain JSON).

Times are shown as a media player shows them: ``m:ss`` from the start of the call, ``h:mm:ss``
past an hour, seconds cut (not rounded), so "1:42" is where the transcript line starts.
Durations are whole seconds, rounded half up: "48 s", and past 90 s "2 min 5 s".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

KINDS = ("phrase", "silence", "overtalk", "talk_share", "repeat", "model")
"""What evidence can be: words said or written, a stretch of silence, both parties talking at
once, a party's share of the talk, earlier contacts of the customer, a classifier's reading."""

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
            "tenth")


def clock(seconds: float) -> str:
    """A time in the call as a player shows it: ``1:42``, ``59:59``, ``1:00:05``."""
    if not math.isfinite(seconds) or seconds < 0:
        seconds = 0.0
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration(seconds: float) -> str:
    """A length of time in words a person reads at a glance: ``48 s``, ``2 min 5 s``."""
    whole = int(math.floor(max(0.0, seconds) + 0.5)) if math.isfinite(seconds) else 0
    if whole < 90:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


def ordinal(n: int) -> str:
    """``third`` up to ``tenth``, then ``11th``, ``22nd``: how a person counts contacts."""
    if 1 <= n <= len(ORDINALS):
        return ORDINALS[n - 1]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One thing a detector found, and where.

    ``marks`` are the words to highlight, as ``(segment index, word index)`` pairs into the
    stored segments: the word index counts the segment's ``words`` when it has word timings,
    else the whitespace-separated tokens of its ``text`` (a chat message). A phrase said over
    two segments of one speaker marks words in both. ``segment`` is the first segment the
    evidence is in (for a chat, the message: 0 is the first), ``start``/``end`` the seconds it
    covers (None where there is no time: a chat, a customer's earlier contacts), ``speaker`` who
    said it (None for silences and overtalk), ``related`` the interactions it points at (the
    customer's earlier contacts).
    """

    kind: str
    text: str
    start: float | None = None
    end: float | None = None
    speaker: str | None = None
    segment: int | None = None
    marks: tuple[tuple[int, int], ...] = ()
    related: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown evidence kind {self.kind!r}; expected one of {KINDS}")
        if not isinstance(self.marks, tuple):
            object.__setattr__(self, "marks", tuple((int(s), int(w)) for s, w in self.marks))
        if not isinstance(self.related, tuple):
            object.__setattr__(self, "related", tuple(int(i) for i in self.related))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON: times to 0.01 s, marks as lists."""
        return {"kind": self.kind, "text": self.text,
                "start": None if self.start is None else round(self.start, 2),
                "end": None if self.end is None else round(self.end, 2),
                "speaker": self.speaker, "segment": self.segment,
                "marks": [list(mark) for mark in self.marks], "related": list(self.related)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        """Back from ``as_dict``'s JSON (a stored verdict)."""
        return cls(kind=data["kind"], text=data["text"], start=data.get("start"),
                   end=data.get("end"), speaker=data.get("speaker"),
                   segment=data.get("segment"),
                   marks=tuple((int(s), int(w)) for s, w in data.get("marks") or ()),
                   related=tuple(int(i) for i in data.get("related") or ()))
