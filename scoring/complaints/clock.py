"""A complaint's clock (ISO 10002 practice): when each step is due, and whether it was done in
time. Pure: no database, no Flask; the register, the pages, the API and the CLI all ask here.

Four deadlines, each configurable (``Policy``, from the ``QM_COMPLAINT_*`` settings):

* **acknowledge** within ``ack_hours`` (24) hours of receipt: elapsed hours, day or night;
* **respond** (a first substantive answer) within ``response_days`` (5) working days: by the
  end of the fifth working day after the day of receipt (ISO 10002 practice's common target,
  "first substantive response within 5 working days");
* **resolve** within ``resolve_working_days`` (15) working days: by the end of the fifteenth
  working day (Monday to Friday, not a holiday of the site's calendar) after the day of
  receipt, in the site's time zone. A complaint received on a day that is not a working day
  (a Saturday, a holiday) is deemed received on the next working day, the usual rule for
  "working days" targets; the hours of the day do not matter (received at 23:59 on a Friday is
  received on that Friday);
* **answer an escalation** within ``escalation_hours`` (48) hours of the escalation.

A deadline is met when its step was done at or before its due time ("met"), "late" when done
after it, "overdue" while not done and past it, "open" while not done and not yet due. The
days are the site's (``Calendar.zone``: ``QM_TIMEZONE``), whoever looks: a complaint is due
on the same day for a viewer in another zone; pages show that instant in the viewer's zone.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

ACK_HOURS, RESPONSE_DAYS, RESOLVE_WORKING_DAYS, ESCALATION_HOURS = 24, 5, 15, 48
MAX_HOURS, MAX_DAYS = 8_760, 366
"""The longest a deadline may be set to: a year. A longer one is a typo (hours for minutes)."""

# The setting behind each field of ``Policy``, named in the message about a bad value.
VARIABLES = {
    "ack_hours": ("QM_COMPLAINT_ACK_HOURS", MAX_HOURS),
    "response_days": ("QM_COMPLAINT_RESPONSE_DAYS", MAX_DAYS),
    "resolve_working_days": ("QM_COMPLAINT_RESOLVE_WORKING_DAYS", MAX_DAYS),
    "escalation_hours": ("QM_COMPLAINT_ESCALATION_HOURS", MAX_HOURS),
}

# The states of one deadline
MET, LATE, OVERDUE, OPEN = "met", "late", "overdue", "open"

LAST_SECOND = dt.time(23, 59, 59)
"""A day's deadline is its last second, so that "due 2026-03-20 23:59:59" reads as the day."""


@dataclass(frozen=True)
class Policy:
    """How long each step may take."""

    ack_hours: int = ACK_HOURS
    response_days: int = RESPONSE_DAYS
    resolve_working_days: int = RESOLVE_WORKING_DAYS
    escalation_hours: int = ESCALATION_HOURS


def policy_from(**raw: object) -> Policy:
    """A ``Policy`` from settings as written (``ack_hours="24"``; a number is taken too; empty
    or None: the default). A bad value is a ``ValueError`` that names its variable."""
    values: dict[str, int] = {}
    for name, value in raw.items():
        if name not in VARIABLES:
            raise TypeError(f"no complaint clock setting {name!r}")
        variable, maximum = VARIABLES[name]
        text = "" if value is None else str(value).strip()
        if not text:
            continue
        try:
            number = int(text)
        except ValueError:
            number = 0
        if not 1 <= number <= maximum:
            raise ValueError(f"{variable} must be a whole number from 1 to {maximum}, "
                             f"got {text!r}")
        values[name] = number
    return Policy(**values)


