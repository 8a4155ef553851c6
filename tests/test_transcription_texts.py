"""Chats and e-mails through the same redaction as calls: messages by speaker, the agent's
question licensing the customer's answer, counts; the screens show the redacted text."""

from __future__ import annotations

import factories
from sqlalchemy import select

from qm.audit import AuditEntry
from transcription import texts
from transcription.models import Transcript

CHAT = ("Agent: Hello, can you confirm your date of birth?\n"
        "Customer: It is 12/03/1985.\n"
        "Customer: And my email is jane.doe@example.com\n"
        "continued on a second line\n"
        "Agent: Thanks, I have sent the refund.")


def test_segments_by_speaker_and_counts():
    segments = texts.segments_of(CHAT)
    assert [s.speaker for s in segments] == ["agent", "customer", "customer", "customer",
                                             "agent"]
    assert texts.counts(segments)["agent_messages"] == 2
    mail = texts.segments_of("Hello,\n\nmy router is broken.\nRegards")
    assert {s.speaker for s in mail} == {"speaker"}


def test_redact_texts_stores_redacted_transcripts_once(runner, client, auth, session, people):
    chat = factories.create_interaction(session, people["agent_a"], channel="chat", body=CHAT)
    factories.create_interaction(session, people["agent_a"], channel="voice")  # not text
    session.commit()
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
    chat = factories.create_interaction(session, people["agent_a"], channel="chat", body=CHAT)
    session.commit()
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
