"""Writes about notifications: make them (``notify``, called by every domain's services in
their own transaction), mark them read, save a user's e-mail choice, and mail what is due.

Read marks are the reader's own bookkeeping, not a change to a record of the site, and are not
audited (a busy agent would bury the log); the choice of e-mail is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qm import audit
from qm.auth.models import User
from qm.config import Settings
from qm.db import settings_of, utcnow
from qm.errors import InvalidInput, NotFound
from qm.notifications import mail
from qm.notifications.models import EmailChoice, MailState, Notification, NotificationSettings

MAX_TEXT = 500
# A message the server refused this many times is given up (``failed``), its reason kept.
MAX_ATTEMPTS = 10
CHOICES = tuple(c.value for c in EmailChoice)


def default_choice(settings: Settings) -> str:
    """A user who chose nothing is e-mailed each notice where the site has e-mail at all."""
    return EmailChoice.IMMEDIATE.value if settings.smtp_url else EmailChoice.NONE.value


def is_local(link: str) -> bool:
    """A path on this site: what a notice may link to (and the open page may redirect to)."""
    return (link.startswith("/") and not link.startswith("//") and "\\" not in link
            and not any(ord(c) < 32 for c in link))


def notify(session: Session, actor: Any, recipients: Iterable[Any], kind: str, text: str,
           link: str = "") -> list[Notification]:
    """Tell ``recipients`` (users or their ids) that ``text`` happened, ``link`` (a path inside
    the site) showing it. The actor is never told of their own act, nor an inactive user; each
    recipient once. Whether it is also e-mailed is decided now, from the recipient's choice."""
    if link and not is_local(link):
        raise ValueError(f"a notification links to a path inside the site, not {link!r}")
    actor_id = getattr(actor, "id", None)
    ids: list[int] = []
    for recipient in recipients:
        user_id = recipient if isinstance(recipient, int) else getattr(recipient, "id", None)
        if user_id is not None and user_id != actor_id and user_id not in ids:
            ids.append(user_id)
    if not ids:
        return []
    default = default_choice(settings_of(session))
    rows = session.execute(
        select(User.id, User.email, NotificationSettings.email)
        .outerjoin(NotificationSettings, NotificationSettings.user_id == User.id)
        .where(User.id.in_(ids), User.active.is_(True))).all()
    text = " ".join(text.split())[:MAX_TEXT]
    made = []
    for user_id, address, choice in sorted(rows, key=lambda row: ids.index(row[0])):
        mailed = (choice or default) != EmailChoice.NONE.value and bool(address)
        item = Notification(user_id=user_id, kind=kind[:40], text=text, link=link,
                            created_at=utcnow(),
                            mail=(MailState.PENDING if mailed else MailState.NONE).value)
        session.add(item)
        made.append(item)
    session.flush()
    return made


def own(session: Session, actor: Any, notification_id: int) -> Notification:
    """The actor's own notification; anyone else's answers as one that does not exist."""
    item = session.get(Notification, notification_id) if isinstance(notification_id, int) \
        else None
    if item is None or item.user_id != getattr(actor, "id", None):
        raise NotFound("Notification", notification_id)
    return item


def mark_read(session: Session, actor: Any, notification_id: int) -> Notification:
    item = own(session, actor, notification_id)
    if item.read_at is None:
        item.read_at = utcnow()
        session.flush()
    return item


def mark_all_read(session: Session, actor: Any) -> int:
    """Every unread notification of the actor, read now; how many there were."""
    result = session.execute(
        update(Notification).where(Notification.user_id == actor.id,
                                   Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session="fetch"))
    session.flush()
    return result.rowcount or 0  # type: ignore[attr-defined]


def choice_of(session: Session, user_id: int) -> str:
    """The user's e-mail choice: theirs, else the site's default."""
    row = session.get(NotificationSettings, user_id)
    return row.email if row is not None else default_choice(settings_of(session))


def save_choice(session: Session, actor: Any, email: str) -> NotificationSettings:
    """The actor's own choice of e-mail: each notice at once, a daily digest, or none."""
    if email not in CHOICES:
        raise InvalidInput("Choose how qm e-mails you: at once, a daily digest, or not at all.",
                           {"email": f"one of {', '.join(CHOICES)}"})
    row = session.get(NotificationSettings, actor.id)
    if row is None:
        row = NotificationSettings(user_id=actor.id, email=email)
        session.add(row)
        session.flush()
        audit.record(session, actor, "notification_settings.created", row,
                     after=audit.snapshot(row))
    elif row.email != email:
        with audit.change(session, actor, "notification_settings.updated", row):
            row.email = email
    if email == EmailChoice.NONE.value:
        # What waited for an e-mail stays in the app only, as chosen.
        session.execute(update(Notification).where(
            Notification.user_id == actor.id, Notification.mail == MailState.PENDING.value)
            .values(mail=MailState.NONE.value).execution_options(synchronize_session="fetch"))
        session.flush()
    return row


