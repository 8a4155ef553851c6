"""Who could use coaching, on what: pure arithmetic over recent scores, no database.

For each agent and each form question (and each competency, through the questions tagged with
it), the share of points on their most recent ``RECENT`` scored answers. A subject is suggested
when, on at least ``MIN_N`` answers, that share is below ``THRESHOLD`` percent, or more than
``MARGIN`` points below their team's share on the same subject (the mean of the teammates'
shares that rest on ``MIN_N`` answers too), and the agent has no open coaching on it. Fewer
answers suggest nothing: two bad calls are not a pattern.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

THRESHOLD = 70.0
"""A share of points (percent) below which a subject needs work whatever the team does."""
MARGIN = 15.0
"""Points below the team's share on the same subject that make it worth a conversation."""
MIN_N = 3
RECENT = 10

Subject = tuple[str, str]
"""("question", key) or ("competency", code)."""


@dataclass(frozen=True)
class Suggestion:
    agent_id: int
    subject: Subject
    n: int
    share: float
    team_share: float | None
    reason: str


def share(answers: Sequence[tuple[float, float]], recent: int = RECENT) -> tuple[int, float]:
    """(n, share in percent) of the ``recent`` first (most recent) ``(earned, possible)``
    answers; answers with nothing possible are skipped."""
    scored = [(e, p) for e, p in answers if p > 0][:recent]
    possible = sum(p for _e, p in scored)
    return len(scored), (100 * sum(e for e, _p in scored) / possible if possible else 0.0)


def suggest(answers: Mapping[int, Mapping[Subject, Sequence[tuple[float, float]]]],
            teams: Mapping[int, int | None], covered: Mapping[int, set[Subject]], *,
            threshold: float = THRESHOLD, margin: float = MARGIN, min_n: int = MIN_N,
            recent: int = RECENT) -> list[Suggestion]:
    """The suggestions, lowest share first. ``answers``: per agent, per subject, the scored
    answers most recent first; ``teams``: each agent's team; ``covered``: per agent, the
    subjects of their open coaching."""
    if min_n < 1 or recent < min_n:
        raise ValueError(f"Need 1 <= min_n <= recent (got {min_n} and {recent}).")
    shares: dict[int, dict[Subject, tuple[int, float]]] = {
        agent: {subject: share(items, recent) for subject, items in subjects.items()}
        for agent, subjects in answers.items()}
    team_totals: dict[tuple[int | None, Subject], list[float]] = defaultdict(list)
    for agent, subjects in shares.items():
        for subject, (n, value) in subjects.items():
            if n >= min_n and teams.get(agent) is not None:
                team_totals[(teams[agent], subject)].append(value)
    out = []
    for agent, subjects in shares.items():
        for subject, (n, value) in subjects.items():
            if n < min_n or subject in covered.get(agent, set()):
                continue
            peers = team_totals.get((teams.get(agent), subject), [])
            team_share = sum(peers) / len(peers) if len(peers) > 1 else None
            if value < threshold:
                reason = (f"{value:.0f}% of points on the last {n} answers, under "
                          f"{threshold:.0f}%.")
            elif team_share is not None and value < team_share - margin:
                gap = team_share - value
                reason = (f"{value:.0f}% of points on the last {n} answers, {gap:.0f} points "
                          f"under the team's {team_share:.0f}%.")
            else:
                continue
            out.append(Suggestion(agent, subject, n, value, team_share, reason))
    out.sort(key=lambda s: (s.share, s.agent_id, s.subject))
    return out
