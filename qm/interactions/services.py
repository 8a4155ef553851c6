"""Writes about interactions: create, correct, import, attach a recording. Functions take
(session, actor, ...) and flush, never commit.

A chat's or e-mail's text must be redacted as it is saved, and redaction lives a layer above
(transcription). So the writes here send ``qm.signals.interaction_text_changed`` in the same
transaction, and transcription subscribes to it: the core never imports a domain."""

from __future__ import annotations

import csv
import datetime as dt
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from qm import audit
from qm.auth.models import User
from qm.auth.permissions import Role, require
from qm.errors import Conflict, InvalidInput, NotFound, StaleEdit
from qm.inputs import NUL_MESSAGE
from qm.interactions.models import Channel, Direction, Interaction
from qm.signals import interaction_text_changed
from qm.storage import RecordingStore, StorageError
from qm.timestamps import to_utc

REQUIRED_COLUMNS = ("external_id", "agent", "channel", "started_at")


# A long e-mail thread is a legitimate cell; csv's default limit (128 KiB) is not enough.
csv.field_size_limit(16 * 1024 * 1024)


OPTIONAL_COLUMNS = ("source", "queue", "direction", "duration_s", "customer_ref", "recording",
                    "body")


COLUMN_ALIASES = {"duration": "duration_s", "agent_username": "agent", "id": "external_id",
                  "start": "started_at", "started": "started_at", "text": "body"}


_DURATION_RE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")


MAX_DURATION_S = 7 * 24 * 3600


SOURCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


def interaction_snapshot(interaction: Interaction) -> dict[str, Any]:
    """The audited fields. The text of a chat or e-mail enters the append-only log only as a
    digest: the text itself must stay erasable under the retention schedule."""
    return audit.snapshot(interaction, body=audit.digest(interaction.body))


def get_interaction(session: Session, interaction_id: int) -> Interaction:
    interaction = session.get(Interaction, interaction_id)
    if interaction is None:
        raise NotFound("Interaction", interaction_id)
    return interaction


