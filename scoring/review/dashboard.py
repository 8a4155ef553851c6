"""What other pages show of the review: the interaction page's flags panel, and the flag
report's entry on the reports home."""

from __future__ import annotations

from typing import Any

from flask import url_for

from qm.auth.permissions import can
from scoring.review import queries
from scoring.review.forms import MissedForm, VerdictForm
from transcription.flagging import queries as flag_queries


def interaction_panel(session: Any, viewer: Any, interaction: Any) -> dict[str, Any] | None:
    """What the interaction page shows of flags: what fired (evidence, verdict buttons), the
    words to highlight, and the flags that could be added as missed; None without
    ``flag.view``."""
    if not can(viewer, "flag.view", interaction):
        return None
    shown, missed = flag_queries.of_interaction(session, interaction)
    form = MissedForm()
    form.flag_id.choices = [(f.id, f.name) for f in missed]
    return {"shown": shown, "marks": flag_queries.marks_of(shown), "missed": form,
            "form": VerdictForm(), "may_review": can(viewer, "flag.review", interaction)}


def reports(actor: Any) -> list[dict[str, Any]]:
    """The flag report (fire rates and measured precision) on the reports home."""
    if not can(actor, "flag.view"):
        return []
    return [{"group": "Flags", "title": "Flag rates and precision", "id": "report-flags",
             "text": "How often each flag fires, month by month, and the share of its "
                     "reviewed hits evaluators confirmed, against its target.",
             "link": url_for("review.flag_report")}]


def digest(session: Any, lead: Any, week: Any) -> list[dict[str, Any]]:
    """A team lead's digest: the flagged contacts of their teams waiting for a verdict (the
    queue's count: a contact with two flags once), and how many per flag."""
    if not can(lead, "flag.review"):
        return []
    waiting = [(name, n) for _id, name, n in queries.counts(session, lead) if n]
    return [{"title": "Flagged contacts waiting for review", "id": "digest-flags",
             "value": queries.waiting(session, lead) if waiting else 0,
             "detail": [f"{name}: {n}" for name, n in waiting],
             "link": url_for("review.review_queue")}]
