"""Factory functions for tests: real rows through the real services, with sensible defaults."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from qm.auth import services as auth_services
from qm.auth.models import Team, User
from qm.auth.permissions import SystemActor
from qm.interactions import services as interactions
from qm.interactions.models import Interaction
from qm.storage import RecordingStore
from scoring.evaluations import services as ev
from scoring.forms import services as form_services
from transcription.store import store_transcript

PASSWORD = "correct-horse-battery"
SYSTEM = SystemActor("test")
_counter = itertools.count(1)


@cache
def password_hash() -> str:
    # Hashed once per run: scrypt is slow on purpose, and every test user shares the password.
    return generate_password_hash(PASSWORD)


def create_team(session: Session, name: str | None = None, leads: list[User] = ()) -> Team:
    return auth_services.create_team(session, SYSTEM, name=name or f"Team {next(_counter)}",
                                     lead_ids=[u.id for u in leads])


def create_user(
    session: Session,
    username: str | None = None,
    roles: tuple[str, ...] | list[str] = ("agent",),
    team: Team | None = None,
    **kwargs: Any,
) -> User:
    username = username or f"user{next(_counter)}"
    return auth_services.create_user(
        session, SYSTEM, username=username, display_name=kwargs.pop("display_name",
                                                                    username.title()),
        roles=roles, team_id=team.id if team else None, password_hash=password_hash(),
        **kwargs,
    )


def create_interaction(session: Session, agent: User, **fields: Any) -> Interaction:
    n = next(_counter)
    data = {
        "source": "test",
        "external_id": f"T-{n:06d}",
        "agent": agent.username,
        "channel": "voice",
        "queue": "billing",
        "started_at": (dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
                       + dt.timedelta(minutes=n)).isoformat(),
        "duration_s": 300,
        "customer_ref": f"C-{n}",
    }
    data.update(fields)
    return interactions.create_interaction(session, SYSTEM, data)


# a form with weights, a critical question, a scale and a conditional question
WORKFLOW_FORM = {
    "name": "Workflow form",
    "sections": [
        {"key": "open", "title": "Opening", "weight": 1, "questions": [
            {"key": "greet", "text": "Greets the customer", "type": "yes_no", "points": 1},
            {"key": "verify", "text": "Verifies identity", "type": "yes_no", "points": 1,
             "critical": "form"},
        ]},
        {"key": "care", "title": "Care", "weight": 1, "questions": [
            {"key": "empathy", "text": "Shows empathy", "type": "scale", "points": 4,
             "scale_min": 1, "scale_max": 5},
            {"key": "reason", "text": "Reason for contact", "type": "single", "points": 0,
             "options": [{"value": "question"}, {"value": "complaint"}]},
            {"key": "sorry", "text": "Apologises for the trouble", "type": "yes_no",
             "condition": {"question": "reason", "values": ["complaint"]}},
        ]},
    ],
}


SIMPLE_FORM = {
    "name": "Test form",
    "sections": [{"key": "s", "title": "Basics", "weight": 1, "questions": [
        {"key": "greet", "text": "Greets", "type": "yes_no", "points": 1},
        {"key": "verify", "text": "Verifies identity", "type": "yes_no", "points": 2,
         "critical": "form"},
    ]}],
}


def create_form(session: Session, data: dict[str, Any] | None = None, publish: bool = True):
    return form_services.import_form(session, SYSTEM, data or SIMPLE_FORM, publish=publish)


def create_dispute(session: Session, evaluator: User, interaction: Interaction) -> Any:
    """``evaluator`` scores ``interaction`` on SIMPLE_FORM (released at once), and its agent
    disputes the evaluation; the dispute (``.evaluation`` is the evaluation)."""
    evaluation = ev.start_evaluation(session, evaluator, interaction)
    ev.submit(session, evaluator, evaluation.id, {"greet": "yes", "verify": "no"})
    return ev.dispute(session, interaction.agent, evaluation.id,
                               "I verified the caller at the start of the call.")


def flags_in_use(session: Session, *classifiers: str) -> None:
    """The starter flags (rules in use) and these text classifiers trained on their shipped
    labelled sets and put in use; committed."""
    from transcription.flagging import services as flags

    flags.install_starter(session)
    for name in classifiers:
        texts, labels = flags.shipped_labels(name)
        flags.train_classifier(session, SYSTEM, name, texts=texts, labels=labels,
                               activate_it=True)
    session.commit()


RECORDED_AUDIO = Path(__file__).resolve().parent / "data" / "audio" / "agent_customer_8k.wav"
# what tests/data/audio/README.md says is spoken in agent_customer_8k.wav, and when
RECORDED_SEGMENTS = [
    {"start": 0.25, "end": 4.25, "speaker": "agent", "confidence": 0.9, "words": [],
     "text": "Thank you for calling Acme billing, my name is Sam. How can I help you today?"},
    {"start": 4.75, "end": 8.04, "speaker": "customer", "confidence": 0.9, "words": [],
     "text": "Hello, I was charged twice for my broadband this month."},
    {"start": 8.54, "end": 9.97, "speaker": "agent", "confidence": 0.9, "words": [],
     "text": "Let me check that for you."},
]


def recorded_call(app: Any, session: Session, *, external_id: str = "CALL-1",
                  segments: list[dict[str, Any]] | None = None) -> Interaction:
    """agent.a's call with a real recording (``RECORDED_AUDIO``) stored as the app stores one,
    and a transcript (``RECORDED_SEGMENTS``, or ``segments``)."""
    segments = RECORDED_SEGMENTS if segments is None else segments
    with RECORDED_AUDIO.open("rb") as recording:
        call = interactions.create_interaction(
            session, SYSTEM,
            {"source": "test", "external_id": external_id, "agent": "agent.a",
             "channel": "voice", "started_at": "2026-11-02T09:00:00+00:00", "duration_s": 10},
            store=RecordingStore(app.extensions["qm"]["settings"].recordings_dir),
            recording=recording, recording_name="call.wav")
    store_transcript(session, call.id, {
        "source": "audio", "model": "test", "duration_s": 10.22, "segments": segments,
        "text": " ".join(s["text"] for s in segments), "metrics": {}, "redactions": {},
        "warnings": []})
    return call


# Compliance has a critical question that zeroes its section; Courtesy is plain.
SECTION_CRITICAL_FORM = {
    "name": "Section critical form",
    "sections": [
        {"key": "comp", "title": "Compliance", "weight": 1, "questions": [
            {"key": "ident", "text": "Verified identity?", "type": "yes_no", "points": 1,
             "critical": "section"},
            {"key": "disclose", "text": "Read the disclosure?", "type": "yes_no", "points": 1},
        ]},
        {"key": "court", "title": "Courtesy", "weight": 1, "questions": [
            {"key": "greet", "text": "Greeted the customer?", "type": "yes_no", "points": 1},
        ]},
    ],
}


def table_rows(page: str, table_id: str, part: str = "tbody") -> list[list[str]]:
    """The rows of the HTML table ``table_id`` in ``page`` (its ``tbody``, or ``thead`` /
    ``tfoot``): each cell's text, tags stripped, as a reader of the page sees them."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert table, f"no table {table_id}"
    body = re.search(rf"<{part}>(.*?)</{part}>", table.group(0), re.S)
    assert body, f"table {table_id} has no {part}"
    return [[re.sub(r"<[^>]+>", "", cell).strip()
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)]
