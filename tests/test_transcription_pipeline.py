"""`qm transcribe` end to end: real audio through the bundled model into the real database,
linked, redacted, measured; bad files reported while the batch goes on; re-runs skip what is
done; a run killed with SIGKILL is completed by the next one with no duplicate."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import factories
import pytest
from sqlalchemy import func, select

from qm.audit import AuditEntry
from scoring import evaluations as ev
from scoring.models import Interaction
from transcription import pipeline
from transcription.models import Transcript, TranscriptionJob

AUDIO = Path(__file__).parent / "data" / "audio"
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
    text = call["text"].lower()
    assert "billing" in text and "charged" in text
    metrics = call["metrics"]
    assert metrics["agent_talk_s"] > 1 and metrics["customer_talk_s"] > 1
    assert {"longest_silence_s", "silences_over_10s", "overtalk_s"} <= set(metrics)
    card = lines["customer_card.mp3"]
    assert "[CARD]" in card["text"] and card["redactions"] == {"CARD": 1}
    assert not any(ch.isdigit() for ch in card["text"])
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
    assert "billing" not in json.dumps(entry.after).lower()
    assert entry.after["text"]["sha256"]

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
    assert "cancel" in lines["mono_16k.flac"]["text"].lower()
    assert "[CARD]" in lines["customer_card.mp3"]["text"]
    assert session.scalar(select(func.count(Transcript.id))) == 2
    stored = session.scalars(select(Transcript)).all()
    assert sorted(t.settings["packed_with"] for t in stored) == [1, 1]
    jobs = {j.path.rsplit("/", 1)[-1]: j for j in session.scalars(select(TranscriptionJob))}
    assert jobs["not_audio.wav"].status == "failed" and jobs["mono_16k.flac"].attempts == 1
