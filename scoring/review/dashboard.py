"""What other pages show of the review: the interaction page's flags panel."""

from __future__ import annotations

from typing import Any

from flask import url_for

from qm.auth.permissions import can
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
    """The flags' measured precision on the reports home."""
    if not can(actor, "flag.view"):
        return []
    return [{"group": "Flags", "title": "Flags and their precision", "id": "report-flags",
             "text": "Each named flag with the share of its reviewed hits that were confirmed.",
             "link": url_for("review.flag_list")}]