def parse_started_at(value: Any, tz: ZoneInfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = str(value or "").strip()
        if not text:
            raise ValueError("started_at is empty")
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"started_at {text!r} is not an ISO 8601 date and time "
                "(e.g. 2026-11-20T14:05:00+01:00)"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return to_utc(parsed, "started_at")


def parse_duration(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = int(round(value))
    else:
        text = str(value).strip()
        match = _DURATION_RE.match(text)
        if match:
            hours, minutes, secs = (int(g or 0) for g in match.groups())
            if minutes >= 60 and match.group(1) or secs >= 60:
                raise ValueError(f"duration {text!r} is not a valid h:mm:ss")
            seconds = hours * 3600 + minutes * 60 + secs
        else:
            try:
                seconds = int(round(float(text)))
            except ValueError:
                raise ValueError(
                    f"duration {text!r} is neither seconds nor mm:ss / h:mm:ss"
                ) from None
    if seconds < 0:
        raise ValueError("duration cannot be negative")
    if seconds > MAX_DURATION_S:
        raise ValueError(f"duration {seconds} s is longer than a week")
    return seconds


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"Unknown time zone {name!r}.") from None


class AgentCache:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.by_key: dict[str, User | None] = {}

    def find(self, key: Any, agent_id: Any = None) -> User:
        """The agent named by username or e-mail (``key``), or by id through ``agent_id`` only:
        a username of digits must never be taken for another user's id."""
        if isinstance(key, User):
            return key
        if not key and agent_id not in (None, ""):
            try:
                text = f"#{int(agent_id)}"
            except (TypeError, ValueError):
                raise ValueError(f"agent_id {agent_id!r} is not a number") from None
            if text not in self.by_key:
                self.by_key[text] = self.session.get(User, int(agent_id))
        else:
            text = str(key or "").strip().lower()
            if not text:
                raise ValueError("agent is empty")
            if text not in self.by_key:
                stmt = select(User).where((User.username == text) | (User.email == text))
                self.by_key[text] = self.session.scalar(stmt)
        user = self.by_key[text]
        if user is None:
            raise ValueError(f"no user {text!r}")
        if Role.AGENT.value not in user.roles:
            raise ValueError(f"user {user.username!r} is not an agent")
        if not user.active:
            raise ValueError(f"agent {user.username!r} is deactivated")
        return user


def clean_fields(
    raw: Mapping[str, Any], agents: AgentCache, tz: ZoneInfo, default_source: str
) -> dict[str, Any]:
    """Validated, normalised interaction fields; ``ValueError`` lists every problem at once."""
    problems: dict[str, str] = {}
    out: dict[str, Any] = {}
    # Text no database stores alike (PostgreSQL refuses a NUL, SQLite keeps it): the row is
    # refused here, named by field, on every database.
    for name, value in raw.items():
        if isinstance(value, str) and "\x00" in value:
            problems[name] = f"{name}: {NUL_MESSAGE[0].lower()}{NUL_MESSAGE[1:]}"
    if problems:
        raise RowInvalid(problems)

    def take(name: str, fn: Callable[[], Any]) -> None:
        try:
            out[name] = fn()
        except ValueError as exc:
            problems[name] = str(exc)

    def text(name: str, limit: int, required: bool = False) -> str | None:
        value = str(raw.get(name) or "").strip()
        if required and not value:
            raise ValueError(f"{name} is empty")
        if len(value) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")
        return value or None

    def source() -> str:
        value = str(raw.get("source") or default_source).strip()
        if not SOURCE_RE.match(value):
            raise ValueError(f"source {value!r} must be 1-40 letters, digits, '.', '-' or '_'")
        return value

    def choice(name: str, enum: type[Channel] | type[Direction], default: str | None) -> str:
        value = str(raw.get(name) or default or "").strip().lower()
        allowed = [e.value for e in enum]
        if value not in allowed:
            raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")
        return value

    take("source", source)
    take("external_id", lambda: text("external_id", 100, required=True))
    take("agent", lambda: agents.find(raw.get("agent"), raw.get("agent_id")))
    take("channel", lambda: choice("channel", Channel, None))
    take("direction", lambda: choice("direction", Direction, Direction.INBOUND.value))
    take("started_at", lambda: parse_started_at(raw.get("started_at"), tz))
    take("duration_s", lambda: parse_duration(raw.get("duration_s")))
    take("queue", lambda: text("queue", 100) or "")
    take("customer_ref", lambda: text("customer_ref", 100))
    take("body", lambda: _text_body(raw.get("body")))
    if problems:
        raise RowInvalid(problems)
    return out


def _text_body(value: Any) -> str | None:
    # Browsers send a textarea's line breaks as CRLF; stored text uses LF, whatever sent it.
    if not value:
        return None
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    return text or None


class RowInvalid(ValueError):
    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems.values()))


def new_interaction(actor: Any, fields_: dict[str, Any]) -> Interaction:
    agent: User = fields_["agent"]
    return Interaction(
        source=fields_["source"],
        external_id=fields_["external_id"],
        agent_id=agent.id,
        team_id=agent.team_id,
        channel=fields_["channel"],
        direction=fields_["direction"],
        started_at=fields_["started_at"],
        duration_s=fields_["duration_s"],
        queue=fields_["queue"],
        customer_ref=fields_["customer_ref"],
        body=fields_["body"],
        created_by_id=getattr(actor, "id", None),
    )


def attach_recording(interaction: Interaction, stored: Any) -> None:
    """Point ``interaction`` at a recording put in the store (``RecordingStore.put``)."""
    interaction.recording_path = stored.relpath
    interaction.recording_sha256 = stored.sha256
    interaction.recording_bytes = stored.size
    interaction.recording_type = stored.content_type


def existing(session: Session, source: str, external_id: str) -> Interaction | None:
    return session.scalar(select(Interaction).where(Interaction.source == source,
                                                    Interaction.external_id == external_id))


