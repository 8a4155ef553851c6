"""Test calls built from real recorded speech, whose truth is known to the sample.

Issue 15: call metrics (talk per party, silences, holds, overtalk) and redaction went wrong on
real recordings with pauses, which synthetic, evenly paced speech never showed. Here a call is
put together from real recordings of spoken digits (the Free Spoken Digit Dataset, see
``ATTRIBUTION``) following a *script*, a list of events on a timeline:

* ``Say(party, "4 1 1 1", voice)``: an utterance, each digit a real recording of ``voice``
  (a take picked by ``random.Random(seed)``), ``gap_s`` apart; ``"|"`` splits it into groups
  ``group_gap_s`` apart (``"0 7 7 0 0 | 9 0 0 | 1 2 3"``). ``party`` is ``"agent"`` (left
  channel) or ``"customer"`` (right) in a stereo call, ``"speaker"`` in a mono one.
* ``Pause(s)``: nobody talks for ``s`` seconds.
* ``Hold(s)``: the same silence on both sides, listed in the truth's ``holds`` as well.
* ``Overlap(by_s, Say(...))``: an utterance of the *other* party that starts ``by_s`` seconds
  before the previous utterance ends (stereo only).

Utterances and pauses follow each other: each starts where the one before ended (an overlapped
utterance, earlier; what follows it starts when both have finished).

The rules the truth follows, decided once here:

* **Trimming.** FSDD clips carry some silence, breath or clicks before and after the digit. Each
  clip is cut to its speech before it is placed: in 10 ms frames (the last one may be shorter),
  a frame's energy is its mean squared sample; the clip keeps everything from the first to the
  last frame whose energy is within ``TRIM_DB`` (35 dB) of its loudest frame's. So a placed
  clip's extent *is* its speech span, exact to the sample.
* **Speech spans.** A party's spans are the union of its placed clips, where two clips less
  than ``MERGE_BELOW_S`` (0.5 s) apart count as one span: pauses shorter than that are part of
  the talk (the metric rule of issue 15). ``talk_s`` is the length of those spans; ``voiced_s``
  the length of the clips alone. Merging is per party: a short gap between one party's words
  and the other's reply is still a silence.
* **Silences** are the stretches where no party's span runs, from 0 to the end of the call,
  including before the first and after the last word: talk (the union) + silence == duration.
  "Over 10 s" is strictly longer than ``SILENCE_OVER_S``; a hold-like gap lasts at least
  ``HOLD_AT_LEAST_S`` (30 s), as ``transcription.metrics`` counts them. Overtalk is the
  intersection of the agent's and the customer's spans.
* **Numbers.** Each utterance is one spoken number: its digits, party, start and end (its first
  and last clip) and every digit's word span and source take. The reference text (for WER) is
  the digits as words ("four one"), per party and for the whole call in time order.
* **Noise floor.** Real lines are never digital zero, and some VADs and level checks behave
  differently on exact zeros. ``noise_dbfs`` (default -70 dBFS RMS; None for none) adds
  triangular dither to every channel, made from ``random.Random`` so that the same seed gives
  the same samples with any numpy. It is added everywhere and does not move any span.

Times in the truth are seconds rounded to 6 decimals, which is exact for an 8 kHz sample index
(1/8000 s = 0.000125 s). Everything is deterministic for a given script, seed and set of
recordings. Needs only numpy and the standard library, so tests can load it by path.
"""

from __future__ import annotations

import json
import random
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

RATE = 8000
"""The recordings' rate, and the calls': telephone audio."""
FRAME = RATE // 100
"""10 ms, the trimming frame."""
TRIM_DB = 35.0
MERGE_BELOW_S = 0.5
SILENCE_OVER_S = 10.0
HOLD_AT_LEAST_S = 30.0
DIGIT_GAP_S = 0.15
GROUP_GAP_S = 0.8
NOISE_DBFS = -70.0

AGENT, CUSTOMER, SPEAKER = "agent", "customer", "speaker"
STEREO_PARTIES = (AGENT, CUSTOMER)
"""Channel order of a stereo call: agent left, customer right."""
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

