"""Regressions for problems found in review: each test failed before its fix."""

from __future__ import annotations

import base64
import io
import threading

import factories
from sqlalchemy import select

from qm import audit
from qm.audit import AuditEntry
from qm.auth import services as auth_services
from qm.auth import tokens
from qm.db import make_session_factory
from qm.interactions import importing
from qm.interactions.models import Interaction


def test_a_username_of_digits_is_never_taken_for_an_id(session, people):
    digits = factories.create_user(session, "003", team=people["team_b"])
    session.commit()
    assert digits.id != 3
    data = "external_id,agent,channel,started_at\nD1,003,voice,2026-11-20T09:00:00Z\n"
    report = importing.import_csv(session, factories.SYSTEM, io.BytesIO(data.encode()))
    assert report.ok
    row = session.scalar(select(Interaction).where(Interaction.external_id == "D1"))
    assert row.agent_id == digits.id


def test_successful_logins_do_not_use_up_the_limit(client, auth, people):
    # A shift logging in from one office address is not an attack.
    for _ in range(6):
        for name in ("agent.a", "agent.b"):
            assert auth.login(name).status_code == 302
            auth.logout()


def test_editing_other_fields_keeps_an_ambiguous_local_start(client, auth, session, people):
    # 01:30 UTC on 2026-10-25 is 02:30 in Paris, an hour that happens twice that night.
    auth_services.update_user(session, factories.SYSTEM, people["admin"].id,
                              timezone="Europe/Paris")
    item = factories.create_interaction(session, people["agent_a"],
                                        started_at="2026-10-25T01:30:00.250000Z")
    session.commit()
    auth.login("admin")
    url = f"/interactions/{item.id}/edit"
    page = client.get(url).get_data(as_text=True)
    shown = page.split('name="started_at"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    assert shown == "2026-10-25 02:30:00"
    response = client.post_form(url, {
        "version": str(item.version), "agent": "agent.a", "channel": "voice",
        "direction": "inbound", "started_at": shown, "duration_s": "300",
        "queue": "retention", "customer_ref": item.customer_ref}, page=url)
    assert response.status_code == 302
    session.expire_all()
    kept = session.get(Interaction, item.id)
    assert kept.queue == "retention"
    assert kept.started_at.isoformat() == "2026-10-25T01:30:00.250000+00:00"


def test_an_inactive_agents_interaction_can_still_be_corrected(client, auth, session, people):
    item = factories.create_interaction(session, people["agent_a"])
    auth_services.update_user(session, factories.SYSTEM, people["agent_a"].id, active=False)
    session.commit()
    auth.login("admin")
    url = f"/interactions/{item.id}/edit"
    assert "(inactive)" in client.get(url).get_data(as_text=True)
    response = client.post_form(url, {
        "version": str(item.version), "agent": "agent.a", "channel": "voice",
        "direction": "inbound", "started_at": "2026-11-02 09:00:00", "duration_s": "300",
        "queue": "complaints", "customer_ref": item.customer_ref}, page=url)
    assert response.status_code == 302, response.get_data(as_text=True)


def test_no_typed_secret_or_customer_text_enters_the_log(client, session, people):
    # A password typed into the username field.
    client.post_form("/login", {"username": "hunter2-password", "password": "x" * 12})
    item = factories.create_interaction(session, people["agent_a"],
                                        body="My card is 4111 1111 1111 1111")
    session.commit()
    for entry in session.scalars(select(AuditEntry)):
        text = f"{entry.entity_id} {entry.before} {entry.after}"
        # The whole typed values: a bare "4111" once matched a timestamp's microseconds.
        assert "hunter2-password" not in text and "4111 1111 1111 1111" not in text
    created = audit.history(session, "interactions", item.id)[0]
    assert created.after["body"]["chars"] == len(item.body)


def test_concurrent_writers_keep_one_chain(app, people):
    """Failed logins from many threads at once: every one recorded, no fork, no error."""
    factory = make_session_factory(app.extensions["qm"]["engine"])
    errors: list[BaseException] = []

    def worker() -> None:
        for _ in range(15):
            s = factory()
            try:
                auth_services.authenticate(s, "agent.a", "wrong-password!")
                s.commit()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                s.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    s = factory()
    try:
        failed = s.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login_failed"))
        assert len(failed.all()) == 120
        assert audit.verify(s).ok
    finally:
        s.close()


def test_an_unclosed_quote_is_reported_not_swallowed(runner, session, people, tmp_path):
    path = tmp_path / "broken.csv"
    rows = ["external_id,agent,channel,started_at,body",
            'Q1,agent.a,chat,2026-11-20T09:00:00Z,"starts a quote and never ends it']
    rows += [f"Q{i},agent.a,chat,2026-11-20T09:00:00Z,ok" for i in range(2, 6)]
    path.write_text("\n".join(rows) + "\n")
    result = runner.invoke("interactions", "import", str(path))
    assert result.exit_code == 1
    assert "broken.csv:2" in result.output and "were not imported" in result.output


def test_a_long_email_body_is_a_legal_cell(session, people):
    body = "x" * (200 * 1024)
    data = ("external_id,agent,channel,started_at,body\n"
            f"L1,agent.a,email,2026-11-20T09:00:00Z,{body}\n")
    report = importing.import_csv(session, factories.SYSTEM, io.BytesIO(data.encode()))
    assert report.ok and report.created == 1


def test_crafted_list_arguments_do_not_break_the_page(client, auth, session, people):
    factories.create_interaction(session, people["agent_a"])
    session.commit()
    auth.login("admin")
    naive = base64.urlsafe_b64encode(b"2026-11-01T00:00:00|5").decode().rstrip("=")
    assert client.get(f"/interactions?cursor={naive}").status_code == 200
    assert client.get("/interactions?cursor=x&_method=PATCH&_anchor=a").status_code == 200
    # A filter that is not a number is refused in words, never dropped silently.
    response = client.get("/audit?_external=1&before=x")
    assert response.status_code == 400
    assert "must be a whole number" in response.get_data(as_text=True)


def test_api_answers_404_for_a_recording_missing_from_the_store(client, session, people):
    item = factories.create_interaction(session, people["agent_a"])
    item.recording_path = "ab/cd/gone.wav"
    _token, plaintext = tokens.create_token(session, factories.SYSTEM,
                                                   people["admin"].id, name="t")
    session.commit()
    response = client.get(f"/api/v1/interactions/{item.id}/recording",
                          headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 404 and "missing" in response.get_json()["message"]
