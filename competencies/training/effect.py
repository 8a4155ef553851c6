"""Did a training session change anything? Levels before and after it: pure arithmetic.

For each person who attended and each competency the course develops, the level **before** is
the latest assessment on or before the day of the session, and the level **after** is the
latest assessment in the window that follows it (the day after the session up to
``window_days`` later). The latest in the window rather than the first: an assessor who
re-assesses a week after a course and again two months later has revised their judgement, and
the second one stands. A pair counts only when both exist; the others are counted as waiting
for an assessment, so a course is never judged on people nobody re-assessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

WINDOW_DAYS = 180
"""Assessments up to this many days after a session count as its "after"."""


def level_before(history: Sequence[tuple[date, int]], day: date) -> int | None:
    """The level of the latest assessment on or before ``day``; ``history`` is (date, level)
    sorted by date (same-day entries in the order they were recorded)."""
    found = None
    for assessed_on, level in history:
        if assessed_on > day:
            break
        found = level
    return found


def level_after(history: Sequence[tuple[date, int]], day: date,
                window_days: int = WINDOW_DAYS) -> int | None:
    """The level of the latest assessment after ``day`` and at most ``window_days`` later."""
    if window_days < 1:
        raise ValueError(f"The window after a session is at least 1 day (got {window_days}).")
    end = day + timedelta(days=window_days)
    found = None
    for assessed_on, level in history:
        if day < assessed_on <= end:
            found = level
    return found


@dataclass(frozen=True)
class Pair:
    """One person's level on one competency around one session (None: no assessment)."""

    user_id: int
    code: str
    before: int | None
    after: int | None

    @property
    def change(self) -> int | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class Effect:
    """What the pairs add up to. Means are over complete pairs only (None when there are none)."""

    pairs: int  # complete pairs: a level before and after
    waiting: int  # a level before but none after yet, or none before
    improved: int
    unchanged: int
    declined: int
    mean_before: float | None
    mean_after: float | None

    @property
    def mean_change(self) -> float | None:
        if self.mean_before is None or self.mean_after is None:
            return None
        return self.mean_after - self.mean_before

    @property
    def improved_share(self) -> float | None:
        return self.improved / self.pairs if self.pairs else None


def summarise(pairs: Iterable[Pair]) -> Effect:
    every = list(pairs)
    complete = [p for p in every if p.change is not None]
    changes = [p.after - p.before for p in complete]  # type: ignore[operator]
    return Effect(
        pairs=len(complete), waiting=len(every) - len(complete),
        improved=sum(c > 0 for c in changes), unchanged=sum(c == 0 for c in changes),
        declined=sum(c < 0 for c in changes),
        mean_before=(sum(p.before for p in complete) / len(complete))  # type: ignore[misc]
        if complete else None,
        mean_after=(sum(p.after for p in complete) / len(complete))  # type: ignore[misc]
        if complete else None)
