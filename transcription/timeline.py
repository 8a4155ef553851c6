"""The value types every stage of the pipeline passes along: words, segments, one call timeline.

They are small frozen values in the faster-whisper spirit: the transcriber yields them, metrics
and redaction read them, storage writes them. Nothing here knows about audio, models or the
database, so a notebook can build a timeline by hand and feed it to any later stage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain

AGENT = "agent"
CUSTOMER = "customer"
MONO = "speaker"
"""Speaker labels. A stereo recording gives one channel to each party; a mono recording cannot
tell them apart (no diarization yet), so every segment of it is labelled ``"speaker"``."""

SPEAKERS = frozenset({AGENT, CUSTOMER, MONO})


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word with its timing, in seconds from the start of the recording.

    ``text`` is kept exactly as the recogniser gave it (faster-whisper keeps the leading space),
    so joining the words of a segment gives back its text.
    """

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of speech by one speaker.

    The timing is not validated: recognisers do emit zero-length or slightly negative segments,
    and the consumers (see ``metrics.measure``) are the ones that decide how to treat them. The
    speaker is validated, because a misspelt label would silently turn a party's talk into
    nobody's.
    """

    start: float
    end: float
    text: str
    speaker: str
    words: tuple[Word, ...] = ()
    confidence: float | None = None

    def __post_init__(self) -> None:
        if self.speaker not in SPEAKERS:
            raise ValueError(
                f"unknown speaker {self.speaker!r}; expected one of {sorted(SPEAKERS)}"
            )
        if not isinstance(self.words, tuple):  # a list from a caller would make it unhashable
            object.__setattr__(self, "words", tuple(self.words))

    @property
    def duration(self) -> float:
        """Length in seconds; never negative, so a malformed segment cannot subtract talk."""
        return max(0.0, self.end - self.start)


def merge(*tracks: Iterable[Segment]) -> list[Segment]:
    """One timeline from per-channel tracks, ordered by (start, end, speaker).

    The speaker is the last key so that two parties starting and ending together always come
    out in the same order, which keeps stored transcripts and their diffs stable.
    """
    return sorted(chain.from_iterable(tracks), key=lambda s: (s.start, s.end, s.speaker))
