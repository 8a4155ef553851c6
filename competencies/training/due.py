"""When a training completion must be refreshed, and how urgent that is: pure date arithmetic.

A course may have a refresher interval in calendar months, a completion may carry an expiry date
(a certificate's), or both; the earlier one wins. Kept free of storage and of "today" so the
rules are testable with fixed dates: callers pass ``as_of`` / ``today`` explicitly, in the
site's time zone.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from qm.errors import InvalidInput

DUE_SOON_DAYS = 30
"""A refresher due within this many days (inclusive) is shown as "due" rather than "ok"."""


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months (negative goes back), clamped to month end.

    Calendar months, not 30-day blocks, because refresher intervals are stated that way
    ("every 12 months"). When the target month is shorter, the result is its last day:
    31 January + 1 month is 28 or 29 February, 29 February 2028 + 12 months is 28 February 2029.
    """
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_due(
    completed_on: date, refresh_months: int | None, expires_on: date | None = None
) -> date | None:
    """The date a completion must be refreshed by: the earlier of the interval and the expiry.

    ``completed_on + refresh_months`` (calendar months, see ``add_months``) and ``expires_on``
    each apply when given; None when neither does (a course taken once, with no expiry).
    Raises ``ValueError`` for an interval below 1 month or an expiry before the completion.
    """
    if refresh_months is not None and refresh_months < 1:
        raise ValueError(f"A refresher interval must be at least 1 month (got {refresh_months}).")
    if expires_on is not None and expires_on < completed_on:
        raise ValueError(
            f"An expiry date cannot be before the completion date "
            f"({expires_on.isoformat()} is before {completed_on.isoformat()})."
        )
    candidates: list[date] = []
    if refresh_months is not None:
        candidates.append(add_months(completed_on, refresh_months))
    if expires_on is not None:
        candidates.append(expires_on)
    return min(candidates) if candidates else None


def status(due: date | None, as_of: date, soon_days: int = DUE_SOON_DAYS) -> str:
    """How urgent a refresher is on ``as_of``: "none", "overdue", "due" or "ok".

    "none": nothing is due (``due`` is None). "overdue": the due date has passed. "due": it
    falls within ``soon_days`` of ``as_of``, both ends included, so a completion expiring today
    is still "due", not overdue. "ok": later than that.
    """
    if soon_days < 0:
        raise ValueError(f"The due-soon window cannot be negative (got {soon_days} days).")
    if due is None:
        return "none"
    if due < as_of:
        return "overdue"
    if due <= as_of + timedelta(days=soon_days):
        return "due"
    return "ok"


def check_completed_on(completed_on: date, today: date) -> None:
    """Refuse a completion date in the future with ``InvalidInput``: training is recorded once done.

    ``today`` is passed in (the site's date) rather than read from the clock, so the rule is
    testable and follows the site's time zone.
    """
    if completed_on > today:
        raise InvalidInput(
            f"A completion date cannot be in the future ({completed_on.isoformat()} is after "
            f"{today.isoformat()})."
        )
