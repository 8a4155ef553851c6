"""When each party speaks: per-channel speech activity, the ground that call metrics stand on.

Why not the recogniser's segments: Whisper's segment (and, often, word) boundaries stretch over
pauses; a segment may span a whole 30 s window, so talk, silence and overtalk measured from them
were far off on real calls (customer talk 34.3 s against 20.3 s true, 11.4 s of overtalk on a
call with none). Silero VAD, which faster-whisper ships, decides speech or not every 32 ms from
the signal itself.

The rule, decided once here (``speech_spans``):

* Silero VAD at ``THRESHOLD`` (0.3), with settings tuned for timing rather than for cutting
  audio into windows: no speech pad (faster-whisper pads 0.4 s each side, which is right for
  decoding and wrong for a stopwatch), a pause is heard from ``MIN_SILENCE_S``, and a blip
  under ``MIN_SPEECH_S`` (a click) is not speech.
* Pauses shorter than ``BRIDGE_S`` (0.5 s) inside a party's speech count as talk: people draw
  breath between words, and nobody calls that a silence (issue 15's rule).

Pure apart from the VAD model itself (an ONNX file inside faster-whisper, loaded once per
process, never downloaded). Intervals are (start, end) in seconds from the recording's start.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from transcription.audio import SAMPLE_RATE

Interval = tuple[float, float]

THRESHOLD = 0.3
"""Silero's speech probability above which a 32 ms frame is speech (a frame stays speech until
it falls under 0.15). Measured against exact truth on 20 real calls (bench/transcribe/real.py,
23 minutes) and the three test calls: faster-whisper's 0.5 misses a short digit said alone;
0.4 with a 30 ms pad left 14 of the 20 calls within issue 15's bounds; 0.3 with no pad, 18 of
20 and all three test calls (the two left: words heard too faintly, and 1.8 s too much talk on
one customer channel); 0.25 and below, or any pad, add talk to every call."""
BRIDGE_S = 0.5
"""Pauses shorter than this inside one party's speech are talk."""
PAD_S = 0.0
"""Silero's speech pad: none. Its speech already ends a frame or two after the voice does."""
MIN_SILENCE_S = 0.1
"""A pause is heard from this long; shorter ones are bridged anyway."""
MIN_SPEECH_S = 0.06
"""Speech shorter than this (a click on the line) is not speech; a short "two" is longer."""


def speech_spans(samples: np.ndarray, *, sample_rate: int = SAMPLE_RATE,
                 bridge_s: float = BRIDGE_S) -> list[Interval]:
    """The stretches of ``samples`` (one channel, float32 in [-1, 1], 16 kHz) with speech,
    sorted and disjoint, pauses under ``bridge_s`` joined."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"speech activity needs {SAMPLE_RATE} Hz audio, got {sample_rate} Hz")
    if len(samples) == 0:
        return []
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(
        np.asarray(samples, dtype=np.float32),
        VadOptions(threshold=THRESHOLD, min_speech_duration_ms=int(MIN_SPEECH_S * 1000),
                   min_silence_duration_ms=int(MIN_SILENCE_S * 1000),
                   speech_pad_ms=int(PAD_S * 1000)),
        sampling_rate=sample_rate)
    return bridge(((c["start"] / sample_rate, c["end"] / sample_rate) for c in found), bridge_s)


def bridge(spans: Iterable[Interval], max_pause_s: float = BRIDGE_S) -> list[Interval]:
    """Sorted, disjoint spans with every pause shorter than ``max_pause_s`` filled in (touching
    or overlapping spans are joined too)."""
    out: list[Interval] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if out and (start <= out[-1][1] or start - out[-1][1] < max_pause_s):
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out

