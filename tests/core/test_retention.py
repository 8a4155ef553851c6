"""Retention: old recordings go, held ones and shared files stay; transcripts and evaluations
stay; every deletion is audited; the legal hold is set in the UI."""

from __future__ import annotations

import datetime as dt
import io

import factories
from sqlalchemy import select

from qm.audit import AuditEntry
from qm.interactions import services as interactions
from qm.interactions.models import Interaction
from qm.storage import RecordingStore

WAV = b"RIFF" + b"\0" * 60


def _with_recording(session, store, agent, started_at, content=WAV):
    return interactions.create_interaction(
        session, factories.SYSTEM,
        {"agent": agent.username, "channel": "voice", "started_at": started_at.isoformat()},
        store=store, recording=io.BytesIO(content), recording_name="call.wav")


def test_retention_deletes_old_audio_but_keeps_holds_and_shared_files(
        app, client, auth, runner, session, people):
    store = RecordingStore(app.extensions["qm"]["settings"].recordings_dir)
    now = dt.datetime.now(dt.UTC)
    old = _with_recording(session, store, people["agent_a"], now - dt.timedelta(days=400),
                          WAV + b"old")
    held = _with_recording(session, store, people["agent_a"], now - dt.timedelta(days=400),
                           WAV + b"held")
    shared_old = _with_recording(session, store, people["agent_a"],
                                 now - dt.timedelta(days=400), WAV + b"shared")
    young = _with_recording(session, store, people["agent_a"], now - dt.timedelta(days=10),
                            WAV + b"shared")
    session.commit()
    old_file = store.path(old.recording_path)
    shared_file = store.path(young.recording_path)
    auth.login("admin")
    response = client.post_form(f"/interactions/{held.id}/legal-hold", {"hold": "1"},
                                page=f"/interactions/{held.id}")
    assert response.status_code == 302
    assert "Legal hold" in client.get(f"/interactions/{held.id}").get_data(as_text=True)

    dry = runner.invoke("retention", "apply", "--days", "365", "--dry-run")
    assert "2 recording(s) would be deleted, 1 kept on legal hold" in dry.output
    assert old_file.is_file()
    result = runner.invoke("retention", "apply", "--days", "365")
    assert result.exit_code == 0, result.output
    assert "2 deleted" in result.output and "1 kept on legal hold" in result.output
    assert "1 files kept for a younger interaction" in result.output
    session.expire_all()
    assert not old_file.is_file() and shared_file.is_file()
    assert session.get(Interaction, old.id).recording_path is None
    assert session.get(Interaction, old.id).recording_sha256  # what it was stays provable
    assert session.get(Interaction, shared_old.id).recording_path is None
    assert session.get(Interaction, held.id).recording_path is not None
    assert session.get(Interaction, young.id).recording_path is not None
    actions = session.scalars(select(AuditEntry.action).where(
        AuditEntry.action == "recording.deleted_by_retention")).all()
    assert len(actions) == 2
    page = client.get(f"/interactions/{old.id}").get_data(as_text=True)
    assert "deleted by retention" in page and "<audio" not in page
    assert client.get(f"/interactions/{old.id}/recording").status_code == 404
    auth.logout()
    auth.login("qa")  # may not change interactions
    assert client.post_form(f"/interactions/{held.id}/legal-hold", {"hold": "0"},
                            page="/interactions").status_code == 403
