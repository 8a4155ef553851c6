"""E-mails and chats read as what they are (issue 17): an e-mail's headers, sender and body;
a chat's messages by party; and an e-mail's words counted for its sender."""

from __future__ import annotations

import factories

from transcription import texts, written

EMAIL = ("From: Dana Smith\nSubject: Refund request\nDate: Mon, 2 Nov 2026 09:14\n\n"
         "Hello,\nI was charged twice this month.\n\nPlease refund one payment.\nDana")
CHAT = "Customer: My payment failed this morning.\nAgent: [10:02] I have resent the link."


def test_an_email_splits_into_headers_and_paragraphs():
    segments = [{"start": 0, "text": "Subject: Refund"}, {"start": 2, "text": "Hello,"},
                {"start": 3, "text": "I was charged twice."}, {"start": 5, "text": "Dana"}]
    mail = written.email(segments)
    assert mail.headers == [("Subject", "Refund")]
    assert mail.paragraphs == ["Hello,\nI was charged twice.", "Dana"]
    assert mail.words == 6 and mail.header("From") is None
    # No header block: it is all body; a "Subject:" further down is the body's.
    body = written.email([{"start": 0, "text": "Hi"}, {"start": 1, "text": "Subject: x"}])
    assert body.headers == [] and body.paragraphs == ["Hi\nSubject: x"]


def test_a_chat_reads_by_party_with_times_and_counts():
    messages = written.chat([{"speaker": "customer", "text": "Hi there"},
                             {"speaker": "agent", "text": "[10:02] Hello, how can I help?"},
                             {"speaker": "customer", "text": "09:15 - my card"}])
    assert [(m.label, m.time, m.text) for m in messages] == [
        ("Customer", None, "Hi there"), ("Agent", "10:02", "Hello, how can I help?"),
        ("Customer", "09:15", "my card")]
    assert written.summary(messages) == "3 messages: agent 1 (5 words), customer 2 (4 words)"
    assert written.summary(written.chat([{"speaker": "speaker", "text": "one"}])) == "1 message"
    assert written.summary([]) == "No messages"


def test_an_emails_words_count_for_its_sender(session, people):
    inbound = factories.create_interaction(session, people["agent_a"], channel="email",
                                           direction="inbound", body=EMAIL, duration_s=0)
    outbound = factories.create_interaction(session, people["agent_a"], channel="email",
                                            direction="outbound", body="Dear Dana,\nDone.")
    session.commit()
    got = texts.shown_transcript(session, inbound).metrics
    # Before: 7 "messages", agent 0 (0 words), customer 0 (0 words).
    assert (got["messages"], got["customer_messages"], got["agent_messages"]) == (1, 1, 0)
    assert got["customer_words"] == got["words"] > 0 and got["agent_words"] == 0
    out = texts.shown_transcript(session, outbound).metrics
    assert (out["agent_words"], out["customer_words"], out["messages"]) == (3, 0, 1)
    # The text shown elsewhere (lists, the API) gains no "Customer:" labels nobody typed.
    shown = texts.shown_body(session, inbound)
    assert shown.startswith("From: Dana Smith\nSubject: Refund request") and \
        "Customer:" not in shown
    # A chat keeps its parties, one message a line.
    chat = factories.create_interaction(session, people["agent_a"], channel="chat", body=CHAT)
    m = texts.shown_transcript(session, chat).metrics
    assert (m["messages"], m["agent_messages"], m["customer_messages"]) == (2, 1, 1)


def test_the_interaction_page_shows_an_email_and_a_chat(client, auth, session, people):
    mail = factories.create_interaction(session, people["agent_a"], channel="email",
                                        direction="inbound", body=EMAIL, duration_s=0)
    chat = factories.create_interaction(session, people["agent_a"], channel="chat", body=CHAT)
    bare = factories.create_interaction(session, people["agent_a"], channel="email",
                                        body="Router broken since the update.")
    session.commit()
    auth.login("qa")
    html = client.get(f"/interactions/{mail.id}").get_data(as_text=True)
    assert 'id="written-email"' in html and 'id="transcript"' not in html
    assert "<dt class=\"col-3\">Subject</dt><dd class=\"col-9\">Refund request</dd>" in html
    assert "<dt class=\"col-3\">From</dt><dd class=\"col-9\">Dana Smith</dd>" in html
    assert '<p class="body-text mb-2">Please refund one payment.\nDana</p>' in html
    assert "Speaker" not in html and "0 words" not in html
    assert "One e-mail, 12 words." in html
    html = client.get(f"/interactions/{bare.id}").get_data(as_text=True)
    # No headers in the data: the sender from the direction, the date from the record.
    assert f"the customer ({bare.customer_ref})" in html and ">Received</dt>" in html
    html = client.get(f"/interactions/{chat.id}").get_data(as_text=True)
    assert 'id="written-chat"' in html
    assert f"<strong>{people['agent_a'].display_name} (agent)</strong> " \
           '<span class="text-muted">10:02</span> I have resent the link.' in html
    assert "<strong>Customer</strong> My payment failed this morning." in html
    assert "2 messages: agent 1 (5 words), customer 1 (5 words)" in html


def test_each_line_keeps_its_segment_so_a_flags_words_can_be_marked():
    # a flag's marks name a segment's index and its words' indexes in ``text.split()``
    segments = [{"speaker": "customer", "text": "[10:02] I want to cancel"},
                {"speaker": "agent", "text": ""},
                {"speaker": "agent", "text": "Sorry to hear"}]
    first, second = written.chat(segments)
    assert (first.line.index, first.line.skip, first.line.text) == (0, 1, "I want to cancel")
    # the flag's word 4 ("cancel") is the shown line's word 3
    assert first.line.text.split()[4 - first.line.skip] == "cancel"
    assert (second.line.index, second.line.skip) == (2, 0)
    mail = written.email([{"start": 0, "text": "Subject: Cancel"}, {"start": 2, "text": "Hi,"},
                          {"start": 3, "text": "cancel it"}])
    assert [[(line.index, line.text) for line in b] for b in mail.blocks] == [
        [(1, "Hi,"), (2, "cancel it")]]
