"""The complaint clock's worked examples: each deadline across a weekend, a holiday, a receipt on
a Saturday, on a holiday, at 23:59, and in a site time zone; the states; the settings."""

from __future__ import annotations

import datetime as dt

import pytest

from scoring.complaints import clock

UTC = dt.UTC
DEFAULT = clock.Policy()
SITE = clock.Calendar("UTC")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_monday_complaint_has_every_deadline_worked_out():
    received = at("2026-03-02 09:00")  # a Monday
    assert clock.ack_due(received, DEFAULT) == at("2026-03-03 09:00")
    # five working days (ISO 10002 practice's first substantive response): Monday the 9th
    assert clock.response_due(received, DEFAULT, SITE) == at("2026-03-09 23:59:59")
    # fifteen working days after the Monday: three weeks on, Monday 23rd, end of the day
    assert clock.resolve_due(received, DEFAULT, SITE) == at("2026-03-23 23:59:59")
    assert clock.escalation_due(at("2026-03-03 10:00"), DEFAULT) == at("2026-03-05 10:00")


def test_working_days_skip_the_weekend():
    received = at("2026-03-06 16:00")  # a Friday
    # Mon 9 .. Fri 13 (5), Mon 16 .. Fri 20 (10), Mon 23 .. Fri 27 (15)
    assert clock.resolve_due(received, DEFAULT, SITE) == at("2026-03-27 23:59:59")
    # hours are hours: the acknowledgement is due on the Saturday
    assert clock.ack_due(received, DEFAULT) == at("2026-03-07 16:00")


def test_a_holiday_moves_the_resolution_a_working_day():
    received = at("2026-03-06 16:00")
    with_holiday = clock.Calendar("UTC", frozenset({dt.date(2026, 3, 18)}))
    assert clock.resolve_due(received, DEFAULT, with_holiday) == at("2026-03-30 23:59:59")
    # a holiday on a Saturday changes nothing: it was not a working day anyway
    on_saturday = clock.Calendar("UTC", frozenset({dt.date(2026, 3, 14)}))
    assert clock.resolve_due(received, DEFAULT, on_saturday) == at("2026-03-27 23:59:59")
    # the response counts working days too: a holiday within its five moves it a day
    assert clock.response_due(received, DEFAULT, SITE) == at("2026-03-13 23:59:59")
    assert clock.response_due(received, DEFAULT, with_holiday) == at("2026-03-13 23:59:59")
    on_wednesday = clock.Calendar("UTC", frozenset({dt.date(2026, 3, 11)}))
    assert clock.response_due(received, DEFAULT, on_wednesday) == at("2026-03-16 23:59:59")


def test_a_complaint_received_on_a_saturday_counts_from_the_monday():
    received = at("2026-03-07 10:00")  # a Saturday: deemed received on Monday the 9th
    assert clock.resolve_due(received, DEFAULT, SITE) == at("2026-03-30 23:59:59")
    # one received on that Monday has the same deadline
    assert clock.resolve_due(at("2026-03-09 08:00"), DEFAULT, SITE) == at("2026-03-30 23:59:59")
    assert clock.ack_due(received, DEFAULT) == at("2026-03-08 10:00")


def test_a_complaint_received_on_a_holiday_counts_from_the_next_working_day():
    days = clock.Calendar("UTC", frozenset({dt.date(2026, 12, 25), dt.date(2027, 1, 1)}))
    received = at("2026-12-25 10:00")  # Christmas, a Friday: deemed received Monday 28th
    # Tue 29, Wed 30, Thu 31 (3), Fri 1 Jan is a holiday, Mon 4 .. Fri 8 (8),
    # Mon 11 .. Fri 15 (13), Mon 18 (14), Tue 19 (15)
    assert clock.resolve_due(received, DEFAULT, days) == at("2027-01-19 23:59:59")
    assert days.next_working_day(dt.date(2026, 12, 25)) == dt.date(2026, 12, 28)


def test_the_day_of_receipt_is_the_day_it_was_at_23_59():
    friday_late = at("2026-03-06 23:59")
    saturday_early = at("2026-03-07 00:00")
    assert clock.resolve_due(friday_late, DEFAULT, SITE) == at("2026-03-27 23:59:59")
    assert clock.resolve_due(saturday_early, DEFAULT, SITE) == at("2026-03-30 23:59:59")
    assert clock.response_due(friday_late, DEFAULT, SITE) == at("2026-03-13 23:59:59")
    assert clock.response_due(saturday_early, DEFAULT, SITE) == at("2026-03-16 23:59:59")


