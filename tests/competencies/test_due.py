"""Refresher dates and their status (competencies.training.due): worked examples and properties."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competencies.training.due import (
    DUE_SOON_DAYS,
    add_months,
    check_completed_on,
    next_due,
    status,
)
from qm.errors import InvalidInput

# --- add_months -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2023, 3, 31), -1, date(2023, 2, 28)),
        (date(2026, 1, 31), 3, date(2026, 4, 30)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 11, 15), 2, date(2027, 1, 15)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2026, 1, 15), -25, date(2023, 12, 15)),
        (date(2026, 5, 17), 0, date(2026, 5, 17)),
        (date(2026, 2, 28), 1, date(2026, 3, 28)),  # no snapping to month end
    ],
)
def test_add_months_worked_examples(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
month_counts = st.integers(min_value=-1200, max_value=1200)


@given(day=days, months=month_counts)
def test_add_months_lands_in_the_right_month(day: date, months: int) -> None:
    result = add_months(day, months)
    target_index = day.year * 12 + (day.month - 1) + months
    target_year, target_month0 = divmod(target_index, 12)
    assert (result.year, result.month) == (target_year, target_month0 + 1)
    # Same day of month unless the month is too short, then its last day.
    last_day = calendar.monthrange(result.year, result.month)[1]
    assert result.day == min(day.day, last_day)
    # Never more than 31 days from the naive target (same day-of-month, possibly invalid).
    naive_target = date(result.year, result.month, 1) + timedelta(days=day.day - 1)
    assert abs((naive_target - result).days) <= 31


@given(day=days, years=st.integers(min_value=-100, max_value=100))
def test_whole_years_keep_the_month(day: date, years: int) -> None:
    result = add_months(day, 12 * years)
    assert result.month == day.month
    assert result.year == day.year + years
    assert result.day == day.day or (day.month, day.day, result.day) == (2, 29, 28)


@given(day=days, months=st.integers(min_value=0, max_value=1200))
def test_add_months_never_goes_backwards(day: date, months: int) -> None:
    assert add_months(day, months) >= day


# --- next_due ---------------------------------------------------------------------------------


def test_refresh_interval_only() -> None:
    assert next_due(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert next_due(date(2026, 1, 31), 1) == date(2026, 2, 28)


def test_no_interval_no_expiry_is_never_due() -> None:
    assert next_due(date(2026, 3, 2), None) is None
    assert status(next_due(date(2026, 3, 2), None), date(2030, 1, 1)) == "none"


def test_expiry_only() -> None:
    assert next_due(date(2026, 3, 2), None, date(2027, 3, 1)) == date(2027, 3, 1)


def test_earlier_expiry_wins_over_refresh_date() -> None:
    assert next_due(date(2026, 3, 2), 24, date(2027, 6, 30)) == date(2027, 6, 30)


def test_earlier_refresh_date_wins_over_expiry() -> None:
    assert next_due(date(2026, 3, 2), 12, date(2028, 3, 2)) == date(2027, 3, 2)


def test_expiry_on_completion_day_is_allowed() -> None:
    assert next_due(date(2026, 3, 2), 12, date(2026, 3, 2)) == date(2026, 3, 2)


def test_expiry_before_completion_is_refused() -> None:
    with pytest.raises(
        ValueError,
        match=r"An expiry date cannot be before the completion date \(2026-03-01 is before "
        r"2026-03-02\)\.",
    ):
        next_due(date(2026, 3, 2), 12, date(2026, 3, 1))


@pytest.mark.parametrize("months", [0, -1, -12])
def test_interval_below_one_month_is_refused(months: int) -> None:
    with pytest.raises(ValueError, match="at least 1 month"):
        next_due(date(2026, 3, 2), months)


@given(
    completed_on=days,
    refresh_months=st.one_of(st.none(), st.integers(min_value=1, max_value=240)),
    expiry_after=st.one_of(st.none(), st.integers(min_value=0, max_value=5000)),
)
def test_next_due_is_never_before_completion(
    completed_on: date, refresh_months: int | None, expiry_after: int | None
) -> None:
    expires_on = None if expiry_after is None else completed_on + timedelta(days=expiry_after)
    due = next_due(completed_on, refresh_months, expires_on)
    if refresh_months is None and expires_on is None:
        assert due is None
        return
    assert due is not None
    assert due >= completed_on
    if expires_on is not None:
        assert due <= expires_on
    if refresh_months is not None:
        assert due <= add_months(completed_on, refresh_months)


# --- status -----------------------------------------------------------------------------------

AS_OF = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (None, "none"),
        (AS_OF - timedelta(days=365), "overdue"),
        (AS_OF - timedelta(days=1), "overdue"),
        (AS_OF, "due"),  # expires today: due, not overdue
        (AS_OF + timedelta(days=1), "due"),
        (AS_OF + timedelta(days=30), "due"),
        (AS_OF + timedelta(days=31), "ok"),
        (AS_OF + timedelta(days=400), "ok"),
    ],
)
def test_status_boundaries(due: date | None, expected: str) -> None:
    assert status(due, AS_OF) == expected


def test_expiry_today() -> None:
    due = next_due(date(2026, 1, 5), None, AS_OF)
    assert status(due, AS_OF) == "due"
    assert status(due, AS_OF + timedelta(days=1)) == "overdue"


def test_status_custom_window() -> None:
    assert DUE_SOON_DAYS == 30
    assert status(AS_OF + timedelta(days=7), AS_OF, soon_days=7) == "due"
    assert status(AS_OF + timedelta(days=8), AS_OF, soon_days=7) == "ok"
    assert status(AS_OF, AS_OF, soon_days=0) == "due"
    assert status(AS_OF + timedelta(days=1), AS_OF, soon_days=0) == "ok"
    with pytest.raises(ValueError, match="cannot be negative"):
        status(AS_OF, AS_OF, soon_days=-1)


@given(due=days, as_of=days)
def test_status_agrees_with_the_day_count(due: date, as_of: date) -> None:
    left = (due - as_of).days
    expected = "overdue" if left < 0 else "due" if left <= DUE_SOON_DAYS else "ok"
    assert status(due, as_of) == expected


# --- check_completed_on -----------------------------------------------------------------------


def test_future_completion_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_completed_on(date(2027, 1, 5), date(2026, 12, 2))
    assert str(caught.value) == (
        "A completion date cannot be in the future (2027-01-05 is after 2026-12-02)."
    )


def test_completion_today_or_earlier_is_accepted() -> None:
    assert check_completed_on(date(2026, 12, 2), date(2026, 12, 2)) is None
    assert check_completed_on(date(2020, 2, 29), date(2026, 12, 2)) is None
