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

MAX_PAUSE_S = 1.0
"""A segment is split wherever its words pause longer than this: a segment is an utterance.

Whisper's segments run across pauses (with the batched pipeline, a segment can be a whole 30 s
window); on a dual-channel call that pause is usually the other party talking, and the
transcript's click-to-seek would land seconds away from the words. A second's pause is where a
listener hears a new utterance; shorter breaks are breaths inside one.
"""
MAX_UTTERANCE_S = 15.0
"""A segment longer than this is cut at its longest pause between words (again, until every
piece is this short or one word): a reader seeks within a few lines, not within a minute."""


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


def to_segments(raw: Any, speaker: str, duration_s: float,
                activity: Sequence[tuple[float, float]] | None = None) -> list[Segment]:
    """faster-whisper's segment as ours: plain floats, words inside, cut into utterances.

    With words, a segment runs from its first word's start to its last word's end (the raw
    segment's own bounds include the silence around them), split at pauses over
    ``MAX_PAUSE_S`` and to at most ``MAX_UTTERANCE_S``. Times are clamped to the recording:
    Whisper pads its input, and a last word may otherwise end after the audio does.

    ``activity``: the channel's speech spans (``activity.speech_spans``). Whisper's word times
    run over the pauses around a word, which hides a pause between two utterances and puts
    click-to-seek before the words; each word is trimmed to the speech span it overlaps most
    (``snap``) before the cutting.

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
    if activity:
        words = snap(words, activity)
    if not words:
        if not raw.text.strip():
            return []
        confidence = min(1.0, math.exp(raw.avg_logprob)) if raw.avg_logprob is not None else None
        return [Segment(clamp(raw.start), clamp(raw.end), raw.text, speaker, (), confidence)]
    groups = [piece for group in split_at_pauses(words) for piece in split_long(group)]
    segments = []
    for group in groups:
        text = raw.text if len(groups) == 1 else "".join(w.text for w in group)
        confidence = sum(w.probability for w in group) / len(group)
        segments.append(Segment(group[0].start, max(group[-1].end, group[0].start), text,
                                speaker, tuple(group), confidence))
    return segments


def split_at_pauses(words: list[Word], max_pause_s: float = MAX_PAUSE_S) -> Iterable[list[Word]]:
    """Runs of words with no pause longer than ``max_pause_s`` inside."""
    group = [words[0]]
    for word in words[1:]:
        if word.start - group[-1].end > max_pause_s:
            yield group
            group = []
        group.append(word)
    yield group


def split_long(words: list[Word], max_s: float = MAX_UTTERANCE_S) -> list[list[Word]]:
    """``words`` cut at their longest pause, again and again, until each piece lasts at most
    ``max_s`` (or is one word)."""
    if len(words) < 2 or words[-1].end - words[0].start <= max_s:
        return [words]
    cut = max(range(1, len(words)), key=lambda i: (words[i].start - words[i - 1].end, -abs(
        (words[i].start - words[0].start) - (words[-1].end - words[i].start))))
    return split_long(words[:cut], max_s) + split_long(words[cut:], max_s)


def snap(words: list[Word], spans: Sequence[tuple[float, float]]) -> list[Word]:
    """Each word trimmed to the speech span (sorted, disjoint) it overlaps most; a word in no
    span (speech the activity missed) keeps its times. Order is kept, and a trimmed word never
    starts before the previous one ends."""
    starts = [a for a, _ in spans]
    out: list[Word] = []
    for word in words:
        best, overlap = None, 0.0
        i = max(0, bisect.bisect_right(starts, word.start) - 1)
        while i < len(spans) and spans[i][0] < word.end:
            shared = min(word.end, spans[i][1]) - max(word.start, spans[i][0])
            if shared > overlap:
                best, overlap = spans[i], shared
            i += 1
        if best is not None:
            start, end = max(word.start, best[0]), min(word.end, best[1])
            if out and start < out[-1].end:
                start = min(out[-1].end, end)
            word = Word(start, end, word.text, word.probability)
        out.append(word)
    return out
