"""Per-call measurements from a timeline: talk time, talk ratio, silences, overtalk, pace.

Everything is exact interval arithmetic (sort, then sweep), never sampling on a time grid, so a
figure shown to a coach can be checked by hand. The time each party talks comes from their
channel's speech activity (``activity``: Silero VAD, pauses under 0.5 s counted as talk) when
the transcriber measured it, which is what every transcribed call has; the recogniser's segment
boundaries, which stretch over pauses, serve only where no activity is known (a timeline built
by hand, a transcript stored before activity was measured). Words always come from the
segments. The rules, decided once here:

* A call runs from 0 to ``duration_s``. Segments are clipped to it; segments that are empty,
  negative or not finite after clipping are ignored (recognisers emit a few).
* A speaker's talk time is the union of their activity spans (or, without activity, of their
  segments): overlapping or nested spans of one speaker count once.
* Silence is every stretch of the call where nobody talks, including before the first and after
  the last word. A silence "over" the threshold is strictly longer than it (the issue says "over
  10 s", so exactly 10.0 s is not counted); a hold-like gap is at least the hold threshold.
  Both comparisons allow ``EPSILON`` for float noise in decimal timestamps.
* Overtalk is the time the agent's union and the customer's union intersect.
* Mono recordings (every segment labelled ``"speaker"``) cannot tell the parties apart: their talk
  is reported in ``talk_s`` and ``wpm``, the per-party fields are None, overtalk is 0.0.
* Words are counted from ``Segment.words`` when present (a word counts when its midpoint lies in
  the call), otherwise by splitting the text on whitespace; tokens without a letter or digit
  (a lone dash, "...") are not words. Words per minute is None for a speaker with less than
  ``MIN_TALK_FOR_WPM_S`` of talk (never talked, or too briefly for a rate to mean anything).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

from transcription.timeline import AGENT, CUSTOMER, MONO, Segment

EPSILON = 1e-9
"""Tolerance for threshold comparisons: 10.3 - 0.3 must still be a 10 s silence, not longer."""

MIN_TALK_FOR_WPM_S = 1.0
"""Below this much talk, words per minute is None: one "yes" in 0.2 s is not a pace of 300 wpm,
and a recogniser's 1e-6 s segment would otherwise give an absurd (or infinite) rate."""

Interval = tuple[float, float]


@dataclass(frozen=True, slots=True)
class CallMetrics:
    """What one call looked like in time. Seconds are floats; counts are ints.

    ``talk_s`` is the time at least one person talks (both modes); ``silence_s`` is the rest of
    the call, so ``talk_s + silence_s == duration_s``. In stereo, ``agent_talk_s +
    customer_talk_s - overtalk_s == talk_s``. ``wpm`` is all words over ``talk_s`` (in stereo,
    overtalk counts once in the time). The thresholds are stored with the figures so that a
    saved result says what "a long silence" meant when it was computed.
    """

    duration_s: float
    mono: bool
    talk_s: float
    agent_talk_s: float | None
    customer_talk_s: float | None
    talk_ratio: float | None
    overtalk_s: float
    longest_overtalk_s: float
    longest_overtalk_at_s: float | None
    """Where the longest stretch of both parties talking starts (None: none)."""
    silence_s: float
    longest_silence_s: float
    longest_silence_at_s: float | None
    """Where the longest silence starts (None: no silence): what a flag's reason points at."""
    silences_over_10s: int
    hold_like_gaps: int
    agent_words: int | None
    customer_words: int | None
    words: int
    agent_wpm: float | None
    customer_wpm: float | None
    wpm: float | None
    silence_threshold_s: float
    hold_threshold_s: float

    def as_dict(self) -> dict[str, float | int | bool | None]:
        """JSON-friendly figures: seconds to 0.01, the ratio to 0.0001, words per minute to 0.1.

        Rounding happens only here, for display and storage; the dataclass keeps exact values so
        that sums over calls are not sums of rounded parts.
        """
        out: dict[str, float | int | bool | None] = {}
        for key, value in asdict(self).items():
            if isinstance(value, bool) or value is None or isinstance(value, int):
                out[key] = value
            elif key == "talk_ratio":
                out[key] = round(value, 4)
            elif key.endswith("wpm"):
                out[key] = round(value, 1)
            else:
                out[key] = round(value, 2)
        return out