@dataclass(frozen=True)
class Calendar:
    """The site's days: its time zone and its holidays (dates in that zone)."""

    zone: str = "UTC"
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        ZoneInfo(self.zone or "UTC")  # an unknown zone fails here, not at the first deadline

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone or "UTC")

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, day: dt.date) -> dt.date:
        """``day`` itself when it is a working day, else the first working day after it."""
        for _ in range(MAX_DAYS * 2):
            if self.is_working_day(day):
                return day
            day += dt.timedelta(days=1)
        raise ValueError("the calendar has no working day in two years: check the holidays")

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``day`` (deemed to be the next working day when
        it is not one)."""
        day = self.next_working_day(day)
        for _ in range(count):
            day = self.next_working_day(day + dt.timedelta(days=1))
        return day

    def local_day(self, at: dt.datetime) -> dt.date:
        return _aware(at).astimezone(self.tz).date()

    def end_of(self, day: dt.date) -> dt.datetime:
        """The last second of ``day`` in the site's zone, in UTC."""
        return dt.datetime.combine(day, LAST_SECOND, tzinfo=self.tz).astimezone(dt.UTC)


def _aware(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError("a complaint's times are aware datetimes (UTC)")
    return at


def ack_due(received_at: dt.datetime, policy: Policy) -> dt.datetime:
    return _aware(received_at).astimezone(dt.UTC) + dt.timedelta(hours=policy.ack_hours)


def response_due(received_at: dt.datetime, policy: Policy, calendar: Calendar) -> dt.datetime:
    day = calendar.add_working_days(calendar.local_day(received_at), policy.response_days)
    return calendar.end_of(day)


def resolve_due(received_at: dt.datetime, policy: Policy, calendar: Calendar) -> dt.datetime:
    day = calendar.add_working_days(calendar.local_day(received_at),
                                    policy.resolve_working_days)
    return calendar.end_of(day)


def escalation_due(escalated_at: dt.datetime, policy: Policy) -> dt.datetime:
    return _aware(escalated_at).astimezone(dt.UTC) + dt.timedelta(hours=policy.escalation_hours)


LABELS = {"acknowledge": "Acknowledge", "respond": "Respond", "resolve": "Resolve",
          "escalation": "Answer the escalation"}


@dataclass(frozen=True)
class Deadline:
    """One step's deadline: when it is due, when it was done, and what that makes it."""

    key: str  # acknowledge, respond, resolve, escalation
    due_at: dt.datetime
    done_at: dt.datetime | None
    state: str  # met, late, overdue, open
    left: dt.timedelta | None  # due_at - now while not done (negative once overdue)

    @property
    def label(self) -> str:
        return LABELS[self.key]

    @property
    def describe(self) -> str:
        """The state in words: "met", "late by 3 h", "overdue by 2 d 4 h", "5 h 10 min left"."""
        if self.state == MET:
            return "met"
        if self.state == LATE:
            assert self.done_at is not None
            return f"late by {span(self.done_at - self.due_at)}"
        assert self.left is not None
        if self.state == OVERDUE:
            return f"overdue by {span(-self.left)}"
        return f"{span(self.left)} left"


def deadline(key: str, due_at: dt.datetime, done_at: dt.datetime | None,
             now: dt.datetime) -> Deadline:
    if done_at is not None:
        return Deadline(key, due_at, done_at, MET if done_at <= due_at else LATE, None)
    left = due_at - _aware(now)
    return Deadline(key, due_at, None, OVERDUE if left < dt.timedelta(0) else OPEN, left)


@dataclass(frozen=True)
class Clock:
    """A complaint's deadlines, in the order of its life."""

    deadlines: tuple[Deadline, ...]

    @property
    def overdue(self) -> list[Deadline]:
        return [d for d in self.deadlines if d.state == OVERDUE]

    @property
    def is_overdue(self) -> bool:
        return any(d.state == OVERDUE for d in self.deadlines)

    @property
    def next(self) -> Deadline | None:
        """The step not done yet that is due first (overdue ones come first by nature)."""
        waiting = [d for d in self.deadlines if d.done_at is None]
        return min(waiting, key=lambda d: d.due_at) if waiting else None

    def get(self, key: str) -> Deadline | None:
        return next((d for d in self.deadlines if d.key == key), None)

    @property
    def summary(self) -> str:
        """One line for a list: the first overdue step, else the next step, else all done."""
        overdue = self.overdue
        if overdue:
            first = min(overdue, key=lambda d: d.due_at)
            return f"{first.label}: {first.describe}"
        waiting = self.next
        if waiting is not None:
            return f"{waiting.label}: {waiting.describe}"
        late = [d for d in self.deadlines if d.state == LATE]
        return f"done ({len(late)} late)" if late else "done, every deadline met"


def clock(received_at: dt.datetime, *, policy: Policy, calendar: Calendar, now: dt.datetime,
          acknowledged_at: dt.datetime | None = None, responded_at: dt.datetime | None = None,
          resolved_at: dt.datetime | None = None, escalated_at: dt.datetime | None = None,
          escalation_answered_at: dt.datetime | None = None) -> Clock:
    """Every deadline of a complaint received at ``received_at``, as of ``now``. The
    escalation's only once it was escalated."""
    found = [deadline("acknowledge", ack_due(received_at, policy), acknowledged_at, now),
             deadline("respond", response_due(received_at, policy, calendar), responded_at, now),
             deadline("resolve", resolve_due(received_at, policy, calendar), resolved_at, now)]
    if escalated_at is not None:
        found.append(deadline("escalation", escalation_due(escalated_at, policy),
                              escalation_answered_at, now))
    return Clock(tuple(found))


def span(delta: dt.timedelta) -> str:
    """A duration in the two largest units that matter: "2 d 4 h", "5 h 10 min", "3 min"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


# --- many complaints at once: the timeliness report -------------------------------------------

@dataclass
class Tally:
    """How one step's deadlines stand over a group of complaints: how many were met, done
    late, are overdue (not done, past due) and still open (not done, not yet due)."""

    met: int = 0
    late: int = 0
    overdue: int = 0
    open: int = 0

    def add(self, state: str) -> None:
        if state not in (MET, LATE, OVERDUE, OPEN):
            raise ValueError(f"no deadline state {state!r}")
        setattr(self, state, getattr(self, state) + 1)

    @property
    def due(self) -> int:
        """The deadlines that have a verdict: done (in time or late), or past due."""
        return self.met + self.late + self.overdue

    @property
    def rate(self) -> float | None:
        return on_time_rate(self.met, self.late, self.overdue)


def on_time_rate(met: int, late: int, overdue: int) -> float | None:
    """The share of deadlines met, in percent, of those with a verdict: met / (met + late +
    overdue). A step not done and not yet due has none, so it is left out; None when no
    deadline has one (nothing to judge, which is not 0%)."""
    due = met + late + overdue
    return None if due == 0 else 100.0 * met / due


def working_days_taken(received_at: dt.datetime, done_at: dt.datetime,
                       calendar: Calendar) -> int:
    """On which working day after the day of receipt a step was done, counted as the
    deadlines count (``add_working_days``): 0 on the day of receipt, 1 on the next working day,
    and so on; a day that is not a working day (receipt or done on a Saturday, a holiday) is
    deemed the next working day. So a complaint resolved within ``resolve_working_days`` of
    them met its resolution deadline, and one resolved later did not (the one exception: a
    step done within the very last second of its due day, after ``LAST_SECOND``, is late by
    the clock and still counted on that day)."""
    day = calendar.next_working_day(calendar.local_day(received_at))
    end = calendar.next_working_day(calendar.local_day(done_at))
    taken = 0
    while day < end:
        day = calendar.next_working_day(day + dt.timedelta(days=1))
        taken += 1
    return taken


def mean_median(values: list[int]) -> tuple[float | None, float | None]:
    """The mean and the median of ``values`` (the middle one, or the mean of the two middle
    ones); (None, None) for none."""
    if not values:
        return None, None
    return statistics.fmean(values), float(statistics.median(values))
