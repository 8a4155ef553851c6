"""Importing KPI figures: one service for `qm kpis import`, the upload page and the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from qm import audit, csvfiles
from qm.auth.models import Team
from qm.auth.permissions import require
from qm.csvfiles import ImportReport, RowError
from qm.db import utcnow
from qm.errors import InvalidInput
from scoring.kpis.metrics import NPS_GROUPS, SUMS
from scoring.kpis.models import CHANNELS, KpiRecord

PERMISSION = "kpi.import"
REQUIRED_COLUMNS = ("date", "team", "channel")
OPTIONAL_COLUMNS = ("queue", *SUMS)
# the names telephony and survey exports commonly use for our columns
ALIASES = {
    "day": "date", "calls_offered": "offered", "calls_answered": "answered",
    "calls_abandoned": "abandoned", "total_wait_seconds": "wait_seconds",
    "total_handle_seconds": "handle_seconds", "fcr_contacts": "contacts",
    "fcr_resolved": "resolved_first", "resolved_first_contact": "resolved_first",
    "csat_satisfied_responses": "csat_satisfied", "csat_score_total": "csat_score_sum",
    "promoters": "nps_promoters", "passives": "nps_passives", "detractors": "nps_detractors",
}
MAX_COUNT = 2_000_000_000  # what an INTEGER column holds, with room
SECONDS = ("wait_seconds", "handle_seconds")
# (part, whole): the part may not exceed the whole, and needs it
PARTS = (("answered", "offered"), ("abandoned", "offered"), ("resolved_first", "contacts"),
         ("csat_satisfied", "csat_responses"))
# a total that means nothing without its count
NEEDS = (("wait_seconds", "answered"), ("handle_seconds", "handled"),
         ("csat_score_sum", "csat_responses"))


@dataclass
class KpiImportReport(ImportReport):
    """The import report, plus the rows that corrected figures already held."""

    replaced: int = 0


class _RowInvalid(Exception):
    pass


def _count(name: str, cell: str) -> int | None:
    text = cell.strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _RowInvalid(f"{name} {text!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise _RowInvalid(f"{name} {text!r} must be 0 or more")
    if name in SECONDS:  # durations may come with decimals; kept to the whole second
        number = number.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    elif number != number.to_integral_value():
        raise _RowInvalid(f"{name} {text!r} must be a whole number")
    if number > MAX_COUNT:
        raise _RowInvalid(f"{name} {text!r} is larger than qm stores ({MAX_COUNT:,})")
    return int(number)


def _clean_row(raw: dict[str, str], teams: dict[str, Team], today: dt.date) -> dict[str, Any]:
    """The row's key and figures, or ``_RowInvalid`` with every reason a person can fix."""
    text = (raw.get("date") or "").strip()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise _RowInvalid(f"date {text!r} is not a date as YYYY-MM-DD") from None
    if day > today:
        raise _RowInvalid(f"date {day.isoformat()} is in the future")
    name = (raw.get("team") or "").strip()
    team = teams.get(name.casefold())
    if team is None:
        raise _RowInvalid(f"no team named {name!r}" if name else "team is empty")
    channel = (raw.get("channel") or "").strip().lower()
    if channel not in CHANNELS:
        raise _RowInvalid(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
    queue = (raw.get("queue") or "").strip()
    if len(queue) > 80:
        raise _RowInvalid("queue is longer than 80 characters")
    figures = {name: _count(name, raw[name]) for name in SUMS if raw.get(name) is not None}
    figures = {name: value for name, value in figures.items() if value is not None}
    if not figures:
        raise _RowInvalid("the row has no figures (all of " + ", ".join(SUMS) + " are empty)")
    return {"day": day, "team": team, "queue": queue, "channel": channel, "figures": figures}


def check(figures: dict[str, int | None]) -> None:
    """The figures a record would hold, checked together (a correction and what it keeps from
    the earlier import): parts within their wholes, totals with their counts, NPS whole."""
    def has(name: str) -> bool:
        return figures.get(name) is not None

    for part, whole in (*PARTS, *NEEDS):
        if has(part) and not has(whole):
            raise _RowInvalid(f"{part} is given without {whole}")
    for part, whole in PARTS:
        if has(part) and figures[part] > figures[whole]:  # type: ignore[operator]
            raise _RowInvalid(f"{part} ({figures[part]}) is more than {whole} ({figures[whole]})")
    if has("answered") and has("abandoned") \
            and figures["answered"] + figures["abandoned"] > figures["offered"]:  # type: ignore
        raise _RowInvalid(f"answered + abandoned ({figures['answered'] + figures['abandoned']}) "
                          f"is more than offered ({figures['offered']})")
    if has("csat_score_sum") and figures["csat_score_sum"] > 10 * figures["csat_responses"]:  # type: ignore
        raise _RowInvalid("csat_score_sum is more than 10 per response: give the sum of the "
                          "scores (on a 1-5 or 0-10 scale)")
    given = [name for name in NPS_GROUPS if has(name)]
    if given and len(given) != len(NPS_GROUPS):
        missing = [name for name in NPS_GROUPS if name not in given]
        raise _RowInvalid(f"NPS needs all three groups; {', '.join(missing)} missing")


def existing(session: Session, day: dt.date, team_id: int, queue: str,
             channel: str) -> KpiRecord | None:
    return session.scalar(select(KpiRecord).where(
        KpiRecord.day == day, KpiRecord.team_id == team_id, KpiRecord.queue == queue,
        KpiRecord.channel == channel))


def snapshot(record: KpiRecord) -> dict[str, Any]:
    return {"day": record.day.isoformat(), "team_id": record.team_id, "queue": record.queue,
            "channel": record.channel, **{name: getattr(record, name) for name in SUMS}}


def import_kpis(session: Session, actor: Any, stream: BinaryIO, *,
                today: dt.date | None = None) -> KpiImportReport:
    """Import KPI figures from CSV (UTF-8, with or without a BOM).

    Columns (any case): date (YYYY-MM-DD), team (its name in qm), channel, and optionally
    queue and any of the figures in ``metrics.SUMS``; an empty cell is a figure the export does
    not give. A header without a required column is refused as a whole. Each bad row is
    reported by line with its reason and writes nothing; the good rows go in, each in a
    savepoint of its own.

    The key is (date, team, queue, channel). A row for a key already held with the same
    figures is counted as already there, so importing a file again adds nothing; with other
    figures it is a correction and replaces them (audited with before and after), because
    exports are re-run when the telephony system fixes its data. Figures the row leaves empty
    are kept: the survey export can add CSAT to the day the telephony export gave.
    """
    require(actor, PERMISSION)
    today = today or utcnow().date()
    reader = csvfiles.reader(stream)
    mapping, _unknown = csvfiles.header(reader, REQUIRED_COLUMNS, OPTIONAL_COLUMNS,
                                        aliases=ALIASES)
    if not set(mapping.values()) & set(SUMS):
        raise InvalidInput("The header has no figure column; nothing was imported. Give at "
                           f"least one of {', '.join(SUMS)}.")
    teams = {team.name.casefold(): team for team in session.scalars(select(Team))}
    report = KpiImportReport()
    seen: dict[tuple[Any, ...], int] = {}
    audit.lock(session)  # in this transaction, before the savepoints (see audit.lock)
    for row in csvfiles.numbered(reader, mapping):
        if isinstance(row, csvfiles.Unreadable):
            report.errors.append(RowError(row.line, row.reason))
            break
        line = row.line
        report.rows += 1
        if row.extra_cells:
            report.errors.append(RowError(line, "more cells than header columns"))
            continue
        try:
            fields_ = _clean_row(row.values, teams, today)
            key = (fields_["day"], fields_["team"].id, fields_["queue"], fields_["channel"])
            if key in seen:
                raise _RowInvalid(f"the same date, team, queue and channel as line {seen[key]}")
            record = existing(session, *key)
            merged = {name: getattr(record, name) for name in SUMS} if record else {}
            merged.update(fields_["figures"])
            check(merged)
            seen[key] = line  # a refused row claims no key: the file may fix it further down
        except _RowInvalid as exc:
            report.errors.append(RowError(line, str(exc)))
            continue
        if record is not None and all(getattr(record, name) == value
                                      for name, value in fields_["figures"].items()):
            report.already_there += 1
            continue
        try:
            with session.begin_nested():
                _write(session, actor, record, key, fields_["figures"])
        except DBAPIError as exc:
            report.errors.append(RowError(line, csvfiles.refusal(exc)))
            continue
        if record is None:
            report.created += 1
        else:
            report.replaced += 1
    return report


def _write(session: Session, actor: Any, record: KpiRecord | None, key: tuple[Any, ...],
           figures: dict[str, int]) -> None:
    if record is None:
        day, team_id, queue, channel = key
        record = KpiRecord(day=day, team_id=team_id, queue=queue, channel=channel, **figures)
        session.add(record)
        session.flush()
        audit.record(session, actor, "kpi.recorded", record, after=snapshot(record))
        return
    with audit.change(session, actor, "kpi.corrected", record, snapshot):
        for name, value in figures.items():
            setattr(record, name, value)
        record.imported_at = utcnow()
