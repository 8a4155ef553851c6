"""The KPIs in the evidence pack (``qm.evidence``): each team's operational KPIs per month and
channel against the site's targets, beside its QA score, over the pack's period (ISO 18295-1
Annex A's performance indicators). Imported by ``qm.evidence.load()``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy.orm import Session

from qm.evidence import EvidenceFile, Scope, section
from scoring.kpis import queries


@section(140)
def kpis(session: Session, actor: Any, scope: Scope) -> Iterator[EvidenceFile]:
    teams = [t for t in queries.visible_teams(session, actor)
             if scope.team_id is None or t.id == scope.team_id]
    first, last = (scope.start.year, scope.start.month), (scope.end.year, scope.end.month)
    site_targets = queries.targets(scope.settings)

    def rows() -> Iterator[Sequence[Any]]:
        yield queries.table_header()
        for item in queries.lines(session, teams, first, last, site_targets,
                                  scope.settings.timezone):
            yield queries.table_row(item)

    yield EvidenceFile("scoring/kpi_trends.csv", "Operational KPIs per team and month",
                       "Each team's first-contact resolution, speed of answer, abandonment, "
                       "handle time, CSAT and NPS (with their samples and 95% intervals) per "
                       "calendar month and channel, from the first to the last month the "
                       "period touches, each against the site's target, beside the team's QA "
                       "score of the month.", rows=rows())