def measure(
    segments: Iterable[Segment],
    duration_s: float,
    *,
    silence_threshold_s: float = 10.0,
    hold_threshold_s: float = 30.0,
    mono: bool | None = None,
    activity: Mapping[str, Sequence[Interval]] | None = None,
) -> CallMetrics:
    """Measure one call.

    ``activity``: when each speaker talks, by speaker label (``DecodedCall.activity``); talk,
    silence and overtalk come from it, and the segments give only the words. Without it they
    come from the segments' boundaries.

    ``mono`` is inferred from the labels when None: any ``"speaker"`` segment makes the call mono,
    an empty timeline counts as stereo (both parties silent). Pass it explicitly when the
    recording's channel count is known, so that a silent mono call reports None per party.
    Mixing ``"speaker"`` with agent/customer labels is a pipeline bug and raises ValueError.
    """
    if not math.isfinite(duration_s) or duration_s < 0:
        raise ValueError(f"duration_s must be a finite number >= 0, got {duration_s!r}")
    for name, value in (("silence_threshold_s", silence_threshold_s),
                        ("hold_threshold_s", hold_threshold_s)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    segments = list(segments)
    labels = {s.speaker for s in segments} | set(activity or ())
    if MONO in labels and labels - {MONO}:
        raise ValueError("a timeline mixes mono ('speaker') and agent/customer segments")
    if mono is None:
        mono = MONO in labels
    elif mono and labels - {MONO}:
        raise ValueError("mono=True but the timeline has agent/customer segments")
    elif not mono and MONO in labels:
        raise ValueError("mono=False but the timeline has mono ('speaker') segments")

    kept = [(s, iv) for s in segments if (iv := _clip(s, duration_s)) is not None]

    def talk_of(*speakers: str) -> list[Interval]:
        if activity is not None:
            return _union(iv for speaker in speakers for span in activity.get(speaker, ())
                          if (iv := _clip_span(span, duration_s)) is not None)
        return _union(iv for s, iv in kept if s.speaker in speakers)

    everyone = talk_of(AGENT, CUSTOMER, MONO)
    talk_s = _length(everyone)
    gaps = _gaps(everyone, duration_s)
    silence_s = sum(b - a for a, b in gaps)
    gap_lengths = [b - a for a, b in gaps]
    words = sum(_count_words(s, duration_s) for s, _ in kept)

    if mono:
        agent_talk = customer_talk = talk_ratio = None
        agent_words = customer_words = None
        agent_wpm = customer_wpm = None
        overtalk_s = 0.0
        both_at: list[Interval] = []
    else:
        agent, customer = talk_of(AGENT), talk_of(CUSTOMER)
        agent_talk, customer_talk = _length(agent), _length(customer)
        both_at = _intersection(agent, customer)
        overtalk_s = _length(both_at)
        both = agent_talk + customer_talk
        talk_ratio = agent_talk / both if both > 0 else None
        agent_words = sum(_count_words(s, duration_s) for s, _ in kept if s.speaker == AGENT)
        customer_words = sum(
            _count_words(s, duration_s) for s, _ in kept if s.speaker == CUSTOMER
        )
        agent_wpm = _per_minute(agent_words, agent_talk)
        customer_wpm = _per_minute(customer_words, customer_talk)

    longest_both = _longest(both_at)
    return CallMetrics(
        duration_s=float(duration_s),
        mono=mono,
        talk_s=talk_s,
        agent_talk_s=agent_talk,
        customer_talk_s=customer_talk,
        talk_ratio=talk_ratio,
        overtalk_s=overtalk_s,
        silence_s=silence_s,
        longest_silence_s=max(gap_lengths, default=0.0),
        longest_silence_at_s=_longest(gaps)[0],
        longest_overtalk_s=longest_both[1],
        longest_overtalk_at_s=longest_both[0],
        silences_over_10s=sum(1 for g in gap_lengths if g > silence_threshold_s + EPSILON),
        hold_like_gaps=sum(1 for g in gap_lengths if g >= hold_threshold_s - EPSILON),
        agent_words=agent_words,
        customer_words=customer_words,
        words=words,
        agent_wpm=agent_wpm,
        customer_wpm=customer_wpm,
        wpm=_per_minute(words, talk_s),
        silence_threshold_s=float(silence_threshold_s),
        hold_threshold_s=float(hold_threshold_s),
    )


def _clip(segment: Segment, duration_s: float) -> Interval | None:
    """The part of a segment inside the call, or None when nothing of it is."""
    return _clip_span((segment.start, segment.end), duration_s)


def _clip_span(span: Interval, duration_s: float) -> Interval | None:
    start, end = float(span[0]), float(span[1])
    if not (math.isfinite(start) and math.isfinite(end)):
        return None
    start, end = max(start, 0.0), min(end, duration_s)
    return (start, end) if end > start else None


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same time; touching intervals are joined so that a
    zero-length gap between two segments is not reported as a silence."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _intersection(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Two-pointer sweep over two disjoint sorted lists."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _gaps(talk: Sequence[Interval], duration_s: float) -> list[Interval]:
    """The complement of a disjoint sorted list within [0, duration_s]."""
    gaps: list[Interval] = []
    cursor = 0.0
    for start, end in talk:
        if start > cursor:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if duration_s > cursor:
        gaps.append((cursor, duration_s))
    return gaps


def _longest(intervals: Sequence[Interval]) -> tuple[float | None, float]:
    """(start, length) of the longest interval, the earliest of equals; (None, 0.0) for none."""
    if not intervals:
        return None, 0.0
    start, end = max(intervals, key=lambda iv: (iv[1] - iv[0], -iv[0]))
    return start, end - start


def _length(intervals: Iterable[Interval]) -> float:
    return sum(end - start for start, end in intervals)


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def _count_words(segment: Segment, duration_s: float) -> int:
    if segment.words:
        return sum(
            1 for w in segment.words
            if _is_word(w.text) and 0.0 <= (w.start + w.end) / 2 <= duration_s
        )
    return sum(1 for token in segment.text.split() if _is_word(token))


def _per_minute(words: int, seconds: float) -> float | None:
    return words * 60.0 / seconds if seconds >= MIN_TALK_FOR_WPM_S else None
