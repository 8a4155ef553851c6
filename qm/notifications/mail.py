"""E-mail, with the standard library: the SMTP server named by ``QM_SMTP_URL``, and the text
of a notice's e-mail and of a day's digest. Pure but for ``Mailer``, which talks to the server.

``smtp://host:25`` is plain SMTP; ``smtp://user:pass@host:587?starttls=1`` upgrades the
connection with STARTTLS before logging in; ``smtps://user:pass@host`` (port 465) is TLS from
the first byte. ``timeout=SECONDS`` in the query bounds each network wait (default 30).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SUBJECT_MAX = 90
TRUTHY, FALSY = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


class MailConfigError(ValueError):
    """A setting of e-mail that cannot work; the message names the variable."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str = ""
    password: str = ""
    tls: bool = False  # smtps: TLS from the start
    starttls: bool = False
    timeout: float = 30.0

    def __str__(self) -> str:  # never the password: this reaches logs and terminals
        scheme = "smtps" if self.tls else "smtp"
        return f"{scheme}://{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpServer:
    """``QM_SMTP_URL`` as a server, or ``MailConfigError`` saying what is wrong with it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise MailConfigError(f"QM_SMTP_URL must start with smtp:// or smtps://, got "
                              f"{parts.scheme + '://' if parts.scheme else url[:20]!r}.")
    try:
        port = parts.port
    except ValueError:
        raise MailConfigError("QM_SMTP_URL has a port that is not a number from 1 to "
                              "65535.") from None
    if not parts.hostname:
        raise MailConfigError("QM_SMTP_URL names no host (smtp://HOST:PORT).")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - {"starttls", "timeout"})
    if unknown:
        raise MailConfigError(f"QM_SMTP_URL has unknown option(s) {', '.join(unknown)}; "
                              "known: starttls, timeout.")
    raw_starttls = query.get("starttls", "").strip().lower()
    if raw_starttls not in TRUTHY | FALSY:
        raise MailConfigError(f"QM_SMTP_URL: starttls is 1 or 0, not {raw_starttls!r}.")
    tls = parts.scheme == "smtps"
    starttls = raw_starttls in TRUTHY
    if tls and starttls:
        raise MailConfigError("QM_SMTP_URL: smtps:// is TLS already; starttls=1 goes with "
                              "smtp:// only.")
    try:
        timeout = float(query.get("timeout") or 30)
    except ValueError:
        timeout = 0.0
    if not 0 < timeout <= 600:
        raise MailConfigError("QM_SMTP_URL: timeout is a number of seconds from 1 to 600.")
    return SmtpServer(host=parts.hostname, port=port or (465 if tls else 25),
                      username=unquote(parts.username or ""),
                      password=unquote(parts.password or ""), tls=tls, starttls=starttls,
                      timeout=timeout)


def absolute(site_url: str, link: str) -> str:
    """The address a mail reader can open: the site's address before the notice's path."""
    if not link:
        return site_url.rstrip("/") + "/notifications" if site_url else ""
    return site_url.rstrip("/") + link if site_url else link


def _subject(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= SUBJECT_MAX else line[:SUBJECT_MAX - 1].rstrip() + "…"


def _footer(site_url: str) -> str:
    where = absolute(site_url, "/notifications/settings") or "/notifications/settings"
    return f"\n-- \nqm notifications. Choose how qm e-mails you: {where}\n"


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies, please
    message.set_content(body)
    return message


def notice_message(sender: str, to: str, text: str, link: str, site_url: str) -> EmailMessage:
    """One notice, one e-mail: its text as the subject, and where to open it."""
    url = absolute(site_url, link)
    body = text + ("\n\nOpen it: " + url if url else "") + "\n" + _footer(site_url)
    return _message(sender, to, "qm: " + _subject(text), body)


def digest_message(sender: str, to: str, items: Sequence[tuple[str, str, str]],
                   site_url: str) -> EmailMessage:
    """A day's digest: ``items`` are (when, text, link), oldest first, one entry each."""
    lines = [f"{len(items)} notification(s) since the last digest:", ""]
    for when, text, link in items:
        url = absolute(site_url, link)
        lines.append(f"* {when}  {text}")
        if url:
            lines.append(f"  {url}")
    body = "\n".join(lines) + "\n" + _footer(site_url)
    return _message(sender, to, f"qm: {len(items)} notification(s), your daily digest", body)


class MailServerError(Exception):
    """The SMTP server could not be reached, refused the login, or dropped the connection:
    every message of the batch would fail alike, so the batch stops and is retried later."""


class MessageRefused(Exception):
    """The server refused this message (an unknown recipient, say); the next may pass."""


class Mailer:
    """One connection to the SMTP server for a batch, opened at the first message.

    ``send`` returns once the server accepted the message; it raises ``MessageRefused`` when
    the server refused this one, and ``MailServerError`` when it cannot be used at all. Both say
    why in words, the server's code and reason included."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.server
        smtp: smtplib.SMTP | None = None
        try:
            context = ssl.create_default_context()
            if s.tls:
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password)
        except (OSError, smtplib.SMTPException) as exc:
            if smtp is not None:
                smtp.close()
            raise MailServerError(f"The SMTP server {s} could not be used: "
                                  f"{describe_refusal(exc)}") from None
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused: dict[str, Any] = self._smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError) as exc:
            raise MessageRefused(describe_refusal(exc)) from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailServerError(f"The SMTP server {self.server} dropped the connection: "
                                  f"{describe_refusal(exc)}") from None
        if refused:  # some of several recipients refused; each message here has one
            raise MessageRefused(describe_refusal(smtplib.SMTPRecipientsRefused(refused)))

    def close(self) -> None:
        if self._smtp is not None:
            smtp, self._smtp = self._smtp, None
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def describe_refusal(exc: BaseException) -> str:
    """A server's answer, or the network's error, in words: the code and the reason."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = []
        for address, (code, reason) in exc.recipients.items():
            text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else reason
            parts.append(f"{address} refused ({code} {text})")
        return "; ".join(parts) or "recipient refused"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"{exc.smtp_code} {text}"
    return str(exc) or type(exc).__name__
