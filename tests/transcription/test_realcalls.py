"""Real recordings through the whole pipeline, against exact truth (issue 15).

The calls in tests/data/speech were put together from real recordings of spoken digits (FSDD,
CC BY-SA 4.0; see its README) with known pauses, a hold, an overlap, a card number and a phone
number, so every talk span and every spoken number is known to the sample. What the model hears
differs from one CPU to another, so nothing here asserts its words: the metrics come from speech
activity (not from words), segments are checked against the truth's speech, and redaction by
where the numbers were said."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from qm.interactions.models import Interaction
from transcription import metrics as call_metrics
from transcription import redaction
from transcription.audio import decode
from transcription.decoding import DecodedCall, Transcriber

SPEECH = Path(__file__).parents[1] / "data" / "speech"
CALLS = ("stereo_card", "stereo_phone", "mono_pauses")
TAG = re.compile(r"\[(?:" + "|".join(redaction.TAGS) + r")\]")


def _truth(name: str) -> dict:
    return json.loads((SPEECH / f"{name}.truth.json").read_text())


@pytest.fixture(scope="module")
def decoded() -> dict[str, DecodedCall]:
    """Each call as the transcriber hears it, once for the module."""
    transcriber = Transcriber()
    return {name: transcriber.transcribe(decode(SPEECH / f"{name}.flac")) for name in CALLS}


@pytest.fixture
def transcribed(runner, session, people, tmp_path) -> dict[str, dict]:
    """The calls through ``qm transcribe``: what it printed for each, by name."""
    folder = tmp_path / "calls"
    folder.mkdir()
    for name in CALLS:
        shutil.copy(SPEECH / f"{name}.flac", folder / f"{name}.flac")
    jsonl = tmp_path / "out.jsonl"
    result = runner.invoke("transcribe", str(folder), "--agent", "agent.a", "--jsonl",
                           str(jsonl))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    return {Path(line["path"]).stem: line for line in lines}


def _close(found: float, true: float, share: float, seconds: float) -> bool:
    return abs(found - true) <= max(share * true, seconds)


def check_metrics(name: str, metrics: dict) -> None:
    """Talk within 10% or 1 s, overtalk within 1 s, the longest silence within 0.5 s, the
    count of silences over 10 s exact (issue 15)."""
    truth = _truth(name)
    parties = truth["parties"]
    if "speaker" in parties:
        assert metrics["agent_talk_s"] is None
        assert _close(metrics["talk_s"], parties["speaker"]["talk_s"], 0.10, 1.0), metrics
    else:
        for party in ("agent", "customer"):
            assert _close(metrics[f"{party}_talk_s"], parties[party]["talk_s"], 0.10, 1.0), (
                party, metrics, parties[party]["talk_s"])
        assert abs(metrics["overtalk_s"] - truth["overtalk_s"]) <= 1.0, metrics
    assert abs(metrics["longest_silence_s"] - truth["longest_silence_s"]) <= 0.5, metrics
    assert metrics["silences_over_10s"] == truth["silences_over_10s"], metrics
    assert metrics["hold_like_gaps"] == truth["hold_like_gaps"], metrics


@pytest.mark.parametrize("name", CALLS)
def test_the_metrics_match_the_truth(decoded, name):
    call = decoded[name]
    check_metrics(name, call_metrics.measure(call.segments, call.duration_s,
                                             activity=call.activity).as_dict())


def test_the_segments_alone_would_not_have(decoded):
    """What the metrics were before (segment boundaries) is off the truth on these calls:
    the test above is not passing by luck of easy audio."""
    failures = 0
    for name in CALLS:
        call = decoded[name]
        try:
            check_metrics(name, call_metrics.measure(call.segments, call.duration_s).as_dict())
        except AssertionError:
            failures += 1
    assert failures >= 1


@pytest.mark.parametrize("name", CALLS)
def test_segments_are_utterances_on_the_words(decoded, name):
    """Each segment lasts at most 15 s, and starts where its speaker's speech starts (within
    0.3 s of a true span), so click-to-seek lands on the words, not 30 s away."""
    truth, segments = _truth(name), decoded[name].segments
    assert segments
    for segment in segments:
        assert segment.end - segment.start <= 15.0 + 1e-6, segment
        spans = truth["parties"][segment.speaker]["spans"]
        assert any(a - 0.3 <= segment.start <= b for a, b in spans), (segment, spans)
        if segment.words:
            assert segment.words[0].start == segment.start
            assert all(w.start < w.end or w.start == w.end for w in segment.words)


def test_through_qm_transcribe(transcribed, session):
    """The pipeline stores the metrics measured from activity, and the interaction it makes
    for a recording lasts as long as the recording."""
    made = {i.external_id: i for i in session.scalars(select(Interaction))}
    for name in CALLS:
        check_metrics(name, transcribed[name]["metrics"])
        assert made[name].duration_s == round(_truth(name)["duration_s"]), name


def _segments(line: dict) -> list[tuple]:
    return [(s["speaker"], round(s["start"], 3), round(s["end"], 3), s["text"])
            for s in line["segments"]]


CHILD = """
import json, sys
from transcription.audio import decode
from transcription.decoding import Transcriber
from transcription.redaction import redact_segments
transcriber = Transcriber()
out = {}
for path in sys.argv[1:]:
    segments, _ = redact_segments(transcriber.transcribe(decode(path)).segments)
    out[path] = [(s.speaker, round(s.start, 3), round(s.end, 3), s.text.strip())
                 for s in segments]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_the_same_file_gives_the_same_transcript_in_every_process(runner, session, people,
                                                                   tmp_path):
    """In this process, in two ``--workers`` processes, and in a child process that takes the
    files in the other order: the same segments, times and words (issue 15: two runs used to
    hear the same real recordings differently)."""
    from sqlalchemy import delete

    from transcription.models import Transcript, TranscriptionJob

    folder = tmp_path / "calls"
    folder.mkdir()
    for name in CALLS:
        shutil.copy(SPEECH / f"{name}.flac", folder / f"{name}.flac")

    def run(workers: str) -> dict[str, list[tuple]]:
        jsonl = tmp_path / f"run-{workers}.jsonl"
        result = runner.invoke("transcribe", str(folder), "--agent", "agent.a", "--workers",
                               workers, "--jsonl", str(jsonl))
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
        return {Path(line["path"]).stem: _segments(line) for line in lines}

    here = run("1")
    session.execute(delete(Transcript))
    session.execute(delete(TranscriptionJob))
    session.commit()
    assert run("2") == here
    child = subprocess.run(
        [sys.executable, "-c", CHILD, *[str(folder / f"{n}.flac") for n in reversed(CALLS)]],
        capture_output=True, text=True, check=True, timeout=600)
    found = {Path(path).stem: [tuple(s) for s in segments]
             for path, segments in json.loads(child.stdout).items()}
    assert found == here