def test_the_days_are_the_sites_in_its_time_zone():
    new_york = clock.Calendar("America/New_York")
    # Saturday 04:30 UTC is still Friday 23:30 in New York: a Friday complaint there
    received = at("2026-03-07 04:30")
    # Friday the 27th ends at 23:59:59 New York summer time (from 8 March), 03:59:59 UTC
    assert clock.resolve_due(received, DEFAULT, new_york) == at("2026-03-28 03:59:59")
    assert clock.resolve_due(received, DEFAULT, SITE) == at("2026-03-30 23:59:59")
    # five working days after the New York Friday: Friday the 13th, end of day there
    assert clock.response_due(received, DEFAULT, new_york) == at("2026-03-14 03:59:59")
    # 24 hours are 24 hours, whatever the clocks on the wall did (DST began on the 8th)
    assert clock.ack_due(received, DEFAULT) == at("2026-03-08 04:30")


def test_each_deadline_is_met_late_overdue_or_open():
    received = at("2026-03-02 09:00")
    now = at("2026-03-04 10:00")
    found = clock.clock(received, policy=DEFAULT, calendar=SITE, now=now,
                        acknowledged_at=at("2026-03-03 09:00"))
    ack, respond, resolve = found.deadlines
    assert (ack.state, ack.describe) == (clock.MET, "met")  # at the due time exactly: met
    assert respond.state == clock.OPEN and respond.left == at("2026-03-09 23:59:59") - now
    assert respond.describe == "5 d 13 h left"
    assert resolve.state == clock.OPEN and not found.is_overdue
    assert found.get("escalation") is None  # not escalated: no escalation deadline
    late = clock.clock(received, policy=DEFAULT, calendar=SITE, now=now,
                       acknowledged_at=at("2026-03-03 09:02"))
    assert late.deadlines[0].state == clock.LATE
    assert late.deadlines[0].describe == "late by 2 min"
    missed = clock.clock(received, policy=DEFAULT, calendar=SITE, now=now)
    assert missed.deadlines[0].state == clock.OVERDUE and missed.is_overdue
    assert missed.deadlines[0].describe == "overdue by 1 d 1 h"
    assert missed.summary.startswith("Acknowledge: overdue")


def test_an_escalation_has_its_own_48_hours():
    received = at("2026-03-02 09:00")
    found = clock.clock(received, policy=DEFAULT, calendar=SITE, now=at("2026-03-06 12:00"),
                        acknowledged_at=received, responded_at=received,
                        escalated_at=at("2026-03-03 10:00"))
    escalation = found.get("escalation")
    assert escalation is not None and escalation.due_at == at("2026-03-05 10:00")
    assert escalation.state == clock.OVERDUE and [d.key for d in found.overdue] == ["escalation"]
    answered = clock.clock(received, policy=DEFAULT, calendar=SITE, now=at("2026-03-06 12:00"),
                           escalated_at=at("2026-03-03 10:00"),
                           escalation_answered_at=at("2026-03-05 09:00"),
                           acknowledged_at=received, responded_at=received)
    assert answered.get("escalation").state == clock.MET and not answered.is_overdue


def test_a_policy_of_its_own_changes_every_deadline():
    rules = clock.Policy(ack_hours=4, response_days=2, resolve_working_days=1,
                         escalation_hours=1)
    received = at("2026-03-06 16:00")  # Friday
    assert clock.ack_due(received, rules) == at("2026-03-06 20:00")
    assert clock.response_due(received, rules, SITE) == at("2026-03-10 23:59:59")
    assert clock.resolve_due(received, rules, SITE) == at("2026-03-09 23:59:59")  # Monday
    assert clock.escalation_due(received, rules) == at("2026-03-06 17:00")


def test_settings_are_read_as_written_and_a_bad_one_names_its_variable():
    assert clock.policy_from(ack_hours="", response_days=None) == clock.Policy()
    assert clock.policy_from(ack_hours=" 36 ", resolve_working_days=10) == clock.Policy(
        ack_hours=36, resolve_working_days=10)
    for name, variable, bad in (("ack_hours", "QM_COMPLAINT_ACK_HOURS", "a day"),
                                ("response_days", "QM_COMPLAINT_RESPONSE_DAYS", "0"),
                                ("resolve_working_days", "QM_COMPLAINT_RESOLVE_WORKING_DAYS",
                                 "-3"),
                                ("escalation_hours", "QM_COMPLAINT_ESCALATION_HOURS",
                                 "100000")):
        with pytest.raises(ValueError, match=variable):
            clock.policy_from(**{name: bad})


def test_span_reads_in_the_two_largest_units():
    assert clock.span(dt.timedelta(days=2, hours=4, minutes=5)) == "2 d 4 h"
    assert clock.span(dt.timedelta(hours=5, minutes=10)) == "5 h 10 min"
    assert clock.span(dt.timedelta(minutes=3, seconds=40)) == "3 min"
    assert clock.span(dt.timedelta(days=3)) == "3 d"
