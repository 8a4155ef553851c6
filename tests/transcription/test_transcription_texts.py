"""Chats and e-mails through the same redaction as calls: messages by speaker, the agent's
question licensing the customer's answer, counts; the screens show the redacted text."""

from __future__ import annotations

import datetime as dt

import factories
import pytest
from sqlalchemy import func, select

from qm import audit
from qm.app import create_app
from qm.audit import AuditEntry
from qm.auth import queries as auth_queries
from qm.auth import tokens
from qm.auth.models import User
from qm.db import settings_of
from qm.errors import InvalidInput
from qm.interactions import services as interactions
from qm.interactions.models import Interaction
from transcription import texts
from transcription.models import Transcript
from transcription.store import store_transcript

CHAT = ("Agent: Hello, can you confirm your date of birth?\n"
        "Customer: It is 12/03/1985.\n"
        "Customer: And my email is jane.doe@example.com\n"
        "continued on a second line\n"
        "Agent: Thanks, I have sent the refund.")
CARD_CHAT = "Customer: my card is 4111 1111 1111 1111\nAgent: Thank you, that is noted."


def transcript_of(session, interaction_id):
    session.expire_all()
    return session.scalar(select(Transcript).where(Transcript.interaction_id == interaction_id))


def transcript_entries(session, action=None):
    """Audit entries about transcripts, oldest first (optionally of one action)."""
    stmt = select(AuditEntry).where(AuditEntry.action.like("transcript.%"))
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list(session.scalars(stmt.order_by(AuditEntry.seq)))


def legacy_chat(session, agent, body=CHAT):
    """A chat as it was stored before texts were redacted on the way in: no transcript."""
    item = Interaction(source="legacy", external_id=f"L-{agent.id}-{len(body)}",
                       agent_id=agent.id, team_id=agent.team_id, channel="chat",
                       direction="inbound", started_at=dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC),
                       duration_s=0, queue="billing", body=body)
    session.add(item)
    session.commit()
    return item


def test_segments_by_speaker_and_counts():
    segments = texts.segments_of(CHAT)
    assert [s.speaker for s in segments] == ["agent", "customer", "customer", "customer",
                                             "agent"]
    assert texts.counts(segments)["agent_messages"] == 2
    mail = texts.segments_of("Hello,\n\nmy router is broken.\nRegards")
    assert {s.speaker for s in mail} == {"speaker"}


def test_redact_texts_backfills_older_chats_once(runner, client, auth, session, people):
    chat = legacy_chat(session, people["agent_a"])
    factories.create_interaction(session, people["agent_a"], channel="voice")  # not text
    session.commit()
    assert texts.pending(session) == [chat.id]
    result = runner.invoke("redact-texts")
    assert result.exit_code == 0, result.output
    assert "1 text interaction(s) redacted and stored (2 redaction(s))" in result.output
    stored = session.scalar(select(Transcript).where(Transcript.interaction_id == chat.id))
    assert stored.source == "text" and stored.redactions == {"DOB": 1, "EMAIL": 1}
    assert "1985" not in stored.text and "jane.doe" not in stored.text
    assert stored.raw_text is None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "transcript.stored"))
    assert "jane" not in str(entry.after)
    assert "0 text interaction(s)" in runner.invoke("redact-texts").output  # done once
    auth.login("agent.a")
    page = client.get(f"/interactions/{chat.id}").get_data(as_text=True)
    assert "[DOB]" in page and "1985" not in page and 'id="text-counts"' in page


def test_the_raw_text_is_kept_only_when_asked_and_shown_only_to_admins(runner, client, auth,
                                                                       session, people):
    chat = legacy_chat(session, people["agent_a"])
    assert runner.invoke("redact-texts", "--keep-raw").exit_code == 0
    stored = session.scalar(select(Transcript).where(Transcript.interaction_id == chat.id))
    assert stored.raw_text == CHAT
    auth.login("admin")
    page = client.get(f"/interactions/{chat.id}").get_data(as_text=True)
    assert 'id="raw-transcript"' in page and "jane.doe@example.com" in page
    auth.logout()
    auth.login("qa")
    page = client.get(f"/interactions/{chat.id}").get_data(as_text=True)
    assert 'id="raw-transcript"' not in page and "jane.doe@example.com" not in page


# --- texts are redacted on the way in: created, corrected, imported --------------------------

