"""KPI arithmetic and targets, pure: what a month's figures are, from the raw sums the exports
give, and whether each meets its target.

A month's KPI is computed from the month's sums (resolved / contacts, total wait / answered),
never as the average of daily averages: a quiet day must weigh less than a busy one.
Percentages are floats in 0-100, seconds are floats; the page rounds them for display only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from qm.stats import Z95, wilson

# The raw counts a row carries: what is summed across days, queues and channels.
SUMS = ("offered", "answered", "abandoned", "wait_seconds", "handled", "handle_seconds",
        "contacts", "resolved_first", "csat_responses", "csat_satisfied", "csat_score_sum",
        "nps_promoters", "nps_passives", "nps_detractors")

# KPI -> its label and its unit
KPIS: dict[str, tuple[str, str]] = {
    "fcr": ("First-contact resolution", "%"),
    "asa": ("Average speed of answer", "s"),
    "abandonment": ("Abandonment", "%"),
    "aht": ("Average handle time", "s"),
    "csat": ("CSAT (satisfied)", "%"),
    "nps": ("NPS", ""),
}


# Each rate's numerator and denominator in a row: a row adds to a rate only when it carries
# both, so that a day without the wait figure does not lower the ASA by adding its calls.
PAIRS = (("resolved_first", "contacts"), ("wait_seconds", "answered"), ("abandoned", "offered"),
         ("handle_seconds", "handled"), ("csat_satisfied", "csat_responses"),
         ("csat_score_sum", "csat_scored"))
NPS_GROUPS = ("nps_promoters", "nps_passives", "nps_detractors")


@dataclass
class Totals:
    """The sums a period's KPIs are computed from, each rate's numerator with its denominator
    (see ``PAIRS``); None where no row of the period carried the pair (unknown is not zero: a
    month without survey data has no CSAT, not a CSAT of 0%)."""

    resolved_first: int | None = None
    contacts: int | None = None
    wait_seconds: int | None = None
    answered: int | None = None
    abandoned: int | None = None
    offered: int | None = None
    handle_seconds: int | None = None
    handled: int | None = None
    csat_satisfied: int | None = None
    csat_responses: int | None = None
    csat_score_sum: int | None = None
    csat_scored: int | None = None  # the responses of the rows that give a score sum
    nps_promoters: int | None = None
    nps_passives: int | None = None
    nps_detractors: int | None = None

    def _plus(self, name: str, value: int) -> None:
        current = getattr(self, name)
        setattr(self, name, value if current is None else current + value)

    def add(self, row: Any) -> Totals:
        """Add a row's figures (an object or a mapping with ``SUMS``' names)."""
        def get(name: str) -> Any:
            return row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)

        for numerator, denominator in PAIRS:
            top = get(numerator)
            bottom = get("csat_responses" if denominator == "csat_scored" else denominator)
            if top is not None and bottom is not None:
                self._plus(numerator, top)
                self._plus(denominator, bottom)
        groups = [get(name) for name in NPS_GROUPS]
        if all(g is not None for g in groups):
            for name, value in zip(NPS_GROUPS, groups, strict=True):
                self._plus(name, value)
        return self

    @classmethod
    def of(cls, rows: Iterable[Any]) -> Totals:
        totals = cls()
        for row in rows:
            totals.add(row)
        return totals

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


def ratio(numerator: int | None, denominator: int | None, scale: float = 1.0) -> float | None:
    if numerator is None or not denominator:
        return None
    return scale * numerator / denominator


@dataclass(frozen=True)
class Estimate:
    """A survey figure with what backs it: sample size and a 95% interval."""

    value: float | None
    n: int
    low: float | None
    high: float | None
    method: str


def csat(totals: Totals) -> Estimate:
    """Share of satisfied respondents (top-box), in %, with its Wilson interval."""
    n, satisfied = totals.csat_responses or 0, totals.csat_satisfied
    if not n or satisfied is None:
        return Estimate(None, n, None, None, "Wilson")
    low, high = wilson(satisfied, n) or (None, None)
    return Estimate(100 * satisfied / n, n, 100 * low, 100 * high, "Wilson")


def nps(totals: Totals) -> Estimate:
    """Net promoter score (% promoters - % detractors, -100..100) with a 95% interval from the
    normal approximation of the difference of two shares of one multinomial sample:
    var = (p + d - (p - d)^2) / n. Clipped to -100..100; with fewer than 30 answers read it
    as an indication (the page says so)."""
    p, q, d = totals.nps_promoters, totals.nps_passives, totals.nps_detractors
    if p is None or q is None or d is None or p + q + d == 0:
        return Estimate(None, 0, None, None, "normal approximation")
    n = p + q + d
    share_p, share_d = p / n, d / n
    score = share_p - share_d
    half = Z95 * math.sqrt(max(0.0, share_p + share_d - score * score) / n)
    return Estimate(100 * score, n, max(-100.0, 100 * (score - half)),
                    min(100.0, 100 * (score + half)), "normal approximation")


def values(totals: Totals) -> dict[str, float | None]:
    """Every KPI of ``totals`` (None where its figures are missing or its denominator is 0)."""
    return {
        "fcr": ratio(totals.resolved_first, totals.contacts, 100),
        "asa": ratio(totals.wait_seconds, totals.answered),
        "abandonment": ratio(totals.abandoned, totals.offered, 100),
        "aht": ratio(totals.handle_seconds, totals.handled),
        "csat": csat(totals).value,
        "nps": nps(totals).value,
        "csat_mean": ratio(totals.csat_score_sum, totals.csat_scored),
    }


# --- targets ------------------------------------------------------------------------------

# The issue's and ISO 18295-1 practice's common targets. A bound is "min" (at least), "max"
# (at most) or "below" (strictly under); a KPI's target is one bound, or one per channel.
# AHT is set per queue by complexity, and CSAT/NPS per site: no default, set them in
# QM_KPI_TARGETS.
DEFAULT_TARGETS: dict[str, Any] = {
    "fcr": {"min": 70},
    "asa": {"voice": {"max": 30}, "chat": {"below": 60}},
    "abandonment": {"below": 5},
}
BOUNDS = {"min": "at least", "max": "at most", "below": "under"}


@dataclass(frozen=True)
class Target:
    bound: str  # a key of BOUNDS
    limit: float
    unit: str

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        if self.bound == "min":
            return value >= self.limit
        if self.bound == "max":
            return value <= self.limit
        return value < self.limit

    @property
    def text(self) -> str:
        unit = {"%": "%", "s": " s"}.get(self.unit, "")
        return f"{BOUNDS[self.bound]} {self.limit:g}{unit}"


class Targets:
    """The site's targets: ``for_(kpi, channel)`` is the Target or None (no target set)."""

    def __init__(self, table: Mapping[str, Any]) -> None:
        self.table = dict(table)

    def for_(self, kpi: str, channel: str) -> Target | None:
        entry = self.table.get(kpi)
        if not entry:
            return None
        if not any(key in BOUNDS for key in entry):
            entry = entry.get(channel)
            if not entry:
                return None
        bound, limit = next(iter(entry.items()))
        return Target(bound, float(limit), KPIS[kpi][1])


