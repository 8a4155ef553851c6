"""faster-whisper's raw segments into ours: clamped to the recording, split at long pauses, and
given back to the channel they came from when several channels were decoded as one signal.

Pure: it reads the fields of faster-whisper's segments (any object with them will do) and gives
``timeline`` values; no model, no I/O.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from transcription.timeline import Segment, Word

MAX_PAUSE_S = 2.0
"""A segment is split wherever its words pause longer than this.

Whisper sometimes runs one segment across a long silence; on a dual-channel call that silence
is usually the other party talking, and a segment spanning it would overlap their turn and
corrupt talk-over and dead-air metrics. 2 s matches faster-whisper's own VAD silence split.
"""


class RawWord(NamedTuple):
    start: float
    end: float
    word: str
    probability: float


class RawSegment(NamedTuple):
    """The fields of a faster-whisper segment that ``to_segments`` reads, moved in time."""

    start: float
    end: float
    text: str
    words: tuple[RawWord, ...]
    avg_logprob: float | None


def split_by_track(raw: Any, starts: Sequence[float]) -> list[tuple[int, RawSegment]]:
    """Give a segment of a packed signal back to the channels it came from.

    ``starts`` are the channels' start times in the packed signal, ascending. Each word goes to
    the channel its midpoint falls in (the silence after a channel counts as that channel's, and
    times are then clamped to the recording); a segment with words in two channels becomes one
    piece per channel, and each piece's times are made relative to its channel's start.
    """

    def track_at(t: float) -> int:
        return max(0, bisect.bisect_right(starts, t) - 1)

    words = list(raw.words or ())
    if not words:
        number = track_at((float(raw.start) + float(raw.end)) / 2)
        offset = starts[number]
        return [(number, RawSegment(float(raw.start) - offset, float(raw.end) - offset, raw.text,
                                    (), raw.avg_logprob))]
    groups: list[tuple[int, list[Any]]] = []
    for word in words:
        number = track_at((float(word.start) + float(word.end)) / 2)
        if groups and groups[-1][0] == number:
            groups[-1][1].append(word)
        else:
            groups.append((number, [word]))
    pieces = []
    for position, (number, group) in enumerate(groups):
        offset = starts[number]
        moved = tuple(RawWord(float(w.start) - offset, float(w.end) - offset, w.word,
                              float(w.probability)) for w in group)
        start = float(raw.start) - offset if position == 0 else moved[0].start
        end = float(raw.end) - offset if position == len(groups) - 1 else moved[-1].end
        text = raw.text if len(groups) == 1 else "".join(w.word for w in group)
        pieces.append((number, RawSegment(start, end, text, moved, raw.avg_logprob)))
    return pieces


def to_segments(raw: Any, speaker: str, duration_s: float) -> list[Segment]:
    """faster-whisper's segment as ours: plain floats, words inside, split at long pauses.

    Times are clamped to the recording: Whisper pads its input, and a last word may otherwise
    end after the audio does.

    Confidence is the mean probability of the segment's words. Not ``exp(avg_logprob)``: the
    sequential decoder reports one avg_logprob for a whole 30 s window, shared by every segment
    in it, so it cannot tell a clear sentence from a mumbled one next to it. Without words it
    falls back to ``exp(avg_logprob)``.
    """

    def clamp(t: Any) -> float:
        return min(max(float(t), 0.0), duration_s)

    words = [
        Word(clamp(w.start), clamp(w.end), w.word, float(w.probability)) for w in raw.words or ()
    ]
    if not words:
        if not raw.text.strip():
            return []
        confidence = min(1.0, math.exp(raw.avg_logprob)) if raw.avg_logprob is not None else None
        return [Segment(clamp(raw.start), clamp(raw.end), raw.text, speaker, (), confidence)]
    groups = list(split_at_pauses(words))
    segments = []
    for index, group in enumerate(groups):
        start = min(group[0].start, clamp(raw.start)) if index == 0 else group[0].start
        end = max(group[-1].end, clamp(raw.end)) if index == len(groups) - 1 else group[-1].end
        text = raw.text if len(groups) == 1 else "".join(w.text for w in group)
        confidence = sum(w.probability for w in group) / len(group)
        segments.append(Segment(start, end, text, speaker, tuple(group), confidence))
    return segments


def split_at_pauses(words: list[Word]) -> Iterable[list[Word]]:
    """Runs of words with no pause longer than ``MAX_PAUSE_S`` inside."""
    group = [words[0]]
    for word in words[1:]:
        if word.start - group[-1].end > MAX_PAUSE_S:
            yield group
            group = []
        group.append(word)
    yield group