def test_creating_a_chat_stores_its_redacted_transcript_in_the_same_transaction(
        runner, session, people):
    chat = factories.create_interaction(session, people["agent_a"], channel="chat", body=CHAT)
    stored = session.scalar(select(Transcript).where(Transcript.interaction_id == chat.id))
    assert stored is not None, "stored before the caller commits, in its transaction"
    assert stored.source == "text" and stored.redactions == {"DOB": 1, "EMAIL": 1}
    assert "[DOB]" in stored.text and "1985" not in stored.text
    assert stored.metrics["agent_messages"] == 2 and stored.raw_text is None
    [entry] = transcript_entries(session)
    assert entry.action == "transcript.stored" and entry.actor_name == "transcription"
    assert entry.after["redactions"] == {"DOB": 1, "EMAIL": 1}
    assert "jane" not in str(entry.after)
    session.rollback()  # one transaction: the interaction and its transcript go together
    assert session.scalar(select(func.count(Transcript.id))) == 0
    assert session.scalar(select(func.count(Interaction.id))) == 0

    chat = factories.create_interaction(session, people["agent_a"], channel="chat", body=CHAT)
    session.commit()
    assert texts.pending(session) == []
    assert "0 text interaction(s)" in runner.invoke("redact-texts").output  # nothing twice
    assert [e.action for e in transcript_entries(session)] == ["transcript.stored"]
    assert audit.verify(session).ok


def test_the_site_flag_keeps_the_raw_text_of_new_chats(session, people, monkeypatch):
    monkeypatch.setenv("QM_KEEP_RAW_TRANSCRIPTS", "yes")
    assert settings_of(session).keep_raw_transcripts is True
    kept = factories.create_interaction(session, people["agent_a"], channel="email", body=CHAT)
    assert transcript_of(session, kept.id).raw_text == CHAT
    monkeypatch.setenv("QM_KEEP_RAW_TRANSCRIPTS", "0")
    assert settings_of(session).keep_raw_transcripts is False
    dropped = factories.create_interaction(session, people["agent_a"], channel="chat", body=CHAT)
    assert transcript_of(session, dropped.id).raw_text is None


def test_the_apps_settings_reach_what_happens_when_a_chat_is_saved(app_config, people,
                                                                   monkeypatch):
    """A setting given to create_app, not the environment, decides: the app's sessions carry
    the app's settings down to the receiver that redacts the chat."""
    monkeypatch.setenv("QM_KEEP_RAW_TRANSCRIPTS", "0")
    app = create_app({**app_config, "keep_raw_transcripts": True})
    try:
        session = app.extensions["qm"]["session_factory"]()
        assert settings_of(session).keep_raw_transcripts is True
        agent = session.get(User, people["agent_a"].id)
        kept = factories.create_interaction(session, agent, channel="chat", body=CHAT)
        assert transcript_of(session, kept.id).raw_text == CHAT
        session.rollback()
        session.close()
    finally:
        app.extensions["qm"]["engine"].dispose()


def test_a_voice_interaction_gets_no_text_transcript(session, people):
    call = factories.create_interaction(session, people["agent_a"], channel="voice",
                                        body="Customer: my card is 4111 1111 1111 1111")
    empty_chat = factories.create_interaction(session, people["agent_a"], channel="chat")
    session.commit()
    assert transcript_of(session, call.id) is None
    assert transcript_of(session, empty_chat.id) is None
    assert transcript_entries(session) == []


def test_creating_a_chat_through_the_api_stores_its_transcript(client, session, people):
    user = auth_queries.find_user(session, "qa")
    _token, plaintext = tokens.create_token(session, factories.SYSTEM, user.id,
                                                   name="test")
    session.commit()
    response = client.post("/api/v1/interactions", headers={"Authorization": f"Bearer {plaintext}"},
                           json={"agent": "agent.a", "channel": "chat",
                                 "started_at": "2026-11-20T09:00:00Z", "body": CARD_CHAT})
    assert response.status_code == 201, response.get_json()
    stored = transcript_of(session, response.get_json()["id"])
    assert stored.source == "text" and stored.redactions == {"CARD": 1}
    assert "[CARD]" in stored.text and "4111" not in stored.text
    assert [e.action for e in transcript_entries(session)] == ["transcript.stored"]


def test_correcting_the_body_replaces_the_transcript_and_nothing_else_does(session, people):
    chat = factories.create_interaction(session, people["agent_a"], channel="chat", body=CHAT)
    session.commit()
    first = transcript_of(session, chat.id)

    def correct(**data):
        item = session.get(Interaction, chat.id)
        interactions.update_interaction(session, factories.SYSTEM, chat.id, data,
                                            expected_version=item.version)
        session.commit()

    correct(queue="refunds")  # not the text: no new transcript, no entry
    correct(channel="email")  # another text channel, the same words: nothing to replace
    assert [e.action for e in transcript_entries(session)] == ["transcript.stored"]
    correct(body=CARD_CHAT)
    stored = transcript_of(session, chat.id)
    assert stored.id == first.id and stored.redactions == {"CARD": 1}
    assert "[CARD]" in stored.text and "1985" not in stored.text and "[DOB]" not in stored.text
    replaced = transcript_entries(session, "transcript.replaced")
    assert len(replaced) == 1
    assert replaced[0].before["redactions"] == {"DOB": 1, "EMAIL": 1}
    assert replaced[0].after["redactions"] == {"CARD": 1}
    correct(body=CARD_CHAT + "\n")  # the same text once cleaned: no second replacement
    assert len(transcript_entries(session, "transcript.replaced")) == 1
    assert audit.verify(session).ok


