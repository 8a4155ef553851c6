"""Notifications: who is told of what (once, never the actor, nothing for a rolled-back change),
the bell and the page (read marks, scope, CSRF, paging, the e-mail choice), and e-mail through a
real SMTP server (aiosmtpd): a notice at once, a day's digest, a refused address retried while
the others go on, a server that is down, and the command."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket
from typing import Any

import factories
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from competencies.coaching import services as coaching
from qm.audit import AuditEntry
from qm.auth.models import User
from qm.config import Settings
from qm.db import make_session_factory
from qm.notifications import mail, queries, services
from qm.notifications.models import Notification, NotificationSettings
from scoring.evaluations import disputes
from scoring.evaluations import services as ev

SITE = "https://qm.example.com"


def notices(session, user=None, kind=None):
    stmt = select(Notification).order_by(Notification.id)
    if user is not None:
        stmt = stmt.where(Notification.user_id == user.id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    session.expire_all()
    return list(session.scalars(stmt))


def released_evaluation(session, evaluator, agent, **submit):
    interaction = factories.create_interaction(session, agent)
    evaluation = ev.start_evaluation(session, evaluator, interaction)
    return ev.submit(session, evaluator, evaluation.id, {"greet": "yes", "verify": "yes"},
                     **submit)


@pytest.fixture
def form(session):
    factories.create_form(session)
    session.commit()


# --- who is told -----------------------------------------------------------------------------

def test_a_release_at_submission_tells_the_agent_once(session, people, form):
    evaluation = released_evaluation(session, people["qa"], people["agent_a"])
    session.commit()
    told = notices(session)
    assert [(n.user_id, n.kind, n.link) for n in told] == [
        (people["agent_a"].id, "evaluation.released", f"/evaluations/{evaluation.id}")]
    assert f"#{evaluation.id}" in told[0].text and told[0].read_at is None


def test_a_leads_release_tells_the_agent_and_not_the_lead(session, people, form):
    evaluation = released_evaluation(session, people["qa"], people["agent_a"],
                                     policy=ev.Policy(release="review"))
    assert notices(session) == []  # submitted, waiting for review: the agent sees nothing yet
    ev.release(session, people["lead_a"], evaluation.id)
    session.commit()
    told = notices(session)
    assert [(n.user_id, n.kind) for n in told] == [(people["agent_a"].id, "evaluation.released")]


def test_a_dispute_tells_the_lead_and_its_decision_tells_the_agent(session, people, form):
    interaction = factories.create_interaction(session, people["agent_a"])
    dispute = factories.create_dispute(session, people["qa"], interaction)
    raised = notices(session, kind="dispute.raised")
    assert [(n.user_id, n.link) for n in raised] == [(people["lead_a"].id,
                                                      f"/disputes/{dispute.id}")]
    disputes.decide(session, people["lead_a"], dispute.id, "upheld", "The greeting was fine.")
    session.commit()
    decided = notices(session, kind="dispute.decided")
    assert [(n.user_id, n.link) for n in decided] == [
        (people["agent_a"].id, f"/evaluations/{dispute.evaluation_id}")]
    assert "upheld" in decided[0].text
    # nobody is told of their own act: the agent of the dispute, the lead of the decision
    assert notices(session, people["lead_a"], "dispute.decided") == []
    assert notices(session, people["agent_a"], "dispute.raised") == []


def test_a_planned_coaching_session_tells_the_agent(session, people):
    item = coaching.open_session(session, people["lead_a"], people["agent_a"].id, {
        "kind": "one_to_one", "planned_on": dt.date(2026, 12, 10)})
    session.commit()
    told = notices(session)
    assert [(n.user_id, n.kind, n.link) for n in told] == [
        (people["agent_a"].id, "coaching.planned", f"/coaching/{item.id}")]
    assert "2026-12-10" in told[0].text


def test_nobody_is_told_of_their_own_act_nor_twice(session, people):
    lead, agent = people["lead_a"], people["agent_a"]
    assert services.notify(session, lead, [lead, lead.id], "test", "Hello", "/") == []
    made = services.notify(session, lead, [agent, agent.id, lead, None], "test", "Hello", "/")
    assert [n.user_id for n in made] == [agent.id]


def test_a_rolled_back_change_tells_nobody(session, people, form):
    released_evaluation(session, people["qa"], people["agent_a"])
    assert len(notices(session)) == 1
    session.rollback()
    assert notices(session) == []


def test_a_notice_links_only_inside_the_site(session, people):
    for link in ("https://evil.example", "//evil.example", "/\\evil.example", "evaluations/1"):
        with pytest.raises(ValueError, match="path inside the site"):
            services.notify(session, None, [people["agent_a"]], "test", "Hi", link)


# --- the bell and the page -------------------------------------------------------------------

def _bell(client) -> int | None:
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'id="bell-count">(\d+)<span class="visually-hidden"> unread '
                      r'notifications</span>', page)
    return int(match.group(1)) if match else None


def test_the_bell_counts_unread_and_opening_one_marks_it_read(client, auth, session, people,
                                                             form):
    first = released_evaluation(session, people["qa"], people["agent_a"])
    released_evaluation(session, people["qa"], people["agent_a"])
    session.commit()
    auth.login("agent.a")
    assert _bell(client) == 2
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count(">new</span>") == 2
    notice = notices(session, people["agent_a"])[0]
    response = client.post_form("/notifications/open", {"notification_id": notice.id},
                                page="/notifications")
    assert response.status_code == 302 and response.location == f"/evaluations/{first.id}"
    assert notices(session, people["agent_a"])[0].read_at is not None
    assert _bell(client) == 1
    response = client.post_form("/notifications/read", page="/notifications")
    assert response.status_code == 302
    assert "1 notification(s) marked read" in client.get("/notifications").get_data(as_text=True)
    assert _bell(client) is None
    assert all(n.read_at is not None for n in notices(session, people["agent_a"]))


def test_nobody_opens_anothers_notification(client, auth, session, people, form):
    released_evaluation(session, people["qa"], people["agent_a"])
    session.commit()
    notice = notices(session, people["agent_a"])[0]
    auth.login("agent.a2")
    response = client.post_form("/notifications/open", {"notification_id": notice.id},
                                page="/notifications")
    assert response.status_code == 404
    assert "Evaluation #" not in client.get("/notifications").get_data(as_text=True)
    client.post_form("/notifications/read", page="/notifications")
    assert notices(session, people["agent_a"])[0].read_at is None  # agent.a's stays unread


def test_the_pages_posts_need_the_csrf_token(client, auth, session, people, form):
    released_evaluation(session, people["qa"], people["agent_a"])
    session.commit()
    notice = notices(session, people["agent_a"])[0]
    auth.login("agent.a")
    assert client.post("/notifications/read", data={}).status_code == 400
    assert client.post("/notifications/open",
                       data={"notification_id": notice.id}).status_code == 400
    assert client.post("/notifications/settings", data={"email": "none"}).status_code == 400
    assert notices(session, people["agent_a"])[0].read_at is None
    assert session.get(NotificationSettings, people["agent_a"].id) is None


@pytest.fixture
def small_pages(app_config):
    return {**app_config, "page_size": 3}


@pytest.fixture
def paged_app(small_pages):
    from qm.app import create_app

    application = create_app(small_pages)
    yield application
    application.extensions["qm"]["engine"].dispose()


def test_the_page_is_newest_first_and_paged(paged_app, session, people):
    from conftest import Client

    for n in range(5):
        services.notify(session, None, [people["agent_a"]], "test", f"Notice number {n}", "/")
    session.commit()
    paged_app.test_client_class = Client
    client = paged_app.test_client()
    client.post_form("/login", {"username": "agent.a", "password": factories.PASSWORD})
    first = client.get("/notifications").get_data(as_text=True)
    assert re.findall(r"Notice number (\d)", first) == ["4", "3", "2"]
    older = re.search(r'href="(/notifications\?before=\d+)"', first).group(1)
    second = client.get(older).get_data(as_text=True)
    assert re.findall(r"Notice number (\d)", second) == ["1", "0"]
    assert "?before=" not in second and ">Newest<" in second


def test_the_email_choice_is_saved_audited_and_checked(client, auth, session, people):
    auth.login("agent.a")
    response = client.post_form("/notifications/settings", {"email": "sometimes"})
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert session.get(NotificationSettings, people["agent_a"].id) is None
    response = client.post_form("/notifications/settings", {"email": "digest"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(NotificationSettings, people["agent_a"].id).email == "digest"
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "notification_settings.created")).one()
    assert entry.actor_id == people["agent_a"].id and entry.after["email"] == "digest"
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="digest"|value="digest"[^>]*checked', page)


def test_the_unread_count_is_one_query_on_the_users_rows(session, people):
    services.notify(session, None, [people["agent_a"], people["agent_b"]], "t", "x", "/")
    services.notify(session, None, [people["agent_a"]], "t", "y", "/")
    assert queries.unread_count(session, people["agent_a"].id) == 2
    services.mark_all_read(session, people["agent_a"])
    assert queries.unread_count(session, people["agent_a"].id) == 0
    assert queries.unread_count(session, people["agent_b"].id) == 1


# --- the API ----------------------------------------------------------------------------------

def _token(session, user) -> dict[str, str]:
    from qm.auth import tokens

    _token_row, plaintext = tokens.create_token(session, factories.SYSTEM, user.id, name="t")
    session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def test_the_api_lists_and_marks_the_callers_own(client, session, people):
    mine = [services.notify(session, None, [people["agent_a"]], "t", f"N{n}", "/")[0]
            for n in range(3)]
    theirs = services.notify(session, None, [people["agent_b"]], "t", "Theirs", "/")[0]
    headers = _token(session, people["agent_a"])
    body = client.get("/api/v1/notifications?limit=2", headers=headers).get_json()
    assert body["unread"] == 3 and [i["text"] for i in body["items"]] == ["N2", "N1"]
    older = client.get(f"/api/v1/notifications?before={body['next_before']}",
                       headers=headers).get_json()
    assert [i["text"] for i in older["items"]] == ["N0"] and older["next_before"] is None
    response = client.post("/api/v1/notifications/read", headers=headers,
                           json={"ids": [mine[0].id, theirs.id]})
    assert response.status_code == 404  # not the caller's: nothing marked
    assert queries.unread_count(session, people["agent_a"].id) == 3
    response = client.post("/api/v1/notifications/read", headers=headers,
                           json={"ids": [mine[0].id, mine[0].id]})
    assert response.get_json() == {"marked": 1, "unread": 2}
    response = client.post("/api/v1/notifications/read", headers=headers, json={})
    assert response.get_json() == {"marked": 2, "unread": 0}
    assert queries.unread_count(session, people["agent_b"].id) == 1


# --- e-mail through a real SMTP server --------------------------------------------------------

class Inbox:
    """An aiosmtpd handler: keeps what it accepts, refuses the addresses in ``refuse``."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield inbox
    controller.stop()


