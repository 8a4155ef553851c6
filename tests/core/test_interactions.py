"""Interactions: CSV import (bad rows reported, nothing twice), recordings, create, correct,
search and paging."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

import factories
import pytest
from sqlalchemy import func, select

from qm.audit import AuditEntry
from qm.interactions import importing
from qm.interactions import services as interactions
from qm.interactions.models import Interaction

HEADER = ("external_id,agent,channel,started_at,duration_s,queue,direction,customer_ref,"
          "recording,body")


def tone_wav(path: Path, seconds: float = 0.5, rate: int = 8000) -> Path:
    """A real, small WAV file: a 440 Hz tone."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                          for i in range(int(seconds * rate)))
        out.writeframes(frames)
    return path


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def count(session) -> int:
    return session.scalar(select(func.count(Interaction.id)))


def test_cli_import_reports_bad_rows_and_keeps_good_ones(runner, session, people, tmp_path):
    tone_wav(tmp_path / "call1.wav")
    csv_file = write_csv(tmp_path / "calls.csv", [
        "C1,agent.a,voice,2026-11-20T09:00:00Z,300,billing,inbound,CU-1,call1.wav,",
        "C2,agent.a,fax,2026-11-20T09:05:00Z,300,billing,inbound,CU-2,,",
        "C3,ghost,voice,2026-11-20T09:10:00Z,300,billing,inbound,CU-3,,",
        "C4,agent.b,chat,not-a-date,4:30,billing,inbound,CU-4,,",
        'C5,agent.b,email,2026-11-20 10:00,,billing,inbound,CU-5,,"Dear team,\nplease help."',
        "C6,agent.b,voice,2026-11-20T11:00:00Z,-5,billing,inbound,CU-6,,",
        "C1,agent.a,voice,2026-11-20T09:00:00Z,300,billing,inbound,CU-1,,",
        "C8,agent.a,voice,2026-11-20T12:00:00Z,60,billing,inbound,CU-8,missing.wav,",
        "C9,hr,voice,2026-11-20T12:00:00Z,60,billing,inbound,CU-9,,",
    ])
    result = runner.invoke("interactions", "import", str(csv_file), "--source", "pbx")
    assert result.exit_code == 1
    out = result.output
    assert "9 rows: 2 imported, 0 already imported, 7 failed." in out
    assert "calls.csv:3 [C2]: channel 'fax' is not one of voice, chat, email" in out
    assert "calls.csv:4 [C3]: no user 'ghost'" in out
    assert "calls.csv:5 [C4]: started_at 'not-a-date' is not an ISO 8601" in out
    # the quoted body spans two lines, so the next row starts on line 8
    assert "calls.csv:8 [C6]: duration cannot be negative" in out
    assert "calls.csv:9 [C1]: duplicate of line 2" in out
    assert "calls.csv:10 [C8]: recording file" in out and "not found" in out
    assert "calls.csv:11 [C9]: user 'hr' is not an agent" in out
    rows = {i.external_id: i for i in session.scalars(select(Interaction))}
    assert set(rows) == {"C1", "C5"}
    assert rows["C1"].recording_sha256 and rows["C1"].recording_type == "audio/wav"
    assert rows["C5"].body == "Dear team,\nplease help." and rows["C5"].duration_s == 0
    assert rows["C1"].team_id == people["team_a"].id
    imported = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "interaction.imported")).all()
    assert len(imported) == 2


def test_reimport_imports_nothing_twice(runner, session, people, tmp_path):
    csv_file = write_csv(tmp_path / "calls.csv", [
        f"R{i},agent.a,voice,2026-11-20T09:{i:02d}:00Z,60,billing,inbound,CU,," for i in range(5)
    ])
    first = runner.invoke("interactions", "import", str(csv_file))
    assert first.exit_code == 0 and "5 imported" in first.output
    second = runner.invoke("interactions", "import", str(csv_file))
    assert second.exit_code == 0
    assert "0 imported, 5 already imported, 0 failed" in second.output
    assert count(session) == 5
    other_source = runner.invoke("interactions", "import", str(csv_file), "--source", "crm")
    assert "5 imported" in other_source.output  # the natural key is (source, external id)


def test_import_commits_chunk_by_chunk_and_resumes(runner, session, people, tmp_path):
    lines = [f"K{i},agent.a,chat,2026-11-20T09:00:{i % 60:02d}Z,60,q,inbound,CU,,"
             for i in range(25)]
    lines[22] = "K22,agent.a,chat,broken,60,q,inbound,CU,,"
    csv_file = write_csv(tmp_path / "big.csv", lines)
    result = runner.invoke("interactions", "import", str(csv_file), "--chunk-size", "10")
    assert "25 rows: 24 imported" in result.output
    assert result.output.count("rows read") >= 2  # progress after each chunk
    assert count(session) == 24