def _tags_between(line: dict, start: float, end: float) -> list[str]:
    return [s["text"] for s in line["segments"]
            if s["start"] < end and s["end"] > start and TAG.search(s["text"])]


def _digits_left(line: dict, start: float, end: float) -> list[str]:
    return [s["text"] for s in line["segments"]
            if s["start"] < end - 0.05 and s["end"] > start + 0.05 and re.search(r"\d", s["text"])]


def test_numbers_are_redacted_by_time_and_short_answers_stay(transcribed):
    """The card said in 4 groups and the phone number said in 3 (pauses under 1.5 s) are
    redacted, nothing of them left; the short answers ("2", "4 1") and the agent's digits stay;
    no segment is emptied (however the model heard the digits: a misheard one may change the
    tag, never whether the number goes)."""
    for name in ("stereo_card", "stereo_phone"):
        line = transcribed[name]
        assert all(s["text"] for s in line["segments"]), line["segments"]
        for number in _truth(name)["numbers"]:
            span = (number["start"], number["end"])
            if len(number["digits"]) >= 6:
                assert _tags_between(line, *span), (number, line["segments"])
                assert not _digits_left(line, *span), (number, line["segments"])
            elif len(number["digits"]) <= 4 and number["party"] == "customer":
                assert not _tags_between(line, *span), (number, line["segments"])
    assert sum(transcribed["stereo_card"]["redactions"].values()) == 1
    assert transcribed["mono_pauses"]["redactions"] == {}


def test_the_pause_that_ends_a_number_is_a_setting(runner, session, people, tmp_path):
    """QM_REDACT_NUMBER_GAP_S=0.3: the card's groups (0.6-0.95 s apart) are four numbers of
    four digits, and four digits stay."""
    folder = tmp_path / "calls"
    folder.mkdir()
    shutil.copy(SPEECH / "stereo_card.flac", folder / "stereo_card.flac")
    runner.env["QM_REDACT_NUMBER_GAP_S"] = "0.3"
    jsonl = tmp_path / "out.jsonl"
    result = runner.invoke("transcribe", str(folder), "--agent", "agent.a", "--jsonl",
                           str(jsonl))
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in jsonl.read_text().splitlines()]
    assert line["redactions"] == {}
    runner.env["QM_REDACT_NUMBER_GAP_S"] = "soon"
    result = runner.invoke("transcribe", str(folder), "--agent", "agent.a")
    assert result.exit_code != 0 and "QM_REDACT_NUMBER_GAP_S" in result.output


def test_a_looping_window_is_decoded_again(decoded):
    """The batched pipeline never falls back; a segment that repeats itself (its text
    compresses over 2.4, Whisper's measure) is a loop, and the channel is decoded again with no
    3-token sequence repeated. The clean test calls do not loop; what loops is counted."""
    from types import SimpleNamespace

    from transcription import decoding

    assert decoding._looped(SimpleNamespace(compression_ratio=7.13))  # "5, 5, 5, ..." measured
    assert not decoding._looped(SimpleNamespace(compression_ratio=1.15))
    assert not decoding._looped(SimpleNamespace(text="no ratio"))
    for call in decoded.values():
        assert call.settings["loops_decoded_again"] == 0