@pytest.fixture
def site(smtp, app_config) -> Settings:
    return Settings(database_url=app_config["database_url"], data_dir=app_config["data_dir"],
                    secret_key="test-secret-key", smtp_url=smtp.url,
                    mail_from="qm@example.com", site_url=SITE)


@pytest.fixture
def mailing(app, site, people):
    """A session of a site with e-mail (so new notices are queued), and addresses for all."""
    s = make_session_factory(app.extensions["qm"]["engine"], site)()
    for key in ("agent_a", "agent_a2", "agent_b", "lead_a"):
        s.get(User, people[key].id).email = f"{people[key].username}@example.com"
    s.commit()
    yield s
    s.rollback()
    s.close()


def _pending(session) -> list[Notification]:
    session.expire_all()
    return list(session.scalars(select(Notification).where(Notification.mail == "pending")))


def test_each_notice_is_mailed_at_once_and_only_once(mailing, site, smtp, people):
    agent = people["agent_a"]
    made = services.notify(mailing, None, [agent], "evaluation.released",
                           "Evaluation #7 of your contact was released to you.",
                           "/evaluations/7")
    mailing.commit()
    report = services.send_due(mailing, site, after_each=mailing.commit)
    mailing.commit()
    assert report.ok and (report.emails, report.notices) == (1, 1)
    [message] = smtp.messages
    assert message["To"] == "agent.a@example.com" and message["From"] == "qm@example.com"
    assert message["Subject"] == "qm: Evaluation #7 of your contact was released to you."
    assert f"{SITE}/evaluations/7" in message.get_content()
    assert f"{SITE}/notifications/settings" in message.get_content()
    mailing.refresh(made[0])
    assert made[0].mail == "sent" and made[0].emailed_at is not None
    again = services.send_due(mailing, site)
    assert again.emails == 0 and len(smtp.messages) == 1  # sent once


