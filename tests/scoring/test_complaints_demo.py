"""The demo's year of complaints (``scoring.demo.seed_complaints``): built on the demo's people
and contacts through the register's services, every step after the one before and none in the
future, each about a contact of the owning lead's team, a mix the timeliness page can show
(met, late, overdue), every opening audited, and nothing added by a second run."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from sqlalchemy import func, select

from qm import audit
from qm import demo as core_demo
from qm.auth.models import User, UserRole
from qm.auth.permissions import SystemActor
from qm.interactions import importing
from qm.interactions.models import Interaction
from scoring import demo
from scoring.complaints import queries
from scoring.complaints.models import (
    CATEGORIES,
    ROOT_CAUSES,
    Complaint,
    ComplaintInteraction,
    Severity,
)

STEPS = ("received_at", "acknowledged_at", "responded_at", "escalated_at",
         "escalation_answered_at", "resolved_at", "closed_at")


def _demo_contacts(session, actor) -> None:
    """The demo's people and teams, and its twelve weeks of contacts (no scoring, no
    flagging: the complaints need none)."""
    core_demo._seed_people(session, actor)
    agents = list(session.scalars(select(User).join(UserRole).where(UserRole.role == "agent")
                                  .order_by(User.username)))
    data = demo.rows(agents, dt.datetime.now(dt.UTC))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(data[0]))
    writer.writeheader()
    writer.writerows(data)
    buffer.seek(0)
    importing.import_csv(session, actor, buffer, source="demo")
    session.commit()


def test_the_demo_has_a_year_of_complaints(app, session):
    settings = app.extensions["qm"]["settings"]
    actor = SystemActor("demo")
    _demo_contacts(session, actor)
    message = demo.seed_complaints(session, actor, settings)
    session.commit()
    now = dt.datetime.now(dt.UTC)

    found = re.fullmatch(r"Complaints: (\d+) over 12 months \((\d+) open, (\d+) overdue, "
                         r"(\d+) escalated\)\.", message)
    assert found, message
    total, open_, overdue, escalated = map(int, found.groups())
    complaints = list(session.scalars(select(Complaint).order_by(Complaint.id)))
    assert len(complaints) == total and 60 <= total <= 100
    assert sum(c.resolved_at is None for c in complaints) == open_ >= 3
    assert overdue >= 1 and escalated >= 1
    assert sum(c.escalated_at is not None for c in complaints) == escalated

    # every step after the one before, none in the future; spread over the year
    for item in complaints:
        times = [getattr(item, step) for step in STEPS if getattr(item, step) is not None]
        assert times == sorted(times) and len(set(times)) == len(times), item.id
        assert times[-1] <= now, item.id
        if item.escalation_answered_at is not None:
            assert item.escalated_at is not None
        assert item.status == ("closed" if item.closed_at else "resolved" if item.resolved_at
                               else "escalated" if item.escalated_at
                               and not item.escalation_answered_at
                               else "responded" if item.responded_at
                               else "acknowledged" if item.acknowledged_at else "received")
    received = sorted(c.received_at for c in complaints)
    assert now - received[0] > dt.timedelta(days=300)
    assert now - received[-1] < dt.timedelta(days=1)
    assert len({c.received_at.month for c in complaints}) >= 11  # this one may be new
    # what they are about, how serious, why they happened: spread, and the allowed values
    assert {c.category for c in complaints} <= set(CATEGORIES)
    assert len({c.category for c in complaints}) >= 5
    assert {c.severity for c in complaints} <= {s.value for s in Severity}
    assert {"low", "medium", "high"} <= {c.severity for c in complaints}
    causes = {c.root_cause for c in complaints if c.resolved_at is not None}
    assert causes <= set(ROOT_CAUSES) and len(causes) >= 5
    assert all(c.root_cause and c.outcome for c in complaints if c.resolved_at is not None)

    # each about one contact, before it came in, of an agent of its owner's team
    for item in complaints:
        assert len(item.links) == 1, item.id
        contact = item.links[0].interaction
        assert contact.started_at < item.received_at
        assert item.customer_ref == contact.customer_ref
        assert item.owner.username.startswith("lead")
        assert item.links[0].team_id in item.owner.led_team_ids
    # the leads' registers share the year between them, each their own team's only
    lead1, lead2 = (session.scalar(select(User).where(User.username == name))
                    for name in ("lead1", "lead2"))
    site = queries.site_clock(session, settings, now)
    mine = {lead.username: queries.register(session, lead, queries.Filters(), site)
            for lead in (lead1, lead2)}
    assert mine["lead1"] and mine["lead2"]
    assert len(mine["lead1"]) + len(mine["lead2"]) == total
    assert all(r.complaint.links[0].team_id in lead1.led_team_ids for r in mine["lead1"])

    # the timeliness page over the demo's window is not empty: some met, some late, overdue
    admin = session.scalar(select(User).where(User.username == "admin"))
    today = site.calendar.local_day(now)  # the site's month, as the page's default
    report = queries.timeliness(session, admin, site, (today.year, today.month))
    assert report.total.received == total
    resolve = report.total.steps["resolve"]
    assert resolve.met > resolve.late > 0 and resolve.overdue >= 1 and resolve.open >= 1
    assert resolve.met + resolve.late + resolve.overdue + resolve.open == total
    assert report.total.steps["acknowledge"].late > 0
    assert report.total.steps["escalation"].met + report.total.steps["escalation"].late \
        + report.total.steps["escalation"].overdue == escalated
    assert len(queries.overdue(session, admin, site)) == overdue
    # the root-cause trend has months to show
    trend = queries.trend(session, admin, as_of=today, zone=settings.timezone)
    assert sum(trend.totals) == sum(c.resolved_at is not None for c in complaints)
    assert sum(1 for n in trend.totals if n) >= 8

    # audited as real use: each opened by its lead, and its steps after
    opened = session.execute(select(audit.AuditEntry.entity_id, audit.AuditEntry.actor_name)
                             .where(audit.AuditEntry.action == "complaint.opened")).all()
    assert sorted(int(entity_id) for entity_id, _ in opened) == [c.id for c in complaints]
    assert {name for _, name in opened} <= {lead1.display_name, lead2.display_name,
                                             "lead1", "lead2"}
    assert session.scalar(select(func.count(audit.AuditEntry.id)).where(
        audit.AuditEntry.action == "complaint.resolved")) == total - open_

    # a second run adds nothing
    contacts = session.scalar(select(func.count(Interaction.id)))
    audited = session.scalar(select(func.count(audit.AuditEntry.id)))
    assert demo.seed_complaints(session, actor, settings) == "Complaints: already there."
    session.commit()
    assert session.scalar(select(func.count(Complaint.id))) == total
    assert session.scalar(select(func.count(ComplaintInteraction.id))) == total
    assert session.scalar(select(func.count(Interaction.id))) == contacts
    assert session.scalar(select(func.count(audit.AuditEntry.id))) == audited


def test_without_the_demo_teams_nothing_is_made(app, session):
    settings = app.extensions["qm"]["settings"]
    message = demo.seed_complaints(session, SystemActor("demo"), settings)
    assert message == "Complaints: skipped (the demo teams are missing)."
    assert session.scalar(select(func.count(Complaint.id))) == 0