def test_clearing_the_body_or_making_it_a_call_deletes_the_text_transcript(session, people):
    def correct(item_id, **data):
        item = session.get(Interaction, item_id)
        interactions.update_interaction(session, factories.SYSTEM, item_id, data,
                                            expected_version=item.version)
        session.commit()

    cleared = factories.create_interaction(session, people["agent_a"], channel="chat", body=CHAT)
    to_voice = factories.create_interaction(session, people["agent_a"], channel="chat",
                                            body=CARD_CHAT)
    session.commit()
    stored_id = transcript_of(session, cleared.id).id
    correct(cleared.id, body="")
    assert transcript_of(session, cleared.id) is None
    [deleted] = transcript_entries(session, "transcript.deleted")
    assert (deleted.entity_type, deleted.entity_id) == ("transcripts", str(stored_id))
    assert deleted.before["redactions"] == {"DOB": 1, "EMAIL": 1} and deleted.after is None
    correct(to_voice.id, channel="voice")
    assert transcript_of(session, to_voice.id) is None
    assert len(transcript_entries(session, "transcript.deleted")) == 2
    correct(cleared.id, body=CARD_CHAT)  # a body again: a transcript again
    assert transcript_of(session, cleared.id).redactions == {"CARD": 1}
    correct(to_voice.id, channel="chat")  # a text again, with its body kept
    assert transcript_of(session, to_voice.id).redactions == {"CARD": 1}
    assert audit.verify(session).ok


def test_a_calls_transcript_from_audio_is_never_touched_by_its_body(session, people):
    call = factories.create_interaction(session, people["agent_a"], channel="voice")
    store_transcript(session, call.id, {"source": "audio", "text": "hello from the recording",
                                        "segments": [], "redactions": {}})
    session.commit()
    item = session.get(Interaction, call.id)
    interactions.update_interaction(session, factories.SYSTEM, call.id,
                                        {"body": CARD_CHAT}, expected_version=item.version)
    item = session.get(Interaction, call.id)
    interactions.update_interaction(session, factories.SYSTEM, call.id,
                                        {"channel": "chat"}, expected_version=item.version)
    session.commit()
    stored = transcript_of(session, call.id)
    assert stored.source == "audio" and stored.text == "hello from the recording"
    assert [e.action for e in transcript_entries(session)] == ["transcript.stored"]


def test_a_rejected_correction_leaves_the_transcript_as_it_was(session, people):
    chat = factories.create_interaction(session, people["agent_a"], channel="chat", body=CHAT)
    session.commit()
    with pytest.raises(InvalidInput):
        interactions.update_interaction(session, factories.SYSTEM, chat.id,
                                            {"body": CARD_CHAT, "started_at": "someday"},
                                            expected_version=chat.version)
    session.rollback()
    assert transcript_of(session, chat.id).redactions == {"DOB": 1, "EMAIL": 1}
    assert [e.action for e in transcript_entries(session)] == ["transcript.stored"]


IMPORT = ("external_id,agent,channel,started_at,body\n"
          f'CH-1,agent.a,chat,2026-11-20T09:00:00Z,"{CARD_CHAT}"\n'
          'CH-2,agent.a,chat,not a date,"Customer: my card is 5555 5555 5555 4444"\n'
          'CH-3,agent.a,voice,2026-11-20T09:05:00Z,"Customer: 4111 1111 1111 1111"\n'
          "CH-4,agent.a,email,2026-11-20T09:10:00Z,\n")


