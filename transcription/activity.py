"""When each party speaks: per-channel speech activity, the ground that call metrics stand on.

Why not the recogniser's segments: Whisper's segment (and, often, word) boundaries stretch over
pauses; a segment may span a whole 30 s window, so talk, silence and overtalk measured from them
were far off on real calls (customer talk 34.3 s against 20.3 s true, 11.4 s of overtalk on a
call with none). Silero VAD, which faster-whisper ships, decides speech or not every 32 ms from
the signal itself.

The rule, decided once here (``speech_spans``):

* Silero VAD at ``THRESHOLD`` (0.4), with settings tuned for timing rather than for cutting
  audio into windows: no speech pad beyond ``PAD_S`` (faster-whisper pads 0.4 s each side,
  which is right for decoding and wrong for a stopwatch), a pause is heard from
  ``MIN_SILENCE_S``, and a blip under ``MIN_SPEECH_S`` (a click, a breath) is not speech.
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

THRESHOLD = 0.4
"""Silero's speech probability above which a 32 ms frame is speech. Measured on the real test
calls (tests/data/speech): at faster-whisper's 0.5 a quiet "four" went unheard (0.65 s off the
longest silence); at 0.3 and below each call gained up to a second of talk; 0.4 with a 30 ms pad
kept every figure within issue 15's bounds, and a 60 ms pad added a second to some."""
BRIDGE_S = 0.5
"""Pauses shorter than this inside one party's speech are talk."""
PAD_S = 0.03
"""Silero's speech pad: enough to keep a word's soft onset and release, no more."""
MIN_SILENCE_S = 0.1
"""A pause is heard from this long; shorter ones are bridged anyway."""
MIN_SPEECH_S = 0.1
"""Speech shorter than this (a click, a breath on the line) is not speech."""


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

