"""The dates qm accepts for when something happened, one rule for the pages, the API and files.

A contact happened after 1970 and before 2100. Outside that, a date is a typo or a system's
placeholder (``9999-12-31``, ``0001-01-01``), and some of those cannot even be moved to UTC
(``9999-12-31T23:59:59-05:00`` is past the last datetime Python has).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from marshmallow import ValidationError

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
RANGE_TEXT = "between 1970-01-01 and 2099-12-31"


def to_utc(value: dt.datetime, name: str = "the date") -> dt.datetime:
    """``value`` (aware) in UTC, or ``ValueError`` naming the accepted range."""
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(f"{name} {value.isoformat()} is out of range: it must be {RANGE_TEXT}")
    return utc


def in_range(value: dt.datetime) -> None:
    """The same rule as a marshmallow validator (the API's schemas)."""
    try:
        to_utc(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def today_in(zone: str) -> dt.date:
    """Today in a time zone (a user's, the site's): what is due today stays due, not overdue,
    until midnight there."""
    return dt.datetime.now(ZoneInfo(zone or "UTC")).date()
