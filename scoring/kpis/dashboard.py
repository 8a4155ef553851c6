"""The KPIs on the reports home."""

from __future__ import annotations

from typing import Any

from flask import url_for

from qm.auth.permissions import can


def reports(actor: Any) -> list[dict[str, Any]]:
    """The KPI page, for whoever may read a team's KPIs."""
    if not can(actor, "kpi.view"):
        return []
    return [{"group": "Operations", "title": "Operational KPIs", "id": "report-kpis",
             "text": "First-contact resolution, speed of answer, abandonment, handle time, "
                     "CSAT and NPS per team and month against their targets, beside the QA "
                     "score, with a 12-month trend.",
             "link": url_for("kpis.kpis")}]