def test_importing_a_csv_redacts_each_text_row(runner, session, people, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(IMPORT, encoding="utf-8")
    result = runner.invoke("interactions", "import", str(path), "--source", "crm",
                           "--as", "admin")
    assert result.exit_code == 1  # one bad row
    assert "4 rows: 3 imported, 0 already imported, 1 failed." in result.output
    ids = dict(session.execute(select(Interaction.external_id, Interaction.id)).all())
    assert set(ids) == {"CH-1", "CH-3", "CH-4"}  # the malformed row wrote nothing
    [stored] = session.scalars(select(Transcript)).all()
    assert stored.interaction_id == ids["CH-1"] and stored.source == "text"
    assert "[CARD]" in stored.text and "4111" not in stored.text
    assert stored.redactions == {"CARD": 1} and stored.metrics["customer_messages"] == 1
    [entry] = transcript_entries(session)
    assert (entry.action, entry.entity_id) == ("transcript.stored", str(stored.id))
    assert entry.after["redactions"] == {"CARD": 1} and "4111" not in str(entry.after)
    assert not any("5555" in (t or "") for t in session.scalars(select(Transcript.text)))
    again = runner.invoke("interactions", "import", str(path), "--source", "crm",
                          "--as", "admin")
    assert "3 already imported" in again.output
    assert len(transcript_entries(session)) == 1  # a re-import stores nothing twice
    assert audit.verify(session).ok


def test_importing_through_the_api_redacts_each_text_row(client, session, people):
    user = auth_queries.find_user(session, "admin")
    _token, plaintext = tokens.create_token(session, factories.SYSTEM, user.id,
                                                   name="test")
    session.commit()
    response = client.post("/api/v1/interactions/import?source=api", data=IMPORT.encode(),
                           headers={"Authorization": f"Bearer {plaintext}",
                                    "Content-Type": "text/csv"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["created"], body["failed"]) == (3, 1)
    assert body["errors"][0]["external_id"] == "CH-2"
    stored = session.scalars(select(Transcript)).all()
    assert [t.redactions for t in stored] == [{"CARD": 1}]
    assert stored[0].interaction.external_id == "CH-1"


def test_correcting_a_chat_in_the_browser_redoes_its_transcript_once(client, auth, session,
                                                                      people):
    chat = factories.create_interaction(session, people["agent_a"], channel="chat", body=CHAT)
    session.commit()
    auth.login("admin")
    edit_url = f"/interactions/{chat.id}/edit"

    def post(body):
        version = session.get(Interaction, chat.id).version
        form = {"version": str(version), "agent": "agent.a", "channel": "chat",
                "direction": "inbound", "started_at": "2026-11-02 09:30", "duration_s": "0",
                "queue": "billing", "customer_ref": chat.customer_ref or "", "body": body}
        response = client.post_form(edit_url, form, page=edit_url)
        assert response.status_code == 302, response.get_data(as_text=True)
        session.expire_all()

    post(CARD_CHAT.replace("\n", "\r\n"))  # a textarea sends CRLF
    assert len(transcript_entries(session, "transcript.replaced")) == 1
    post(CARD_CHAT.replace("\n", "\r\n"))  # sent again unchanged: nothing to redo
    assert len(transcript_entries(session, "transcript.replaced")) == 1
    page = client.get(f"/interactions/{chat.id}").get_data(as_text=True)
    assert "[CARD]" in page and "4111" not in page


def test_a_chat_never_shows_its_typed_text_even_before_it_is_backfilled(client, auth, session,
                                                                        people):
    """A chat stored before texts were redacted on the way in has no transcript yet: the
    interaction, evaluation and calibration pages redact it on the fly, and store nothing."""
    from scoring.calibration import services as cal
    from scoring.evaluations import services as ev

    factories.create_form(session)
    chat = legacy_chat(session, people["agent_a"], body=CARD_CHAT)
    evaluation = ev.start_evaluation(session, people["qa"], chat)
    calibration = cal.create_session(
        session, people["lead_a"], title="chats", form_id=None, interaction_ids=[chat.id],
        participant_ids=[people["qa"].id, people["lead_a"].id], team_id=people["team_a"].id)
    session.commit()
    auth.login("qa")
    pages = {"evaluation": f"/evaluations/{evaluation.id}",
             "calibration": f"/calibration/items/{calibration.items[0].id}"}
    for name, url in pages.items():
        page = client.get(url).get_data(as_text=True)
        assert "[CARD]" in page and "4111" not in page, name
        assert 'id="written-chat"' in page, name  # shown as the chat it is
    auth.logout()
    auth.login("agent.a")
    page = client.get(f"/interactions/{chat.id}").get_data(as_text=True)
    assert "[CARD]" in page and "4111" not in page
    assert transcript_of(session, chat.id) is None  # shown, not stored
    assert texts.pending(session) == [chat.id]


def test_the_qm_command_alone_redacts_imported_chats(runner, session, people, tmp_path):
    """In a process of its own, as an operator runs it: nothing but `qm` has loaded the
    domains, so the receiver that redacts a chat must be connected by the command itself."""
    import os
    import subprocess
    import sys

    path = tmp_path / "contacts.csv"
    path.write_text(IMPORT, encoding="utf-8")
    qm = os.path.join(os.path.dirname(sys.executable), "qm")
    result = subprocess.run([qm, "interactions", "import", str(path), "--source", "crm"],
                            env={**os.environ, **runner.env}, capture_output=True, text=True,
                            timeout=120)
    assert "3 imported" in result.stdout, result.stdout + result.stderr
    [stored] = session.scalars(select(Transcript)).all()
    assert stored.source == "text" and "[CARD]" in stored.text and "4111" not in stored.text