def text_changed(session: Session, interaction: Interaction, *, new: bool) -> None:
    """Whoever keeps a text's redacted transcript brings it in step, in this transaction
    (``transcription.texts`` subscribes)."""
    interaction_text_changed.send(interaction, session=session, new=new)


def create_interaction(
    session: Session,
    actor: Any,
    data: Mapping[str, Any],
    *,
    store: RecordingStore | None = None,
    recording: BinaryIO | None = None,
    recording_name: str | None = None,
    timezone: str = "UTC",
) -> Interaction:
    """One interaction from the UI or the API. Without an external id one is made up."""
    require(actor, "interaction.create")
    data = dict(data)
    if not str(data.get("external_id") or "").strip():
        data["external_id"] = _generated_external_id()
    try:
        cleaned = clean_fields(data, AgentCache(session), parse_timezone(timezone), "manual")
    except RowInvalid as exc:
        raise InvalidInput(f"The interaction was not saved: {exc}.", exc.problems) from None
    clash = existing(session, cleaned["source"], cleaned["external_id"])
    if clash is not None:
        raise Conflict(f"Interaction {cleaned['source']}/{cleaned['external_id']} exists "
                       f"already (id {clash.id}); nothing was saved.")
    interaction = new_interaction(actor, cleaned)
    if recording is not None:
        if store is None:
            raise ValueError("a recording needs a store")
        try:
            attach_recording(interaction, store.put(recording, recording_name or "recording"))
        except StorageError as exc:
            raise InvalidInput(str(exc), {"recording": str(exc)}) from None
    session.add(interaction)
    session.flush()
    audit.record(session, actor, "interaction.created", interaction,
                 after=interaction_snapshot(interaction))
    if interaction.body:
        text_changed(session, interaction, new=True)
    return interaction


def _generated_external_id() -> str:
    return f"M-{dt.datetime.now(dt.UTC):%Y%m%d}-{secrets.token_hex(4)}"


EDITABLE = ("agent", "channel", "direction", "started_at", "duration_s", "queue",
            "customer_ref", "body")


def update_interaction(
    session: Session,
    actor: Any,
    interaction_id: int,
    data: Mapping[str, Any],
    *,
    expected_version: int,
    timezone: str = "UTC",
) -> Interaction:
    """Correct an interaction's details (a wrong agent, a wrong queue). The change is audited.

    A new body or channel redoes a text's redacted transcript (or deletes it when the body is
    cleared or the channel becomes voice), in the same transaction."""
    interaction = get_interaction(session, interaction_id)
    require(actor, "interaction.edit", interaction)
    if interaction.version != expected_version:
        raise StaleEdit("interaction")
    merged = {
        "source": interaction.source, "external_id": interaction.external_id,
        "agent": interaction.agent, "channel": interaction.channel,
        "direction": interaction.direction, "started_at": interaction.started_at,
        "duration_s": interaction.duration_s, "queue": interaction.queue,
        "customer_ref": interaction.customer_ref, "body": interaction.body,
    }
    merged.update({k: v for k, v in data.items() if k in EDITABLE})
    try:
        cleaned = clean_fields(merged, AgentCache(session), parse_timezone(timezone), "manual")
    except RowInvalid as exc:
        raise InvalidInput(f"Nothing was saved: {exc}.", exc.problems) from None
    before = interaction_snapshot(interaction)
    text_before = (interaction.channel, interaction.body)
    agent: User = cleaned.pop("agent")
    if agent.id != interaction.agent_id:
        interaction.agent_id, interaction.team_id = agent.id, agent.team_id
    for key in ("channel", "direction", "started_at", "duration_s", "queue", "customer_ref",
                "body"):
        setattr(interaction, key, cleaned[key])
    session.flush()
    after = interaction_snapshot(interaction)
    if after != before:
        audit.record(session, actor, "interaction.updated", interaction, before=before,
                     after=after)
    if (interaction.channel, interaction.body) != text_before:
        text_changed(session, interaction, new=False)
    return interaction