def test_a_refused_address_is_retried_and_the_others_go_on(mailing, site, smtp, people):
    smtp.refuse.add("agent.a2@example.com")
    services.notify(mailing, None, [people["agent_a"], people["agent_a2"], people["agent_b"]],
                    "test", "Something happened.", "/")
    mailing.commit()
    report = services.send_due(mailing, site, after_each=mailing.commit)
    mailing.commit()
    assert not report.ok and report.emails == 2
    assert [m["To"] for m in smtp.messages] == ["agent.a@example.com", "agent.b@example.com"]
    [problem] = report.problems
    assert "agent.a2@example.com" in problem and "550" in problem
    assert "mailbox unavailable" in problem and "retried at the next run" in problem
    [waiting] = _pending(mailing)
    assert waiting.user_id == people["agent_a2"].id and waiting.mail_attempts == 1
    assert "550" in waiting.mail_error
    smtp.refuse.clear()  # the mailbox is back
    report = services.send_due(mailing, site, after_each=mailing.commit)
    assert report.ok and report.emails == 1 and smtp.to("agent.a2@example.com")
    assert _pending(mailing) == []


def test_a_message_refused_too_often_is_given_up(mailing, site, smtp, people):
    smtp.refuse.add("agent.a@example.com")
    services.notify(mailing, None, [people["agent_a"]], "test", "Hello.", "/")
    mailing.commit()
    for _ in range(services.MAX_ATTEMPTS):
        report = services.send_due(mailing, site, after_each=mailing.commit)
    assert "given up" in report.problems[0]
    mailing.expire_all()
    item = mailing.scalars(select(Notification)).one()
    assert item.mail == "failed" and item.mail_attempts == services.MAX_ATTEMPTS
    assert services.send_due(mailing, site).problems == []  # not tried again