ROOT = Path(__file__).resolve().parents[2]
FSDD = ROOT.parent / "shared" / "speech" / "fsdd-dev"  # {digit}_{speaker}_{take}.wav, 8 kHz mono
ATTRIBUTION = (
    "Speech from the Free Spoken Digit Dataset (FSDD) by Zohar Jackson (Jakobovski) and "
    "contributors, https://github.com/Jakobovski/free-spoken-digit-dataset, licensed CC BY-SA "
    "4.0 (https://creativecommons.org/licenses/by-sa/4.0/). Changed: clips trimmed of silence, "
    "placed on a timeline and channels, low-level noise added; this adaptation is CC BY-SA 4.0."
)


@dataclass(frozen=True)
class Say:
    """An utterance of digits by one voice on one party's channel (see the module docstring).

    ``group_gap_s`` is one pause for every group boundary or one pause per boundary. ``label``
    ("card", "short answer") is copied into the truth so that a test can find the number.
    """

    party: str
    digits: str
    voice: str
    gap_s: float = DIGIT_GAP_S
    group_gap_s: float | tuple[float, ...] = GROUP_GAP_S
    label: str = ""


@dataclass(frozen=True)
class Pause:
    """Nobody talks for ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Hold:
    """Silence on both sides for ``seconds``: a hold, listed as such in the truth."""

    seconds: float


@dataclass(frozen=True)
class Overlap:
    """``say``, by the other party, starting ``by_s`` before the previous utterance ends."""

    by_s: float
    say: Say


Event = Say | Pause | Hold | Overlap


@dataclass(frozen=True, eq=False)
class Call:
    """The channels (int16; agent then customer, or the one mono channel) and their truth."""

    channels: list[np.ndarray]
    truth: dict[str, Any]
    rate: int = RATE


@dataclass(frozen=True)
class _Placed:
    """One trimmed clip on the timeline, in samples."""

    party: str
    start: int
    samples: np.ndarray
    digit: str
    take: str

    @property
    def end(self) -> int:
        return self.start + len(self.samples)


def trim_bounds(samples: np.ndarray) -> tuple[int, int]:
    """(first, end) sample of a clip's speech by the trimming rule: from the first to the last
    10 ms frame whose mean energy is within ``TRIM_DB`` of the loudest frame's. Compared in the
    linear domain, so a frame of exact zeros needs no log."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        raise ValueError("an empty clip has no speech to keep")
    starts = np.arange(0, x.size, FRAME)
    energy = np.add.reduceat(x * x, starts) / np.diff(np.append(starts, x.size))
    peak = float(energy.max())
    if peak <= 0.0:
        raise ValueError("a clip of digital silence has no speech to keep")
    kept = np.flatnonzero(energy >= peak * 10.0 ** (-TRIM_DB / 10.0))
    return int(starts[kept[0]]), int(min(x.size, starts[kept[-1]] + FRAME))


