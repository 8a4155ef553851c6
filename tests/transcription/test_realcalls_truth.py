"""The real-speech test calls (tests/data/speech/) and the builder of their truth.

Issue 15's metrics and redaction need calls of real speech whose truth is exact. The calls are
assembled from real recordings by bench/transcribe/realcalls.py (the rules are in its module
docstring) and committed with ``NAME.truth.json``. These tests need no speech model: they check
that the files decode to what the truth says, that the truth agrees with the audio and with
itself, that the calls contain the cases the issue is about, that ``make.py`` rebuilds the same
calls, and the builder's rules on synthetic clips whose answer is known by hand.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import wave
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from transcription.audio import decode

DATA = Path(__file__).parents[1] / "data" / "speech"
NAMES = ("stereo_card", "stereo_phone", "mono_pauses")
NUMBER_GAP_S = 1.5
"""Issue 15: a spoken number is one party's digits with no pause longer than this."""


def _load(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


make = _load("qm_tests_speech_make", DATA / "make.py")
rc = make.rc
RATE = rc.RATE


def truth(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.truth.json").read_text())


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def at(seconds: float) -> int:
    return round(seconds * RATE)


def words_of(t: dict[str, Any], party: str | None = None) -> list[dict[str, Any]]:
    return sorted((dict(w, party=n["party"]) for n in t["numbers"] for w in n["words"]
                   if party in (None, n["party"])), key=lambda w: w["start"])


# --- the committed files ------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_file_decodes_to_the_truths_duration_and_channels(name: str) -> None:
    t = truth(name)
    audio = decode(DATA / f"{name}.flac")
    assert audio.duration_s == pytest.approx(t["duration_s"], abs=1e-6)
    assert len(audio.channels) == t["channels"] == len(t["parties"])
    assert audio.source_sample_rate == t["rate"] == RATE
    assert not audio.truncated and audio.warnings == ()


@pytest.mark.parametrize("name", NAMES)
def test_truth_describes_the_audio(name: str) -> None:
    """Outside a party's words its channel holds only the noise floor; every word is loud, and
    its first and last 10 ms are within the trimming rule's 35 dB of its loudest frame."""
    t = truth(name)
    audio = decode(DATA / f"{name}.flac", sample_rate=RATE)  # the file's rate: no resampling
    for party, facts in t["parties"].items():
        x = audio.channels[facts["channel"]].astype(np.float64)
        spoken = np.zeros(x.size, dtype=bool)
        for word in words_of(t, party):
            a, b = at(word["start"]), at(word["end"])
            spoken[a:b] = True
            clip = x[a:b]
            assert 20 * np.log10(np.abs(clip).max()) > -40.0, (party, word)
            frames = [np.mean(clip[i:i + rc.FRAME] ** 2) for i in range(0, clip.size, rc.FRAME)]
            floor = max(frames) * 10 ** (-(rc.TRIM_DB + 1.0) / 10)
            assert frames[0] >= floor and frames[-1] >= floor, (party, word)
        assert spoken.any()
        assert 20 * np.log10(np.abs(x[~spoken]).max()) < -55.0, party
        assert 20 * np.log10(np.sqrt(np.mean(x[~spoken] ** 2))) == pytest.approx(
            t["noise_dbfs"], abs=1.0)


def _check_spans(spans: list[list[float]], duration: float, min_gap: float = 0.0) -> None:
    for (a, b), nxt in zip(spans, spans[1:] + [None], strict=True):
        assert 0.0 <= a < b <= duration
        if nxt is not None:
            assert nxt[0] - b >= min_gap - 1e-9 and nxt[0] > b


@pytest.mark.parametrize("name", NAMES)
def test_truth_is_consistent(name: str) -> None:
    t = truth(name)
    duration = t["duration_s"]
    assert t["talk_s"] + t["silence_s"] == pytest.approx(duration, abs=1e-6)
    union: list[list[float]] = []
    for party, facts in t["parties"].items():
        _check_spans(facts["spans"], duration, min_gap=t["rules"]["merge_below_s"])
        assert facts["talk_s"] == pytest.approx(sum(b - a for a, b in facts["spans"]), abs=1e-6)
        assert facts["voiced_s"] <= facts["talk_s"] + 1e-9
        assert facts["words"] == len(words_of(t, party)) > 0
        for word in words_of(t, party):  # every word lies inside one of its party's spans
            assert any(a <= word["start"] < word["end"] <= b for a, b in facts["spans"])
        union += facts["spans"]
    merged: list[list[float]] = []
    for a, b in sorted(union):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    assert t["talk_s"] == pytest.approx(sum(b - a for a, b in merged), abs=1e-6)
    edges = [0.0] + [x for span in merged for x in span] + [duration]
    gaps = [[a, b] for a, b in zip(edges[::2], edges[1::2], strict=True) if b > a]
    assert len(t["silences"]) == len(gaps)
    assert [x for s in t["silences"] for x in s] == pytest.approx(
        [x for g in gaps for x in g], abs=1e-6)
    lengths = [b - a for a, b in t["silences"]]
    assert t["longest_silence_s"] == pytest.approx(max(lengths), abs=1e-6)
    assert t["silences_over_10s"] == sum(1 for g in lengths if g > 10.0 + 1e-9)
    assert t["hold_like_gaps"] == sum(1 for g in lengths if g >= 30.0 - 1e-9)
    if t["channels"] == 2:
        agent, customer = t["parties"]["agent"], t["parties"]["customer"]
        assert agent["talk_s"] + customer["talk_s"] - t["overtalk_s"] == pytest.approx(
            t["talk_s"], abs=1e-6)
        for a, b in t["overtalk"]:
            for facts in (agent, customer):
                assert any(x <= a < b <= y for x, y in facts["spans"])
    else:
        assert t["overtalk_s"] == 0.0 and t["overtalk"] == []
    for hold in t["holds"]:
        assert any(a <= hold[0] < hold[1] <= b for a, b in t["silences"])
    assert "FSDD" in t["source"] and "CC BY-SA 4.0" in t["source"]


@pytest.mark.parametrize("name", NAMES)
def test_numbers_match_their_words_and_the_reference(name: str) -> None:
    t = truth(name)
    starts = [n["start"] for n in t["numbers"]]
    assert starts == sorted(starts)
    for number in t["numbers"]:
        words = number["words"]
        assert "".join(w["digit"] for w in words) == number["digits"] == "".join(number["groups"])
        assert [rc.DIGIT_WORDS[int(w["digit"])] for w in words] == [w["word"] for w in words]
        assert number["start"] == words[0]["start"] and number["end"] == words[-1]["end"]
        for w, nxt in zip(words, words[1:], strict=False):
            assert w["start"] < w["end"] < nxt["start"]
        assert all(w["take"].startswith(f"{w['digit']}_{number['voice']}_") for w in words)
    for party in t["parties"]:
        assert t["reference"][party] == " ".join(w["word"] for w in words_of(t, party))
    assert t["reference"]["whole"] == " ".join(w["word"] for w in words_of(t))


def runs_by_the_issues_rule(t: dict[str, Any]) -> list[str]:
    """Issue 15's spoken numbers: one party's digit words with no pause over 1.5 s between
    consecutive ones and none of the other party's words inside."""
    runs: list[list[dict[str, Any]]] = []
    everything = words_of(t)
    for party in t["parties"]:
        current: list[dict[str, Any]] = []
        for word in words_of(t, party):
            if current and (word["start"] - current[-1]["end"] > NUMBER_GAP_S or any(
                    w["party"] != party and current[-1]["end"] <= w["start"] < word["start"]
                    for w in everything)):
                runs.append(current)
                current = []
            current.append(word)
        runs.append(current)
    return ["".join(w["digit"] for w in run) for run in sorted(runs, key=lambda r: r[0]["start"])]


@pytest.mark.parametrize("name", ["stereo_card", "stereo_phone"])
def test_each_utterance_is_one_spoken_number_by_the_issues_rule(name: str) -> None:
    """In the stereo calls a redactor that follows issue 15 finds each utterance as one number,
    unless the other party talks into it (in stereo_card's overlap the customer's "5382" and
    the agent's "77" split each other: "53", "7", "82", "7"); every run long enough to redact
    (5+ digits) is one of the truth's numbers."""
    t = truth(name)
    runs = runs_by_the_issues_rule(t)
    everything = words_of(t)
    for number in t["numbers"]:
        interrupted = any(w["party"] != number["party"]
                          and number["start"] < w["start"] < number["end"] for w in everything)
        assert (number["digits"] in runs) != interrupted, number
    assert {r for r in runs if len(r) >= 5} == {
        n["digits"] for n in t["numbers"] if len(n["digits"]) >= 5}


def test_mono_runs_by_the_issues_rule_stay_too_short_to_redact() -> None:
    """Mono cannot tell voices apart, so utterances under 1.5 s apart join into one run; none
    reaches 5 digits, so nothing in the mono call is a number to redact."""
    runs = runs_by_the_issues_rule(truth("mono_pauses"))
    assert len(runs) < len(truth("mono_pauses")["numbers"])  # some utterances do join
    assert max(len(run) for run in runs) <= 4


def test_stereo_card_has_the_cases_of_the_issue() -> None:
    t = truth("stereo_card")
    assert 40.0 <= t["duration_s"] <= 60.0
    (card,) = [n for n in t["numbers"] if n["label"] == "card"]
    assert card["party"] == "customer" and len(card["digits"]) == 16 and luhn(card["digits"])
    assert [len(g) for g in card["groups"]] == [4, 4, 4, 4]
    starts = [w["start"] for w in card["words"]]
    ends = [w["end"] for w in card["words"]]
    group_pauses = [starts[i] - ends[i - 1] for i in (4, 8, 12)]
    assert all(0.6 - 1e-9 <= p <= 1.0 + 1e-9 for p in group_pauses)
    short = [n["digits"] for n in t["numbers"] if n["label"] == "short answer"]
    assert "2" in short and "41" in short and all(n["party"] == "customer" for n in t["numbers"]
                                                  if n["label"] == "short answer")
    assert any(n["party"] == "agent" and len(n["digits"]) == 3 for n in t["numbers"])
    assert [b - a for a, b in t["holds"]] == pytest.approx([12.0])
    assert t["longest_silence_s"] >= 12.0 - 1e-9 and t["silences_over_10s"] == 1
    assert t["hold_like_gaps"] == 0
    assert t["overtalk_s"] == pytest.approx(1.0, abs=1e-6) and len(t["overtalk"]) == 1
    pauses = [b - a for a, b in t["silences"][1:-1]]
    assert min(pauses) < 0.5 and any(0.3 <= p <= 2.5 for p in pauses)


def test_stereo_phone_has_the_cases_of_the_issue() -> None:
    t = truth("stereo_phone")
    assert 30.0 <= t["duration_s"] <= 45.0
    (phone,) = [n for n in t["numbers"] if n["label"] == "phone"]
    assert phone["party"] == "customer" and phone["digits"] == "07700900123"
    assert phone["groups"] == ["07700", "900", "123"]
    after = [n for n in t["numbers"] if n["start"] > phone["end"]][0]
    assert after["party"] == "agent" and len(after["digits"]) == 1
    assert after["start"] - phone["end"] > NUMBER_GAP_S
    assert t["overtalk_s"] == 0.0 and t["holds"] == []
    assert t["silences_over_10s"] == 1 and t["hold_like_gaps"] == 0


def test_mono_pauses_has_short_utterances_of_several_voices() -> None:
    t = truth("mono_pauses")
    assert t["channels"] == 1 and list(t["parties"]) == ["speaker"]
    assert 30.0 <= t["duration_s"] <= 60.0
    assert len(t["parties"]["speaker"]["voices"]) >= 3
    assert all(1 <= len(n["digits"]) <= 3 for n in t["numbers"])
    numbers = t["numbers"]
    pauses = [b["start"] - a["end"] for a, b in zip(numbers, numbers[1:], strict=False)]
    assert all(0.6 - 1e-9 <= p <= 4.0 + 1e-9 for p in pauses)


def test_the_calls_use_at_least_four_speakers_and_stay_small() -> None:
    voices = {v for name in NAMES for f in truth(name)["parties"].values() for v in f["voices"]}
    assert len(voices) >= 4
    assert sum(p.stat().st_size for p in DATA.iterdir()) < 1_500_000


def test_make_rebuilds_the_committed_calls(tmp_path: Path) -> None:
    """Same scripts, seeds and recordings: the same truth, byte for byte, and the same samples
    (FLAC is lossless, so decoded samples are the built ones)."""
    if not rc.FSDD.is_dir():
        pytest.skip(f"the FSDD recordings are not in {rc.FSDD}")
    assert make.main([str(tmp_path), "--quiet"]) == 0
    for name in NAMES:
        built = (tmp_path / f"{name}.truth.json").read_text()
        assert built == (DATA / f"{name}.truth.json").read_text(), name
        new = decode(tmp_path / f"{name}.flac", sample_rate=RATE)
        old = decode(DATA / f"{name}.flac", sample_rate=RATE)
        for a, b in zip(new.channels, old.channels, strict=True):
            assert np.array_equal(a, b), name


# --- the builder's rules, on synthetic clips with hand-computed answers ----------------------

CLIP = 2000
"""Each synthetic take trims to exactly 0.25 s."""


def _write(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.astype(np.int16).tobytes())


def _square(n: int, amplitude: float) -> np.ndarray:
    return np.rint(amplitude * np.where(np.arange(n) % 2, -1.0, 1.0))


@pytest.fixture
def speech(tmp_path: Path) -> Path:
    """Takes 1-3 of every digit by voice "tone": 50 ms of zeros, a 0.25 s burst (louder take by
    take), 50 ms of a tail 45 dB down, which the trimming rule drops."""
    for digit in range(10):
        for take in (1, 2, 3):
            amplitude = 6000.0 + 1000 * take + 100 * digit
            _write(tmp_path / f"{digit}_tone_{take}.wav", np.concatenate([
                np.zeros(400), _square(CLIP, amplitude), _square(400, amplitude * 10 ** -2.25)]))
    return tmp_path


def test_trim_keeps_the_frames_within_35_db_of_the_loudest() -> None:
    amplitude = 10_000.0
    clip = np.concatenate([
        np.zeros(240),                                    # 3 frames of silence
        _square(400, amplitude * 10 ** (-40 / 20)),       # 5 frames 40 dB down: dropped
        _square(400, amplitude),                          # 5 loud frames
        _square(160, amplitude * 10 ** (-30 / 20)),       # 2 frames 30 dB down: kept
        _square(160, amplitude * 10 ** (-40 / 20)),       # dropped
        _square(30, amplitude * 10 ** (-20 / 20)),        # a short last frame 20 dB down: kept
    ])
    assert rc.trim_bounds(clip) == (640, clip.size)
    assert rc.trim_bounds(clip[:1200]) == (640, 1200)
    with pytest.raises(ValueError, match="silence"):
        rc.trim_bounds(np.zeros(800))


def test_build_places_clips_and_measures_them_exactly(speech: Path) -> None:
    A, C = rc.AGENT, rc.CUSTOMER
    script = [
        rc.Pause(1.0),
        rc.Say(A, "1 2", "tone", gap_s=0.3),                           # 1.0-1.8, one span
        rc.Pause(0.5),
        rc.Say(C, "3 | 4", "tone", group_gap_s=0.5, label="x"),       # 2.3-2.55, 3.05-3.3
        rc.Overlap(0.1, rc.Say(A, "5", "tone")),                       # 3.2-3.45
        rc.Hold(10.5),                                                 # 3.45-13.95
        rc.Say(C, "6", "tone"),                                        # 13.95-14.2
        rc.Pause(0.25),
    ]
    call = rc.build(script, seed=1, speech=speech, noise_dbfs=None, name="hand")
    t = call.truth
    assert t["duration_s"] == 14.45 and [c.size for c in call.channels] == [at(14.45)] * 2
    agent, customer = t["parties"]["agent"], t["parties"]["customer"]
    assert agent["spans"] == [[1.0, 1.8], [3.2, 3.45]] and agent["talk_s"] == 1.05
    assert agent["voiced_s"] == 0.75 and agent["words"] == 3
    assert customer["spans"] == [[2.3, 2.55], [3.05, 3.3], [13.95, 14.2]]
    assert customer["talk_s"] == 0.75
    assert t["overtalk"] == [[3.2, 3.3]] and t["overtalk_s"] == 0.1
    assert t["talk_s"] == 1.7 and t["silence_s"] == 12.75
    assert t["silences"] == [[0.0, 1.0], [1.8, 2.3], [2.55, 3.05], [3.45, 13.95], [14.2, 14.45]]
    assert t["longest_silence_s"] == 10.5 and t["silences_over_10s"] == 1
    assert t["hold_like_gaps"] == 0 and t["holds"] == [[3.45, 13.95]]
    assert [(n["party"], n["digits"], n["start"], n["end"]) for n in t["numbers"]] == [
        (A, "12", 1.0, 1.8), (C, "34", 2.3, 3.3), (A, "5", 3.2, 3.45), (C, "6", 13.95, 14.2)]
    assert t["numbers"][1]["groups"] == ["3", "4"] and t["numbers"][1]["label"] == "x"
    assert t["reference"] == {"agent": "one two five", "customer": "three four six",
                              "whole": "one two three four five six"}
    # No noise: each channel is non-zero exactly where its party's clips are.
    for party, channel in zip((A, C), call.channels, strict=True):
        expected = np.zeros(channel.size, dtype=bool)
        for word in words_of(t, party):
            expected[at(word["start"]):at(word["end"])] = True
        assert np.array_equal(channel != 0, expected), party


def test_build_merges_pauses_under_half_a_second_only(speech: Path) -> None:
    script = [rc.Say(rc.SPEAKER, "1 | 2 | 3", "tone", group_gap_s=(0.499, 0.5))]
    t = rc.build(script, seed=1, speech=speech, noise_dbfs=None).truth
    assert t["channels"] == 1 and t["parties"]["speaker"]["spans"] == [[0.0, 0.999],
                                                                     [1.499, 1.749]]
    assert t["silences"] == [[0.999, 1.499]] and t["overtalk_s"] == 0.0


def test_build_is_deterministic_for_a_seed(speech: Path) -> None:
    script = [rc.Say(rc.AGENT, "1 2 3 4 5 6 7 8", "tone"), rc.Pause(0.4),
              rc.Say(rc.CUSTOMER, "9 0", "tone")]
    first = rc.build(script, seed=3, speech=speech)
    again = rc.build(script, seed=3, speech=speech)
    other = rc.build(script, seed=4, speech=speech)
    assert rc.truth_json(first.truth) == rc.truth_json(again.truth)
    assert all(np.array_equal(a, b) for a, b in zip(first.channels, again.channels, strict=True))
    takes = [[w["take"] for w in n["words"]] for n in first.truth["numbers"]]
    assert takes != [[w["take"] for w in n["words"]] for n in other.truth["numbers"]]
    assert not np.array_equal(first.channels[0], other.channels[0])


def test_noise_floor_fills_the_silence_and_moves_nothing(speech: Path) -> None:
    script = [rc.Pause(0.5), rc.Say(rc.SPEAKER, "7", "tone"), rc.Pause(2.0)]
    quiet = rc.build(script, seed=5, speech=speech, noise_dbfs=None)
    noisy = rc.build(script, seed=5, speech=speech, noise_dbfs=-70.0)
    silence = noisy.channels[0][at(0.75):].astype(np.float64)
    assert np.count_nonzero(quiet.channels[0][at(0.75):]) == 0
    assert np.count_nonzero(silence) > 0.9 * silence.size
    rms_dbfs = 20 * np.log10(np.sqrt(np.mean(silence**2)) / 32768)
    assert rms_dbfs == pytest.approx(-70.0, abs=0.5)
    assert {**quiet.truth, "noise_dbfs": -70.0} == noisy.truth


@pytest.mark.parametrize(("script", "message"), [
    ([rc.Say("caller", "1", "tone")], "unknown party"),
    ([rc.Say(rc.SPEAKER, "1", "tone"), rc.Say(rc.AGENT, "2", "tone")], "mixes"),
    ([rc.Overlap(0.1, rc.Say(rc.AGENT, "1", "tone"))], "Overlap"),
    ([rc.Say(rc.AGENT, "1", "tone"), rc.Overlap(0.1, rc.Say(rc.AGENT, "2", "tone"))], "Overlap"),
    ([rc.Say(rc.AGENT, "1", "tone"), rc.Overlap(0.3, rc.Say(rc.CUSTOMER, "2", "tone"))],
     "longer than"),
    ([rc.Say(rc.AGENT, "1 2", "tone"), rc.Overlap(0.1, rc.Say(rc.CUSTOMER, "2 3 4 5", "tone")),
      rc.Overlap(1.4, rc.Say(rc.AGENT, "6", "tone"))], "over themselves"),
    ([rc.Say(rc.AGENT, "12", "tone")], "single digits"),
    ([rc.Say(rc.AGENT, "1 | 2 | 3", "tone", group_gap_s=(0.5,))], "group gaps"),
    ([rc.Say(rc.AGENT, "1", "nobody")], "no recording"),
    ([rc.Pause(-1.0), rc.Say(rc.AGENT, "1", "tone")], "between 0 and"),
    ([rc.Pause(1.0)], "at least one"),
])
def test_build_refuses_a_bad_script(speech: Path, script: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rc.build(script, seed=1, speech=speech)
