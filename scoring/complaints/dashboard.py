"""The home page's card of overdue complaints, and what the interaction page offers about
complaints: the complaints it is linked to, and "Open a complaint" for whoever may."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from qm.auth.permissions import can
from qm.db import utcnow
from qm.web import settings
from scoring.complaints import queries, services
from scoring.complaints.models import Complaint, ComplaintInteraction

SHOWN = 5


def cards(session: Session, actor: Any) -> list[dict[str, Any]]:
    """Overdue complaints the viewer may see: how many, and the longest overdue."""
    if not can(actor, services.VIEW):
        return []
    rows = queries.overdue(session, actor, queries.site_clock(session, settings(), utcnow()))
    lines = []
    for row in rows[:SHOWN]:
        first = min(row.clock.overdue, key=lambda d: d.due_at)
        lines.append(f"#{row.complaint.id} {row.complaint.customer_ref}: {first.label.lower()}, "
                     f"{first.describe}")
    return [{"title": "Complaints overdue", "value": len(rows), "detail": lines,
             "link": url_for("complaints.overdue"), "link_text": "Overdue complaints"}]


def interaction_links(session: Session, viewer: Any, interaction: Any) -> list[dict[str, str]]:
    """On an interaction's page: its complaints the viewer may see, and "Open a complaint"
    for whoever may manage complaints about it."""
    out = []
    if can(viewer, services.VIEW):
        linked = session.scalars(
            select(Complaint).join(ComplaintInteraction)
            .where(ComplaintInteraction.interaction_id == interaction.id,
                   queries.visible(viewer))
            .order_by(Complaint.id))
        out += [{"text": f"Complaint #{c.id} ({c.status})",
                 "href": url_for("complaints.complaint", complaint_id=c.id)} for c in linked]
    scope = services.LinkScope(interaction.agent_id, interaction.team_id)
    if can(viewer, services.MANAGE, scope):
        out.append({"text": "Open a complaint",
                    "href": url_for("complaints.new_complaint", interaction_id=interaction.id)})
    return out


def reports(actor: Any) -> list[dict[str, Any]]:
    """The complaint register's reports on the reports home: how fast complaints are handled."""
    if not can(actor, "complaint.view"):
        return []
    return [{"group": "Complaints", "title": "Complaint trends", "id": "report-complaint-trends",
             "text": "Complaints per month and category, and how many were answered in time.",
             "link": url_for("complaints.trends")},
            {"group": "Complaints", "title": "Overdue complaints", "id": "report-complaint-overdue",
             "text": "Complaints past their acknowledgement or response deadline.",
             "link": url_for("complaints.overdue")},
            {"group": "Complaints", "title": "Complaint handling timeliness",
             "id": "report-complaint-timeliness",
             "text": "Per month received and per severity: complaints acknowledged, responded "
                     "to, escalated and resolved within their deadlines, and the working days "
                     "taken to resolve them.",
             "link": url_for("complaints.timeliness")}]
