"""`qm transcribe` end to end: real audio through the bundled model into the real database,
linked, redacted, measured; bad files reported while the batch goes on; re-runs skip what is
done; a run killed with SIGKILL is completed by the next one with no duplicate.

What the model hears differs from one CPU to another (int8 kernels), so nothing here asserts
its words or which tag a redaction chose: only that there are words, that the card's number
was redacted, digits and all, and where everything went. The redaction rules themselves are
tested on constructed timelines in test_transcription_redaction.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import factories
import pytest
from sqlalchemy import func, select

from qm import audit
from qm.audit import AuditEntry
from qm.interactions.models import Interaction
from scoring.evaluations import services as ev
from transcription import linking, pipeline, redaction
from transcription.audio import decode
from transcription.models import Transcript, TranscriptionJob

AUDIO = Path(__file__).parents[1] / "data" / "audio"
GOOD = ("agent_customer_8k.wav", "customer_card.mp3", "mono_16k.flac")
BAD = {"empty.wav": "empty file", "not_audio.wav": "not an audio file",
       "silence.wav": "silent recording"}


def _folder(tmp_path: Path, names) -> Path:
    folder = tmp_path / "calls"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(AUDIO / name, folder / name)
    return folder


def _lines(path: Path) -> dict[str, dict]:
    return {Path(d["path"]).name: d for d in map(json.loads, path.read_text().splitlines())}


TAG = re.compile(r"\[(?:" + "|".join(redaction.TAGS) + r")\]")


def assert_number_redacted(line: dict) -> None:
    """The card recording, however it was heard: a number was redacted (by some tag) and no
    digit of it is left in the text, its segments or their words."""
    assert line["status"] == "done", line
    assert sum(line["redactions"].values()) >= 1 and TAG.search(line["text"]), line["text"]
    assert not re.search(r"\d", line["text"]), line["text"]
    assert not any(re.search(r"\d", s["text"]) for s in line["segments"]), line["segments"]


def assert_heard(line: dict) -> None:
    """Some words were heard, whatever they were."""
    assert line["status"] == "done", line
    assert re.search(r"[a-z]{2}", line["text"].lower()), line["text"]


def test_a_batch_is_transcribed_redacted_measured_and_linked(runner, session, people,
                                                             tmp_path):
    folder = _folder(tmp_path, [*GOOD, *BAD])
    existing = factories.create_interaction(session, people["agent_a"],
                                            external_id="agent_customer_8k")
    session.commit()
    jsonl = tmp_path / "out.jsonl"
    result = runner.invoke("transcribe", str(folder), "--agent", "agent.a2",
                           "--jsonl", str(jsonl))
    assert result.exit_code == 1, result.output  # some files failed
    assert "6 file(s): 3 transcribed, 0 skipped (done before), 3 failed" in result.output
    lines = _lines(jsonl)
    for name, reason in BAD.items():
        assert lines[name]["status"] == "failed" and reason in lines[name]["error"]
    call = lines["agent_customer_8k.wav"]
    assert call["status"] == "done" and call["model"].startswith("tiny.en")
    assert {"path", "status", "error", "duration_s", "language", "text", "model", "segments",
            "metrics"} <= set(call)
    assert [s["speaker"] for s in call["segments"]][:1] == ["agent"]
    assert {"agent", "customer"} <= {s["speaker"] for s in call["segments"]}
    assert_heard(call)
    assert all(s["text"] for s in call["segments"])
    metrics = call["metrics"]
    assert metrics["agent_talk_s"] > 1 and metrics["customer_talk_s"] > 1
    assert {"longest_silence_s", "silences_over_10s", "overtalk_s"} <= set(metrics)
    card = lines["customer_card.mp3"]
    assert_number_redacted(card)
    # Linked: by file name to the interaction that exists, else a new one for --agent.
    assert call["interaction_id"] == existing.id
    session.expire_all()
    made = session.get(Interaction, card["interaction_id"])
    assert made.agent_id == people["agent_a2"].id and made.recording_path
    assert session.get(Interaction, existing.id).recording_path  # the audio was attached
    stored = session.scalar(select(Transcript).where(Transcript.interaction_id == existing.id))
    assert stored.segments[0]["words"] and stored.raw_text is None
    # The log proves what was stored without keeping the words.
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "transcript.stored",
                                                    AuditEntry.entity_id == str(stored.id)))
    logged = json.dumps(entry.after)
    assert entry.after["text"] == audit.digest(stored.text) and entry.after["text"]["sha256"]
    assert stored.text not in logged
    assert not any(s["text"] in logged for s in stored.segments if len(s["text"]) > 8)
    # The card's digits are in none of what was stored, words and timings included.
    card_stored = session.scalar(select(Transcript).where(
        Transcript.interaction_id == card["interaction_id"]))
    assert not re.search(r"\d", card_stored.text)
    assert not any(re.search(r"\d", w[2]) for s in card_stored.segments for w in s["words"])
    # Durations: the new interaction's from its audio; the existing one kept what it had.
    assert made.duration_s == 5  # customer_card.mp3 lasts 5.20 s
    assert session.get(Interaction, existing.id).duration_s == 300

    again = runner.invoke("transcribe", str(folder), "--agent", "agent.a2")
    assert "3 skipped (done before), 3 failed" in again.output
    assert session.scalar(select(func.count(Transcript.id))) == 3
    assert session.scalar(select(func.count(TranscriptionJob.id))) == 6


def test_the_evaluation_screen_shows_the_transcript(runner, client, auth, session, people,
                                                    tmp_path):
    factories.create_form(session)
    interaction = factories.create_interaction(session, people["agent_a"],
                                               external_id="agent_customer_8k")
    evaluation = ev.start_evaluation(session, people["qa"], interaction)
    session.commit()
    folder = _folder(tmp_path, ["agent_customer_8k.wav"])
    assert runner.invoke("transcribe", str(folder)).exit_code == 0
    auth.login("qa")
    page = client.get(f"/evaluations/{evaluation.id}").get_data(as_text=True)
    assert 'id="transcript"' in page and 'class="qm-segment qm-agent" data-start="' in page
    assert 'id="player"' in page and 'id="call-metrics"' in page
    auth.logout()
    auth.login("agent.a2")  # not theirs: neither the page nor the interaction
    assert client.get(f"/interactions/{interaction.id}").status_code == 404


def test_metadata_csv_and_a_file_that_matches_nothing(runner, session, people, tmp_path):
    folder = _folder(tmp_path, ["mono_16k.flac", "customer_card.mp3"])
    metadata = tmp_path / "meta.csv"
    metadata.write_text("file,external_id,agent,channel,started_at,queue\n"
                        "mono_16k.flac,CALL-77,agent.b,voice,2026-11-20T10:00:00+00:00,sales\n")
    result = runner.invoke("transcribe", str(folder), "--metadata", str(metadata))
    assert result.exit_code == 1
    assert "no interaction with external id 'customer_card'" in result.output
    made = session.scalar(select(Interaction).where(Interaction.external_id == "CALL-77"))
    assert made.agent_id == people["agent_b"].id and made.queue == "sales"


@pytest.mark.slow
def test_a_killed_run_is_completed_by_the_next_with_no_duplicates(runner, session, people,
                                                                  tmp_path):
    folder = _folder(tmp_path, GOOD)
    env = {**os.environ, **runner.env, "PYTHONUNBUFFERED": "1"}
    qm = [sys.executable, "-c", "from qm.cli import main; main()"]
    # --group-files 1: a file a group, so that a kill falls between two commits
    proc = subprocess.Popen([*qm, "transcribe", str(folder), "--agent", "agent.a",
                             "--group-files", "1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        seen = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen += line
            if ": done" in line:  # one file committed, the next one in progress
                break
            assert line or proc.poll() is None, seen
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, seen
    first = session.scalar(select(func.count(Transcript.id)))
    assert 1 <= first < 3
    result = runner.invoke("transcribe", str(folder), "--agent", "agent.a")
    assert result.exit_code == 0, result.output
    assert f"{first} skipped" in result.output
    session.expire_all()
    assert session.scalar(select(func.count(Transcript.id))) == 3
    statuses = session.scalars(select(TranscriptionJob.status)).all()
    assert sorted(statuses) == ["done", "done", "done"]
    assert session.scalar(select(func.count(Interaction.id))) == 3


def test_a_truncated_file_is_kept_with_a_warning_and_a_missing_model_stops_cleanly(
        runner, session, people, tmp_path):
    folder = _folder(tmp_path, ["truncated.wav", "mono_16k.flac"])
    jsonl = tmp_path / "out.jsonl"
    broken = runner.invoke("transcribe", str(folder / "mono_16k.flac"), "--agent", "agent.a",
                           "--model", str(tmp_path / "no-such-model"))
    assert broken.exit_code == 1 and "The speech model cannot be used" in broken.output
    assert session.scalar(select(TranscriptionJob.status)) == "pending"  # redone next time
    result = runner.invoke("transcribe", str(folder), "--agent", "agent.a", "--jsonl",
                           str(jsonl))
    assert result.exit_code == 0, result.output
    truncated = _lines(jsonl)["truncated.wav"]
    assert truncated["status"] == "done" and truncated["warnings"]
    stored = session.scalar(select(Transcript).where(
        Transcript.interaction_id == truncated["interaction_id"]))
    assert stored.warnings == truncated["warnings"]


def _wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\0\0" * int(seconds * rate))
    return path


def test_plan_groups_short_files_and_leaves_long_ones_alone(tmp_path):
    """The groups are fixed from the headers before any work, so every way of running a batch
    (here, --workers, Celery) hands the same files to the same transcription call."""
    short = [_wav(tmp_path / f"s{i}.wav", 10) for i in range(5)]
    long = _wav(tmp_path / "long.wav", 31)
    odd = tmp_path / "notes.wav"
    odd.write_text("not audio")
    missing = tmp_path / "gone.wav"
    paths = [short[0], long, short[1], odd, short[2], missing, short[3], short[4]]
    assert pipeline.plan(paths) == [[short[0], short[1], short[2], short[3], short[4]], [long],
                                    [odd], [missing]]
    # at most group_files files, or group_s seconds, a group
    assert pipeline.plan(short, group_files=2) == [short[:2], short[2:4], short[4:]]
    assert pipeline.plan(short, group_s=25) == [short[:3], short[3:]]
    assert pipeline.plan([short[0], long], group_files=1) == [[short[0]], [long]]
    assert pipeline.plan(paths).audio_s == pytest.approx(5 * 10 + 31)  # what --workers auto reads


def test_a_group_keeps_each_file_to_itself(runner, session, people, tmp_path):
    """One call for the group, but a job, a result and a transaction per file: a copy of a file
    in the same group is reported as done before, a bad file fails alone."""
    folder = _folder(tmp_path, ["mono_16k.flac", "customer_card.mp3", "not_audio.wav"])
    shutil.copy(AUDIO / "mono_16k.flac", folder / "zz_copy_of_mono.flac")
    jsonl = tmp_path / "out.jsonl"
    result = runner.invoke("transcribe", str(folder), "--agent", "agent.a", "--jsonl",
                           str(jsonl))
    assert result.exit_code == 1, result.output
    assert "4 file(s): 2 transcribed, 1 skipped (done before), 1 failed" in result.output
    lines = _lines(jsonl)
    assert lines["zz_copy_of_mono.flac"]["status"] == "skipped"
    assert lines["zz_copy_of_mono.flac"]["interaction_id"] == lines["mono_16k.flac"][
        "interaction_id"]
    assert lines["not_audio.wav"]["status"] == "failed"
    assert_heard(lines["mono_16k.flac"])
    assert_number_redacted(lines["customer_card.mp3"])
    assert session.scalar(select(func.count(Transcript.id))) == 2
    stored = session.scalars(select(Transcript)).all()
    assert sorted(t.settings["packed_with"] for t in stored) == [1, 1]
    jobs = {j.path.rsplit("/", 1)[-1]: j for j in session.scalars(select(TranscriptionJob))}
    assert jobs["not_audio.wav"].status == "failed" and jobs["mono_16k.flac"].attempts == 1


# -- durations: an interaction made or completed from a recording lasts as long as the audio ----


def _audio_s(path: Path) -> float:
    return decode(path).duration_s


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_interaction_made_for_a_recording_has_its_duration(runner, session, people,
                                                              tmp_path, workers):
    """``qm transcribe --agent``: the new interaction's duration is the recording's, in
    process and in ``--workers`` processes alike (the Celery workers run the same code)."""
    folder = _folder(tmp_path, ["agent_customer_8k.wav", "mono_16k.flac"])
    result = runner.invoke("transcribe", str(folder), "--agent", "agent.a",
                           "--workers", workers, "--group-files", "1")
    assert result.exit_code == 0, result.output
    made = {i.external_id: i for i in session.scalars(select(Interaction))}
    assert set(made) == {"agent_customer_8k", "mono_16k"}
    for name, interaction in made.items():
        length = _audio_s(folder / f"{name}.{'wav' if name.endswith('8k') else 'flac'}")
        assert abs(interaction.duration_s - length) <= 1, (name, interaction.duration_s, length)
        assert interaction.duration_s == round(length) and interaction.recording_path
    assert made["agent_customer_8k"].duration_s == 10 and made["mono_16k"].duration_s == 4
    created = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "interaction.created")).all()
    assert sorted(e.after["duration_s"] for e in created) == [4, 10]


def test_a_recording_linked_to_an_interaction_of_unknown_length_gives_it_one(
        runner, session, people, tmp_path):
    """The interaction came from a source system without a duration (0, unknown): the audio's
    length fills it in, audited with the recording it gained. A duration the source gave is
    never overwritten."""
    unknown = factories.create_interaction(session, people["agent_a"],
                                           external_id="agent_customer_8k", duration_s=0)
    known = factories.create_interaction(session, people["agent_a"],
                                         external_id="mono_16k", duration_s=94)
    session.commit()
    folder = _folder(tmp_path, ["agent_customer_8k.wav", "mono_16k.flac"])
    result = runner.invoke("transcribe", str(folder))
    assert result.exit_code == 0, result.output
    session.expire_all()
    unknown = session.get(Interaction, unknown.id)
    known = session.get(Interaction, known.id)
    length = _audio_s(folder / "agent_customer_8k.wav")
    assert abs(unknown.duration_s - length) <= 1 and unknown.duration_s == 10
    assert known.duration_s == 94  # what the source system said stays
    assert unknown.recording_path and known.recording_path

    def updates(interaction):
        return session.scalars(select(AuditEntry).where(
            AuditEntry.action == "interaction.updated",
            AuditEntry.entity_id == str(interaction.id))).all()

    [entry] = updates(unknown)
    assert entry.before["duration_s"] == 0 and entry.after["duration_s"] == 10
    assert entry.before["recording_path"] is None and entry.after["recording_path"]
    [entry] = updates(known)  # the recording it gained, and nothing else
    assert entry.before["duration_s"] == entry.after["duration_s"] == 94
    assert entry.before["recording_path"] is None and entry.after["recording_path"]
    assert audit.verify(session).ok

    # A re-run finds the jobs done and changes nothing.
    assert "2 skipped" in runner.invoke("transcribe", str(folder)).output
    assert len(updates(unknown)) == len(updates(known)) == 1


def test_recording_seconds():
    assert linking.recording_seconds(94.4) == 94 and linking.recording_seconds(94.6) == 95
    assert linking.recording_seconds(0.3) == 1  # some sound: never "unknown"
    assert linking.recording_seconds(0.0) == 0