def test_a_daily_digest_groups_everything_since_the_last(mailing, site, smtp, people):
    agent = people["agent_b"]
    services.save_choice(mailing, agent, "digest")
    for n in (1, 2):
        services.notify(mailing, None, [agent], "test", f"Thing {n} happened.", f"/things/{n}")
    mailing.commit()
    monday = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
    report = services.send_due(mailing, site, now=monday, after_each=mailing.commit)
    assert report.ok and (report.emails, report.digests, report.notices) == (1, 1, 2)
    [digest] = smtp.to("agent.b@example.com")
    assert "2 notification(s)" in digest["Subject"] and "daily digest" in digest["Subject"]
    body = digest.get_content()
    assert body.index("Thing 1 happened.") < body.index("Thing 2 happened.")
    assert f"{SITE}/things/1" in body and f"{SITE}/things/2" in body
    # a third the same day waits for tomorrow's digest
    services.notify(mailing, None, [agent], "test", "Thing 3 happened.", "/things/3")
    mailing.commit()
    report = services.send_due(mailing, site, now=monday + dt.timedelta(hours=10))
    assert report.waiting == 1 and report.emails == 0 and len(smtp.messages) == 1
    report = services.send_due(mailing, site, now=monday + dt.timedelta(days=1),
                               after_each=mailing.commit)
    assert report.digests == 1
    last = smtp.to("agent.b@example.com")[-1].get_content()
    assert "Thing 3 happened." in last and "Thing 1" not in last