@lru_cache(maxsize=1024)
def _trimmed(path: str) -> np.ndarray:
    with wave.open(path, "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE, 1, 2):
            raise ValueError(f"{path}: expected a {RATE} Hz 16-bit mono recording")
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    first, end = trim_bounds(samples)
    clip = samples[first:end].copy()
    clip.flags.writeable = False
    return clip


def _takes(speech: Path, digit: str, voice: str) -> list[Path]:
    takes = sorted(speech.glob(f"{digit}_{voice}_*.wav"))
    if not takes:
        raise ValueError(f"no recording of {digit!r} by {voice!r} in {speech}")
    return takes


def _samples(seconds: float, what: str) -> int:
    if not (seconds >= 0.0 and seconds < 3600.0):
        raise ValueError(f"{what} must be between 0 and 3600 seconds, got {seconds!r}")
    return round(seconds * RATE)


def _groups(say: Say) -> list[list[str]]:
    groups = [group.split() for group in say.digits.split("|")]
    if not all(groups) or not all(d in "0123456789" and len(d) == 1 for g in groups for d in g):
        raise ValueError(f"digits must be single digits separated by spaces, in groups "
                         f"separated by '|': {say.digits!r}")
    return groups


def _group_gaps(say: Say, boundaries: int) -> list[float]:
    if isinstance(say.group_gap_s, tuple):
        if len(say.group_gap_s) != boundaries:
            raise ValueError(f"{say.digits!r} has {boundaries} group boundaries but "
                             f"{len(say.group_gap_s)} group gaps")
        return list(say.group_gap_s)
    return [say.group_gap_s] * boundaries


def _mode(script: Sequence[Event]) -> tuple[str, ...]:
    """The call's parties in channel order, after checking the script's shape."""
    says = [e.say if isinstance(e, Overlap) else e for e in script if isinstance(e, Say | Overlap)]
    if not says:
        raise ValueError("a script needs at least one utterance (Say)")
    parties = {s.party for s in says}
    if parties - {AGENT, CUSTOMER, SPEAKER}:
        raise ValueError(f"unknown party {sorted(parties - {AGENT, CUSTOMER, SPEAKER})}: "
                         f"use {AGENT!r}/{CUSTOMER!r} (stereo) or {SPEAKER!r} (mono)")
    if SPEAKER in parties and len(parties) > 1:
        raise ValueError(f"a script mixes {SPEAKER!r} (mono) with agent/customer (stereo)")
    previous: Say | None = None
    for event in script:
        if isinstance(event, Overlap):
            if previous is None or previous.party == event.say.party or SPEAKER in parties:
                raise ValueError("an Overlap must follow an utterance of the other party "
                                 "(stereo only)")
            if not event.by_s > 0.0:
                raise ValueError(f"an Overlap's by_s must be > 0, got {event.by_s!r}")
            previous = event.say
        elif isinstance(event, Say):
            previous = event
        elif not isinstance(event, Pause | Hold):
            raise ValueError(f"not a script event: {event!r}")
    return (SPEAKER,) if SPEAKER in parties else STEREO_PARTIES


def build(script: Sequence[Event], *, seed: int, speech: Path = FSDD,
          noise_dbfs: float | None = NOISE_DBFS, name: str = "") -> Call:
    """Assemble ``script`` into a call and compute its truth (rules in the module docstring).

    Raises ValueError, saying why, for a script that cannot be built: an unknown party, a mono
    script with agent/customer turns, an Overlap on the same party or longer than the utterance
    it overlaps, a party talking over itself, a digit ``speech`` has no recording of.
    """
    parties = _mode(script)
    rng = random.Random(seed)
    placed: list[_Placed] = []
    numbers: list[dict[str, Any]] = []
    holds: list[tuple[int, int]] = []
    cursor = 0
    last: tuple[int, int] | None = None  # the previous utterance's (start, end)
    party_end = dict.fromkeys(parties, 0)
    for event in script:
        if isinstance(event, Pause | Hold):
            length = _samples(event.seconds, type(event).__name__)
            if isinstance(event, Hold):
                holds.append((cursor, cursor + length))
            cursor += length
            continue
        if isinstance(event, Overlap):
            assert last is not None  # _mode checked it
            by = _samples(event.by_s, "Overlap.by_s")
            if by > last[1] - last[0]:
                raise ValueError(f"an Overlap of {event.by_s} s is longer than the utterance "
                                 f"it overlaps ({(last[1] - last[0]) / RATE:.3f} s)")
            say, start = event.say, last[1] - by
        else:
            assert isinstance(event, Say)
            say, start = event, cursor
        if start < party_end[say.party]:
            raise ValueError(f"{say.party} would talk over themselves at {start / RATE:.3f} s")
        groups = _groups(say)
        gap, group_gaps = _samples(say.gap_s, "gap_s"), _group_gaps(say, len(groups) - 1)
        words: list[dict[str, Any]] = []
        at = start
        for g, group in enumerate(groups):
            if g:
                at += _samples(group_gaps[g - 1], "group_gap_s") - gap
            for digit in group:
                take = rng.choice(_takes(speech, digit, say.voice))
                clip = _Placed(say.party, at, _trimmed(str(take)), digit, take.name)
                placed.append(clip)
                words.append({"word": DIGIT_WORDS[int(digit)], "digit": digit,
                              "start": _s(clip.start), "end": _s(clip.end), "take": take.name})
                at = clip.end + gap
        end = at - gap
        numbers.append({"party": say.party, "voice": say.voice, "label": say.label,
                        "digits": "".join(d for g in groups for d in g),
                        "groups": ["".join(g) for g in groups],
                        "start": _s(start), "end": _s(end), "words": words})
        party_end[say.party] = end
        last = (start, end)
        cursor = max(cursor, end)
    duration = cursor
    if duration <= 0:
        raise ValueError("the call is empty")
    channels = _mix(placed, parties, duration, seed, noise_dbfs)
    truth = _truth(name, parties, placed, numbers, holds, duration, seed, noise_dbfs)
    return Call(channels=channels, truth=truth)


def _mix(placed: Iterable[_Placed], parties: Sequence[str], duration: int, seed: int,
         noise_dbfs: float | None) -> list[np.ndarray]:
    channels = [np.zeros(duration, dtype=np.int32) for _ in parties]
    for clip in placed:
        channels[parties.index(clip.party)][clip.start:clip.end] += clip.samples
    if noise_dbfs is not None:
        for index, channel in enumerate(channels):
            channel += _dither(duration, noise_dbfs, f"{seed}:noise:{index}")
    return [np.clip(c, -32768, 32767).astype(np.int16) for c in channels]


def _dither(n: int, dbfs: float, seed: str) -> np.ndarray:
    """Triangular noise of RMS ``dbfs`` (re full scale), from ``random.Random`` (its byte
    stream is the same in every Python 3.9+, unlike numpy's generators across versions)."""
    raw = np.frombuffer(random.Random(seed).randbytes(2 * n), dtype=np.uint8).astype(np.float64)
    tpdf = raw[0::2] + raw[1::2] - 255.0  # sum of two uniforms: triangular on [-255, 255]
    rms = 32768.0 * 10.0 ** (dbfs / 20.0)
    return np.rint(tpdf * (rms / np.sqrt((256.0**2 - 1.0) / 6.0))).astype(np.int32)


def _s(samples: int) -> float:
    return round(samples / RATE, 6)


def _spans(intervals: Iterable[tuple[int, int]], merge_below: int) -> list[tuple[int, int]]:
    """Sorted disjoint spans; intervals less than ``merge_below`` samples apart are joined."""
    spans: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if spans and start - spans[-1][1] < merge_below:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def _intersection(a: Sequence[tuple[int, int]],
                  b: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
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


def _truth(name: str, parties: Sequence[str], placed: Sequence[_Placed],
           numbers: list[dict[str, Any]], holds: list[tuple[int, int]], duration: int,
           seed: int, noise_dbfs: float | None) -> dict[str, Any]:
    merge = round(MERGE_BELOW_S * RATE)
    spans = {p: _spans(((c.start, c.end) for c in placed if c.party == p), merge)
             for p in parties}
    union = _spans((span for p in parties for span in spans[p]), 0)
    silences = [(a, b) for a, b in zip([0] + [e for _, e in union],
                                       [s for s, _ in union] + [duration], strict=True) if b > a]
    overtalk = _intersection(spans[AGENT], spans[CUSTOMER]) if len(parties) == 2 else []
    gaps = [b - a for a, b in silences]
    numbers = sorted(numbers, key=lambda n: (n["start"], n["party"]))
    words = sorted((w["start"], n["party"], w["word"]) for n in numbers for w in n["words"])
    return {
        "name": name,
        "source": ATTRIBUTION,
        "rate": RATE,
        "channels": len(parties),
        "duration_s": _s(duration),
        "seed": seed,
        "noise_dbfs": noise_dbfs,
        "rules": {"frame_s": FRAME / RATE, "trim_db": TRIM_DB, "merge_below_s": MERGE_BELOW_S,
                  "silence_over_s": SILENCE_OVER_S, "hold_at_least_s": HOLD_AT_LEAST_S},
        "parties": {
            p: {"channel": i,
                "voices": sorted({n["voice"] for n in numbers if n["party"] == p}),
                "spans": [[_s(a), _s(b)] for a, b in spans[p]],
                "talk_s": _s(sum(b - a for a, b in spans[p])),
                "voiced_s": _s(sum(c.end - c.start for c in placed if c.party == p)),
                "words": sum(1 for c in placed if c.party == p)}
            for i, p in enumerate(parties)},
        "talk_s": _s(sum(b - a for a, b in union)),
        "overtalk_s": _s(sum(b - a for a, b in overtalk)),
        "overtalk": [[_s(a), _s(b)] for a, b in overtalk],
        "silence_s": _s(sum(gaps)),
        "silences": [[_s(a), _s(b)] for a, b in silences],
        "longest_silence_s": _s(max(gaps, default=0)),
        "silences_over_10s": sum(1 for g in gaps if g > round(SILENCE_OVER_S * RATE)),
        "hold_like_gaps": sum(1 for g in gaps if g >= round(HOLD_AT_LEAST_S * RATE)),
        "holds": [[_s(a), _s(b)] for a, b in holds],
        "numbers": numbers,
        "reference": {
            **{p: " ".join(w for _, party, w in words if party == p) for p in parties},
            "whole": " ".join(w for _, _, w in words),
        },
    }


def truth_json(truth: dict[str, Any]) -> str:
    """The truth as committed: stable key order, one item a line where it helps a diff."""
    return json.dumps(truth, indent=1, ensure_ascii=False) + "\n"


def summary(truth: dict[str, Any]) -> str:
    """A few lines to check a call's truth by eye."""
    lines = [f"{truth['name'] or 'call'}: {truth['duration_s']:.3f} s, "
             f"{truth['channels']} channel(s), talk {truth['talk_s']:.3f} s, "
             f"silence {truth['silence_s']:.3f} s"]
    for party, facts in truth["parties"].items():
        lines.append(f"  {party} ({', '.join(facts['voices'])}): talk {facts['talk_s']:.3f} s "
                     f"in {len(facts['spans'])} spans, voiced {facts['voiced_s']:.3f} s, "
                     f"{facts['words']} words")
    lines.append(f"  overtalk {truth['overtalk_s']:.3f} s {truth['overtalk']}; longest silence "
                 f"{truth['longest_silence_s']:.3f} s; silences over 10 s "
                 f"{truth['silences_over_10s']}; hold-like gaps {truth['hold_like_gaps']}; "
                 f"holds {truth['holds']}")
    for number in truth["numbers"]:
        label = f" ({number['label']})" if number["label"] else ""
        lines.append(f"  {number['start']:8.3f}-{number['end']:8.3f} {number['party']:<8} "
                     f"{' '.join(number['groups'])}{label}")
    return "\n".join(lines)


def write_wav(path: Path, call: Call) -> None:
    """The call as 16-bit PCM WAV (stdlib only; FLAC needs an encoder, see
    tests/data/speech/make.py)."""
    frames = np.stack(call.channels, axis=1) if len(call.channels) > 1 else call.channels[0]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(len(call.channels))
        w.setsampwidth(2)
        w.setframerate(call.rate)
        w.writeframes(np.ascontiguousarray(frames).tobytes())


NUMBER_GAP_S = 1.5
"""Issue 15: a spoken number is one party's digits with no pause longer than this between two
of them (``transcription.redaction``'s default ``number_gap_s``)."""


def spoken_runs(truth: dict[str, Any], gap_s: float = NUMBER_GAP_S) -> list[dict[str, Any]]:
    """The truth's digits grouped into spoken numbers by issue 15's rule, which is what a
    redactor that follows it should see: all words of every party in time order (by start,
    then party), a run going on while the next word is the same party's and starts at most
    ``gap_s`` after the previous one ended. So another party's word in between (an overlap
    too) ends a run, and in a mono call, which cannot tell voices apart, utterances close
    together join. Each run: ``party``, ``digits``, ``start`` (its first word's), ``end`` (its
    last word's) and the ``labels`` of the utterances it takes words from."""
    words = sorted(((w["start"], n["party"], w["end"], w["digit"], n["label"])
                    for n in truth["numbers"] for w in n["words"]),
                   key=lambda w: (w[0], w[1]))
    runs: list[dict[str, Any]] = []
    for start, party, end, digit, label in words:
        last = runs[-1] if runs else None
        if last is not None and last["party"] == party and start - last["end"] <= gap_s + 1e-9:
            last["digits"] += digit
            last["end"] = max(last["end"], end)
            if label and label not in last["labels"]:
                last["labels"].append(label)
        else:
            runs.append({"party": party, "digits": digit, "start": start, "end": end,
                         "labels": [label] if label else []})
    return runs