def targets_from(text: str, variable: str = "QM_KPI_TARGETS") -> Targets:
    """The defaults, with the KPIs named in ``text`` (JSON, as in ``QM_KPI_TARGETS``) replaced:
    ``{"aht": {"voice": {"max": 420}}, "csat": {"min": 80}, "fcr": null}`` (null: no target).
    A bad value is a ``ValueError`` naming the variable and what is wrong."""
    table: dict[str, Any] = dict(DEFAULT_TARGETS)
    if not text.strip():
        return Targets(table)
    try:
        given = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{variable} is not valid JSON ({exc.msg}).") from None
    if not isinstance(given, dict):
        raise ValueError(f'{variable} must be a JSON object, e.g. {{"fcr": {{"min": 75}}}}.')
    for kpi, entry in given.items():
        if kpi not in KPIS:
            raise ValueError(f"{variable}: {kpi!r} is not a KPI; the KPIs are "
                             f"{', '.join(KPIS)}.")
        if entry is None:
            table[kpi] = None
            continue
        if not isinstance(entry, dict) or not entry:
            raise ValueError(f"{variable}: {kpi} needs a bound such as {{\"min\": 75}} or one "
                             "per channel such as {\"voice\": {\"max\": 30}}.")
        per_channel = entry if not any(key in BOUNDS for key in entry) else {"": entry}
        for channel, bound in per_channel.items():
            where = f"{kpi}.{channel}" if channel else kpi
            if (not isinstance(bound, dict) or len(bound) != 1
                    or next(iter(bound)) not in BOUNDS):
                raise ValueError(f"{variable}: {where} needs exactly one of "
                                 f"{', '.join(BOUNDS)} with a number.")
            limit = next(iter(bound.values()))
            if isinstance(limit, bool) or not isinstance(limit, int | float) \
                    or not math.isfinite(limit):
                raise ValueError(f"{variable}: {where} needs a number, not {limit!r}.")
        table[kpi] = entry
    return Targets(table)