def test_missing_columns_import_nothing(runner, session, people, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,who\n1,agent.a\n")
    result = runner.invoke("interactions", "import", str(path))
    assert result.exit_code == 1
    assert "lacks the column(s) agent, channel, started_at" in result.output
    assert count(session) == 0


def test_not_utf8_is_a_clear_error(session, people):
    from qm.errors import InvalidInput

    data = ("external_id,agent,channel,started_at,queue\n"
            "X1,agent.a,voice,2026-11-20T09:00:00Z,caf\xe9\n").encode("latin-1")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        importing.import_csv(session, factories.SYSTEM, io.BytesIO(data))
    assert count(session) == 0


def test_naive_times_use_the_given_time_zone(session, people):
    data = "external_id,agent,channel,started_at\nTZ1,agent.a,voice,2026-07-01 09:00\n"
    importing.import_csv(session, factories.SYSTEM, io.BytesIO(data.encode()),
                        timezone="Europe/Paris")
    row = session.scalar(select(Interaction).where(Interaction.external_id == "TZ1"))
    assert row.started_at.isoformat() == "2026-07-01T07:00:00+00:00"


def test_ui_import_shows_the_report(client, auth, session, people):
    auth.login("admin")
    data = (f"{HEADER}\nU1,agent.a,voice,2026-11-20T09:00:00Z,60,q,inbound,C,,\n"
            "U2,agent.a,voice,2026-11-20T09:00:00Z,60,q,sideways,C,,\n").encode()
    response = client.post_form("/interactions/import", {
        "file": (io.BytesIO(data), "calls.csv"), "source": "upload", "timezone": "UTC"},
        page="/interactions/import", content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 rows: 1 imported, 0 already imported, 1 failed." in page
    assert "direction &#39;sideways&#39; is not one of" in page
    assert count(session) == 1


def test_ui_create_with_recording_and_range_playback(client, auth, session, people, tmp_path):
    wav = tone_wav(tmp_path / "r.wav", seconds=1.0).read_bytes()
    auth.login("qa")
    response = client.post_form("/interactions/new", {
        "agent": "agent.a", "channel": "voice", "direction": "inbound",
        "started_at": "2026-11-20 14:05", "duration_s": "4:10", "queue": "billing",
        "customer_ref": "CU-77", "recording": (io.BytesIO(wav), "call.wav"),
    }, page="/interactions/new", content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    item = session.scalar(select(Interaction).where(Interaction.customer_ref == "CU-77"))
    assert item.duration_s == 250 and item.source == "manual"
    assert item.external_id.startswith("M-")
    full = client.get(f"/interactions/{item.id}/recording")
    assert full.status_code == 200 and full.data == wav
    partial = client.get(f"/interactions/{item.id}/recording", headers={"Range": "bytes=0-99"})
    assert partial.status_code == 206 and partial.data == wav[:100]
    assert partial.headers["Content-Range"] == f"bytes 0-99/{len(wav)}"
    page = client.get(f"/interactions/{item.id}").get_data(as_text=True)
    assert "<audio" in page
    # Another team's lead hears nothing; HR has no recording access at all.
    auth.logout()
    auth.login("lead.b")
    assert client.get(f"/interactions/{item.id}/recording").status_code == 404
    auth.logout()
    auth.login("hr")
    assert client.get(f"/interactions/{item.id}/recording").status_code == 403


def test_not_audio_is_refused_and_nothing_is_written(client, auth, session, people):
    auth.login("qa")
    response = client.post_form("/interactions/new", {
        "agent": "agent.a", "channel": "voice", "direction": "inbound",
        "started_at": "2026-11-20 14:05", "customer_ref": "KEEP-ME",
        "recording": (io.BytesIO(b"MZ\x90\x00"), "virus.exe")},
        page="/interactions/new", content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Audio files only" in response.get_data(as_text=True)
    assert "KEEP-ME" in response.get_data(as_text=True)
    assert count(session) == 0


def test_bad_input_in_the_form_keeps_what_was_typed(client, auth, session, people):
    auth.login("qa")
    response = client.post_form("/interactions/new", {
        "agent": "agent.a", "channel": "voice", "direction": "inbound",
        "started_at": "next tuesday", "queue": "my-typed-queue"}, page="/interactions/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "is not an ISO 8601" in page and "my-typed-queue" in page
    assert count(session) == 0


def test_correcting_an_interaction_is_audited_and_stale_edits_refused(
        client, auth, session, people):
    item = factories.create_interaction(session, people["agent_a"], queue="billing")
    session.commit()
    auth.login("admin")
    form = {"version": str(item.version), "agent": "agent.b", "channel": "voice",
            "direction": "inbound", "started_at": "2026-11-02 09:30", "duration_s": "300",
            "queue": "refunds", "customer_ref": item.customer_ref or ""}
    edit_url = f"/interactions/{item.id}/edit"
    assert client.post_form(edit_url, form, page=edit_url).status_code == 302
    session.expire_all()
    item = session.get(Interaction, item.id)
    assert (item.agent_id, item.team_id, item.queue) == (
        people["agent_b"].id, people["team_b"].id, "refunds")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "interaction.updated")
                            ).one()
    changed = {f for f, _o, _n in entry.changes()}
    assert {"agent_id", "team_id", "queue"} <= changed
    stale = client.post_form(edit_url, {**form, "queue": "my late edit"}, page=edit_url)
    assert stale.status_code == 409
    assert "my late edit" in stale.get_data(as_text=True)


def test_search_and_filters(client, auth, session, people):
    factories.create_interaction(session, people["agent_a"], customer_ref="FIND-ME",
                                 channel="chat", started_at="2026-10-01T10:00:00Z")
    factories.create_interaction(session, people["agent_b"], external_id="EXT-42",
                                 queue="outages", started_at="2026-11-10T10:00:00Z")
    session.commit()
    auth.login("admin")

    def listed(query: str) -> str:
        return client.get(f"/interactions?{query}").get_data(as_text=True)

    assert "FIND-ME" in listed("q=FIND-ME") and "EXT-42" not in listed("q=FIND-ME")
    assert "EXT-42" in listed("q=EXT-42")
    assert "FIND-ME" in listed("channel=chat") and "EXT-42" not in listed("channel=chat")
    assert "EXT-42" in listed("queue=outages")
    assert "EXT-42" in listed(f"team_id={people['team_b'].id}")
    assert "FIND-ME" not in listed(f"agent_id={people['agent_b'].id}")
    ranged = listed("date_from=2026-11-01&date_to=2026-11-30")
    assert "EXT-42" in ranged and "FIND-ME" not in ranged
    assert "is not a date" in listed("date_from=31/12/2026")


def test_paging_walks_every_row_once(app, client, auth, session, people):
    app.extensions["qm"]["settings"].page_size = 4
    for _ in range(10):
        factories.create_interaction(session, people["agent_a"])
    session.commit()
    auth.login("admin")
    import re

    url, seen = "/interactions", []
    for _ in range(10):
        page = client.get(url).get_data(as_text=True)
        seen += re.findall(r'href="/interactions/(\d+)"', page)
        older = re.search(r'href="(/interactions\?[^"]*cursor=[^"]+)"[^>]*>Older', page)
        if not older:
            break
        url = older.group(1).replace("&amp;", "&")
    assert len(seen) == 10 and len(set(seen)) == 10


def test_the_pages_rows_are_the_apis_interactions(session, people):
    """``list_shown`` (the list page's rows, read without the ORM) gives what
    ``list_interactions`` (the API's objects) gives: the same interactions in the same order,
    page by page, for a lead's scope and a filter, with the agent's and team's names."""
    from scoring.interactions import queries

    for n in range(7):
        factories.create_interaction(session, people["agent_a2" if n % 2 else "agent_a"],
                                     duration_s=n * 61, customer_ref=f"R-{n}")
    factories.create_interaction(session, people["agent_b"])  # another team: not the lead's
    session.commit()
    for filters in (queries.InteractionFilters(),
                    queries.InteractionFilters(agent_id=people["agent_a"].id)):
        cursors: list[str | None] = [None]
        while True:
            objects = queries.list_interactions(session, people["lead_a"], filters,
                                                cursor=cursors[-1], limit=3)
            shown = queries.list_shown(session, people["lead_a"], filters,
                                       cursor=cursors[-1], limit=3)
            assert shown.next_cursor == objects.next_cursor
            assert [(r.id, r.started_at, r.agent_id, r.agent_name, r.team_id, r.team_name,
                     r.channel, r.queue, r.duration_label, r.customer_ref, r.external_id)
                    for r in shown.rows] == [
                (i.id, i.started_at, i.agent_id, i.agent.display_name, i.team_id,
                 i.team.name if i.team else None, i.channel, i.queue, i.duration_label,
                 i.customer_ref, i.external_id) for i in objects.rows]
            assert all(r.team_name == "Team A" for r in shown.rows)
            if shown.next_cursor is None:
                break
            cursors.append(shown.next_cursor)
        assert len(cursors) == (3 if filters.agent_id is None else 2)


@pytest.mark.parametrize("value,expected", [
    ("90", 90), ("1:30", 90), ("1:02:03", 3723), ("", 0), (12.6, 13)])
def test_durations(value, expected):
    assert interactions.parse_duration(value) == expected


@pytest.mark.parametrize("value", ["abc", "1:99", "-1", str(8 * 24 * 3600)])
def test_bad_durations(value):
    with pytest.raises(ValueError):
        interactions.parse_duration(value)
