"""What scoring answers when a lower layer asks (``qm.signals``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qm.errors import QMError
from qm.signals import Verdict, evaluator_verdicts, flag_confirmed
from scoring.complaints import services as complaints
from scoring.complaints.models import Complaint, ComplaintInteraction
from scoring.evaluations import services as ev


@evaluator_verdicts.connect
def verdicts(_sender: Any = None, *, session: Session) -> list[Verdict]:
    """Flagging learns from what evaluators found (``evaluations.verdicts``)."""
    return ev.verdicts(session)


@flag_confirmed.connect
def complaint_from_flag(_sender: Any = None, *, session: Session, actor: Any,
                        interaction_id: int, flag_name: str) -> list[dict[str, Any]]:
    """A confirmed complaint flag opens a complaint about the interaction, unless one still
    open already covers it. What was done, in words, for the page that confirmed it; a
    complaint that cannot be opened (no customer reference) leaves the verdict standing."""
    existing = session.scalar(
        select(Complaint).join(ComplaintInteraction,
                               ComplaintInteraction.complaint_id == Complaint.id)
        .where(ComplaintInteraction.interaction_id == interaction_id,
               Complaint.closed_at.is_(None)).limit(1))
    if existing is not None:
        return [{"complaint_id": existing.id, "opened": False,
                 "text": f"Complaint #{existing.id} already covers this interaction."}]
    try:
        with session.begin_nested():
            item = complaints.open_from_interaction(session, actor, interaction_id,
                                                    source="flag")
    except QMError as exc:
        return [{"complaint_id": None, "opened": False,
                 "text": f"No complaint was opened: {exc}"}]
    return [{"complaint_id": item.id, "opened": True,
             "text": f"Complaint #{item.id} opened from the '{flag_name}' flag."}]