# --- the outbox ------------------------------------------------------------------------------

@dataclass
class SendReport:
    """What one run of the outbox did. ``problems`` are sentences, one per refused message;
    ``stopped`` says why the run ended early (the server could not be used), if it did."""

    emails: int = 0
    notices: int = 0
    digests: int = 0
    waiting: int = 0  # held for a digest not due yet
    unmailable: int = 0  # their user since chose no e-mail, lost the address or left
    problems: list[str] = field(default_factory=list)
    stopped: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and not self.stopped


def digest_due(row: NotificationSettings, zone: str, now: dt.datetime) -> bool:
    """One digest a day: due when none went out yet on this day of the user's calendar."""
    if row.last_digest_at is None:
        return True
    tz = _zone(zone)
    return row.last_digest_at.astimezone(tz).date() < now.astimezone(tz).date()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def send_due(session: Session, settings: Settings, *, now: dt.datetime | None = None,
             mailer: mail.Mailer | None = None,
             after_each: Callable[[], None] | None = None) -> SendReport:
    """Mail what is due: each pending notice of a user on "at once", and one digest per user on
    "daily digest" whose digest of today has not gone out yet.

    A notice is marked sent only once the server accepted its e-mail, and ``after_each`` (the
    command's commit) runs after every e-mail, so a run cut short sends nothing twice. A message
    the server refuses is counted against its notices and retried at the next run (given up
    after ``MAX_ATTEMPTS``); the other messages go on. A server that cannot be used stops the
    run: everything not sent stays queued.
    """
    if not settings.smtp_url:
        raise InvalidInput("E-mail is not configured: set QM_SMTP_URL.")
    try:
        server = mail.parse_smtp_url(settings.smtp_url)
    except mail.MailConfigError as exc:
        raise InvalidInput(str(exc)) from None
    sender = settings.mail_from.strip()
    if "@" not in sender:
        raise InvalidInput("Set QM_MAIL_FROM to the address qm's e-mails come from "
                           "(e.g. qm@example.com).")
    now = now or utcnow()
    done = after_each or session.flush
    pending = session.scalars(
        select(Notification).where(Notification.mail == MailState.PENDING.value)
        .order_by(Notification.user_id, Notification.id)).all()
    by_user: dict[int, list[Notification]] = {}
    for item in pending:
        by_user.setdefault(item.user_id, []).append(item)
    settings_rows = {row.user_id: row for row in session.scalars(
        select(NotificationSettings).where(NotificationSettings.user_id.in_(list(by_user))))}
    default = default_choice(settings)
    report = SendReport()
    own_mailer = mailer is None
    mailer = mailer or mail.Mailer(server)
    try:
        for user_id, items in by_user.items():
            user = items[0].user
            row = settings_rows.get(user_id)
            choice = row.email if row is not None else default
            if choice == EmailChoice.NONE.value or not user.email or not user.active:
                for item in items:
                    item.mail = MailState.NONE.value
                report.unmailable += len(items)
                done()
                continue
            if choice == EmailChoice.DIGEST.value:
                if row is None or not digest_due(row, user.timezone, now):
                    report.waiting += len(items)
                    continue
                tz = _zone(user.timezone)
                message = mail.digest_message(
                    sender, user.email,
                    [(i.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), i.text, i.link)
                     for i in items], settings.site_url)
                if _send(mailer, message, items, now, report, f"the digest to {user.email}"):
                    row.last_digest_at = now
                    report.digests += 1
                done()
                continue
            for item in items:
                message = mail.notice_message(sender, user.email, item.text, item.link,
                                              settings.site_url)
                _send(mailer, message, [item], now, report,
                      f"notification #{item.id} to {user.email}")
                done()
    except mail.MailServerError as exc:
        report.stopped = f"{exc} Nothing more was sent; what is not sent stays queued."
        session.flush()
    finally:
        if own_mailer:
            mailer.close()
    return report


def _send(mailer: mail.Mailer, message: Any, items: list[Notification], now: dt.datetime,
          report: SendReport, what: str) -> bool:
    try:
        mailer.send(message)
    except mail.MessageRefused as exc:
        for item in items:
            item.mail_attempts += 1
            item.mail_error = str(exc)[:500]
            if item.mail_attempts >= MAX_ATTEMPTS:
                item.mail = MailState.FAILED.value
        given_up = " (given up)" if items[0].mail == MailState.FAILED.value else \
            " (retried at the next run)"
        report.problems.append(f"{what}: {exc}{given_up}")
        return False
    for item in items:
        item.mail = MailState.SENT.value
        item.emailed_at = now
        item.mail_error = ""
    report.emails += 1
    report.notices += len(items)
    return True