def test_no_email_for_a_user_who_chose_none_or_has_no_address(mailing, site, smtp, people):
    services.save_choice(mailing, people["agent_a"], "none")
    made = services.notify(mailing, None, [people["agent_a"], people["qa"]], "t", "Hi.", "/")
    assert [n.mail for n in made] == ["none", "none"]  # qa has no address
    mailing.commit()
    assert services.send_due(mailing, site).emails == 0 and smtp.messages == []


def test_a_server_that_is_down_stops_the_run_and_keeps_the_queue(mailing, site, people):
    services.notify(mailing, None, [people["agent_a"], people["agent_b"]], "t", "Hi.", "/")
    mailing.commit()
    down = Settings(**{**site.__dict__, "smtp_url": f"smtp://127.0.0.1:{_free_port()}"})
    report = services.send_due(mailing, down, after_each=mailing.commit)
    assert report.emails == 0 and report.stopped.startswith(
        "The SMTP server smtp://127.0.0.1:") and "stays queued" in report.stopped
    assert len(_pending(mailing)) == 2
    assert all(n.mail_attempts == 0 for n in _pending(mailing))


def test_the_command_sends_and_says_so(runner, mailing, smtp, people):
    services.notify(mailing, None, [people["agent_a"]], "t", "Hello from the command.", "/")
    mailing.commit()
    runner.env.update({"QM_SMTP_URL": smtp.url, "QM_MAIL_FROM": "qm@example.com",
                       "QM_SITE_URL": SITE})
    result = runner.invoke("notifications", "send")
    assert result.exit_code == 0, result.output
    assert "1 e-mail(s) sent" in result.output
    assert smtp.to("agent.a@example.com")[0]["Subject"] == "qm: Hello from the command."
    smtp.refuse.add("agent.b@example.com")
    services.notify(mailing, None, [people["agent_b"]], "t", "Again.", "/")
    mailing.commit()
    result = runner.invoke("notifications", "send")
    assert result.exit_code == 1
    assert "refused: notification #" in result.output and "agent.b@example.com" in result.output


def test_the_command_without_smtp_marks_nothing(runner, mailing, people):
    services.notify(mailing, None, [people["agent_a"]], "t", "Hello.", "/")
    mailing.commit()
    runner.env.update({"QM_SMTP_URL": ""})
    result = runner.invoke("notifications", "send")
    assert result.exit_code == 0
    assert "E-mail is not configured (QM_SMTP_URL is empty)" in result.output
    assert len(_pending(mailing)) == 1


def test_the_command_names_a_bad_smtp_url(runner, mailing):
    runner.env.update({"QM_SMTP_URL": "http://mail.example.com", "QM_MAIL_FROM": "qm@x.org"})
    result = runner.invoke("notifications", "send")
    assert result.exit_code == 1
    assert "QM_SMTP_URL must start with smtp:// or smtps://" in result.output


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.com", mail.SmtpServer("mail.example.com", 25)),
    ("smtps://u%40x:p%2Fw@mail.example.com",
     mail.SmtpServer("mail.example.com", 465, "u@x", "p/w", tls=True)),
    ("smtp://u:p@mail.example.com:587?starttls=1&timeout=5",
     mail.SmtpServer("mail.example.com", 587, "u", "p", starttls=True, timeout=5.0)),
])
def test_smtp_urls(url, expected):
    server = mail.parse_smtp_url(url)
    assert server == expected
    # what logs and messages show: never the user or the password
    assert str(server) == f"{'smtps' if server.tls else 'smtp'}://mail.example.com:{server.port}"


@pytest.mark.parametrize(("url", "words"), [
    ("mail.example.com", "must start with smtp:// or smtps://"),
    ("smtp://:25", "names no host"),
    ("smtp://mail.example.com:99999", "port"),
    ("smtp://mail.example.com?starttls=maybe", "starttls is 1 or 0"),
    ("smtps://mail.example.com?starttls=1", "TLS already"),
    ("smtp://mail.example.com?tls=1", "unknown option(s) tls"),
    ("smtp://mail.example.com?timeout=0", "timeout"),
])
def test_bad_smtp_urls_are_named(url, words):
    with pytest.raises(mail.MailConfigError, match=re.escape(words)):
        mail.parse_smtp_url(url)
