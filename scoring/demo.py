"""Demo interactions: twelve weeks of calls, chats and e-mails for the demo agents."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qm.auth.models import User, UserRole
from scoring import services

QUEUES = {"Billing": ["billing", "refunds", "payments"],
          "Technical support": ["broadband", "mobile", "outages"]}
CHAT_LINES = [
    "Customer: Hi, my last invoice is higher than usual.\nAgent: Let me check that for you.",
    "Customer: The internet drops every evening.\nAgent: I'm sorry to hear that; let's test "
    "your line together.",
    "Customer: I want to cancel my contract.\nAgent: I can help. May I ask what prompted it?",
]
EMAIL_LINES = [
    "Subject: Refund request\n\nHello, I was charged twice this month. Please refund one "
    "payment.",
    "Subject: Router not working\n\nSince the update my router shows a red light.",
]


def rows(agents: list[User], now: dt.datetime, weeks: int = 12, seed: int = 42) -> list[dict]:
    """Contacts over the ``weeks`` before ``now``, in business hours, none in the future."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    out = []
    n = 0
    for agent in agents:
        team = agent.team.name if agent.team else "Billing"
        for week in range(weeks):
            for _ in range(rng.randint(3, 6)):
                n += 1
                day = (now - dt.timedelta(days=7 * week + rng.randint(1, 7))).date()
                hour = rng.choice([8, 9, 10, 11, 13, 14, 15, 16, 17, 19])
                start = dt.datetime(day.year, day.month, day.day, hour, rng.randint(0, 59),
                                    tzinfo=dt.UTC)
                channel = rng.choices(["voice", "chat", "email"], weights=[6, 3, 1])[0]
                body = ""
                if channel == "chat":
                    body = rng.choice(CHAT_LINES)
                elif channel == "email":
                    body = rng.choice(EMAIL_LINES)
                out.append({
                    "external_id": f"DEMO-{n:05d}",
                    "agent": agent.username,
                    "channel": channel,
                    "queue": rng.choice(QUEUES.get(team, ["general"])),
                    "direction": rng.choices(["inbound", "outbound"], weights=[9, 1])[0],
                    "started_at": start.isoformat(),
                    "duration_s": rng.randint(90, 900) if channel != "email" else 0,
                    "customer_ref": f"CUST-{rng.randint(10000, 99999)}",
                    "body": body,
                })
    return out


FORM_FILE = Path(__file__).parent / "data" / "iso18295_voice.json"


def seed(session: Session, actor: Any, settings: Any) -> str:
    form = services.import_form(session, actor, json.loads(FORM_FILE.read_text("utf-8")),
                                publish=True)
    agents = list(session.scalars(
        select(User).join(UserRole).where(UserRole.role == "agent").order_by(User.username)
    ))
    data = rows(agents, dt.datetime.now(dt.UTC))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(data[0]) if data else ["external_id"])
    writer.writeheader()
    writer.writerows(data)
    buffer.seek(0)
    report = services.import_csv(session, actor, buffer, source="demo")
    return (f"Interactions: {report.created} created, {report.already_imported} were there "
            f"already. Scoring form: {form.form.name}, version {form.number} ({form.status}).")
