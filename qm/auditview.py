"""The audit log as people read it: which fields an entry changed, in words, and the filters of
the log's page. Pure: no Flask, no database; the page looks the names up and passes them in.

An entry keeps a record's snapshot before and after a change (``qm.audit``). What a reader wants
is the difference: ``team_id: none → Billing (#1)``, not two dictionaries of twenty fields. So:

- an update lists only the fields whose value differs; a dictionary changed on both sides (an
  evaluation's answers) lists only its keys that differ, as ``answers.empathy: 3 → 4``;
- a creation (no "before") lists the fields it set, leaving out the empty ones;
- the row's ``id`` and ``version`` are bookkeeping, never a change;
- an id of a person or a team shows the name (when the caller found it) and the id; an id the
  caller could not name stays the number;
- ``None`` reads "none", an empty text, list or dictionary "empty", ``True``/``False`` "yes"/"no",
  a dictionary ``greeting: yes, verify: no``, a list ``[6.3.2, 6.3.4]``, a digest of personal
  text (``qm.audit.digest``) "text of 385 characters (sha256 cb76a496…)", a UTC time the
  viewer's local time (the stored value on hover);
- a value longer than ``SHORT`` characters is cut, and the whole text kept for a details element.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

SHORT = 48
"""The longest value a line shows in full; a longer one is cut, the rest one click away."""

BOOKKEEPING = frozenset({"id", "version"})
"""Top-level fields that are never shown as a change: the row's id (the record column names it)
and its optimistic-locking version."""

# Fields that hold the id of a person (users) or a team (teams), as the models name them: every
# foreign key to users.id or teams.id is one of these (tests/core/test_audit_page.py checks it).
USER_FIELDS = frozenset({
    "actor_id", "agent_id", "assessor_id", "author_id", "coach_id", "evaluator_id", "expert_id",
    "lead_id", "owner_id", "user_id",
    # lists of people
    "agent_ids", "evaluator_ids", "lead_ids", "participants", "recipients", "user_ids",
})
TEAM_FIELDS = frozenset({"team_id", "team_ids", "led_team_ids"})

_UTC_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ANCHOR = re.compile(r"([0-9]{1,19}):([0-9a-fA-F]{64})")
_MISSING = object()

Names = Mapping[tuple[str, int], str]
"""(kind, id) -> name: ``("users", 8) -> "Amira Haddad"``, ``("teams", 1) -> "Billing"``."""


def reference_kind(field: str) -> str | None:
    """"users" or "teams" when ``field`` holds such ids (``created_by_id``, ``team_id``)."""
    key = field.rsplit(".", 1)[-1]
    if key in TEAM_FIELDS:
        return "teams"
    if key in USER_FIELDS or key.endswith("_by_id"):
        return "users"
    return None


@dataclass(frozen=True)
class Value:
    """One side of a change as shown: ``text`` on the line; ``full`` the whole value where the
    line shows less (``cut``: shortened) or another form of it (a time in the viewer's zone)."""

    text: str
    full: str = ""
    cut: bool = False


@dataclass(frozen=True)
class Change:
    """A field and its value before and after; ``before`` is None where the entry created the
    record (there was no before)."""

    field: str
    before: Value | None
    after: Value

    @property
    def line(self) -> str:
        if self.before is None:
            return f"{self.field}: {self.after.text}"
        return f"{self.field}: {self.before.text} → {self.after.text}"


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _is_digest(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"sha256", "chars"}


def _diff(before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each field shown; before is ``_MISSING`` on a creation."""
    if not isinstance(before, dict) and before is not None:
        before = {"value": before}
    if not isinstance(after, dict) and after is not None:
        after = {"value": after}
    if before is None:
        return [(k, _MISSING, v) for k, v in (after or {}).items()
                if k not in BOOKKEEPING and not _empty(v)]
    after = after or {}
    keys = [*after, *(k for k in before if k not in after)]
    return [change for k in keys if k not in BOOKKEEPING
            for change in _field_diff(k, before.get(k), after.get(k))]


def _field_diff(field: str, before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    if before == after:
        return []
    if (isinstance(before, dict) and isinstance(after, dict) and before and after
            and not _is_digest(before) and not _is_digest(after)):
        keys = [*after, *(k for k in before if k not in after)]
        return [change for k in keys
                for change in _field_diff(f"{field}.{k}", before.get(k), after.get(k))]
    return [(field, before, after)]


def _ids(value: Any, kind: str | None, into: set[tuple[str, int]]) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if kind:
            into.add((kind, value))
    elif isinstance(value, list):
        for item in value:
            _ids(item, kind, into)
    elif isinstance(value, dict):
        for key, item in value.items():
            _ids(item, reference_kind(str(key)), into)


def referenced(before: Any, after: Any) -> set[tuple[str, int]]:
    """The (kind, id) pairs that ``changes(before, after)`` would name: gather them for a whole
    page, look them up in one query, pass the names to ``changes``."""
    wanted: set[tuple[str, int]] = set()
    for field, old, new in _diff(before, after):
        kind = reference_kind(field)
        for value in (old, new):
            if value is not _MISSING:
                _ids(value, kind, wanted)
    return wanted


def _text(value: Any, kind: str | None, names: Names, zone: ZoneInfo, nested: bool = False) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        name = names.get((kind, value)) if kind else None
        return f"{name} (#{value})" if name else str(value)
    if isinstance(value, str):
        if value == "":
            return "empty"
        if _UTC_TIME.fullmatch(value):
            return _local(value, zone)
        return value
    if isinstance(value, list):
        if not value:
            return "empty"
        return "[" + ", ".join(_text(v, kind, names, zone, True) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "empty"
        if _is_digest(value):
            return f"text of {value['chars']} characters (sha256 {str(value['sha256'])[:8]}…)"
        inner = ", ".join(f"{k}: {_text(v, reference_kind(str(k)), names, zone, True)}"
                          for k, v in value.items())
        return "{" + inner + "}" if nested else inner
    return str(value)


def _local(iso: str, zone: ZoneInfo) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _value(value: Any, kind: str | None, names: Names, zone: ZoneInfo) -> Value:
    text = _text(value, kind, names, zone)
    if len(text) > SHORT:
        return Value(text[:SHORT - 1].rstrip() + "…", text, cut=True)
    if isinstance(value, str) and text != value and value:
        return Value(text, value)  # a time in the viewer's zone; the stored UTC one on hover
    return Value(text)


def changes(before: Any, after: Any, names: Names | None = None,
            zone: str = "UTC") -> list[Change]:
    """What an entry changed, field by field, as the log and a record's history show it."""
    names = names or {}
    tz = ZoneInfo(zone or "UTC")
    out = []
    for field, old, new in _diff(before, after):
        kind = reference_kind(field)
        out.append(Change(field, None if old is _MISSING else _value(old, kind, names, tz),
                          _value(new, kind, names, tz)))
    return out


# --- the log page's filters --------------------------------------------------------------------

FILTER_PARAMS = ("from", "to", "actor", "entity_type", "entity_id", "action")
SYSTEM_ACTOR = "system"
"""The actor filter's word for entries no user made (the CLI, the demo, retention, a failed
login): they have no actor id."""

_LONGEST = {"actor": 120, "entity_type": 64, "entity_id": 64, "action": 64}
EARLIEST_DAY, LATEST_DAY = dt.date(1970, 1, 1), dt.date(2099, 12, 31)


@dataclass(frozen=True)
class AuditFilter:
    """What the log's page was asked for. ``start``/``end``: UTC bounds (end excluded) of the
    days ``day_from``..``day_to`` in the viewer's zone. ``action`` ending in "." is a prefix."""

    day_from: dt.date | None = None
    day_to: dt.date | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    actor: str = ""
    entity_type: str = ""
    entity_id: str = ""
    action: str = ""

    @property
    def action_is_prefix(self) -> bool:
        return self.action.endswith(".")

    @property
    def system_actor(self) -> bool:
        return self.actor == SYSTEM_ACTOR

    def params(self) -> dict[str, str]:
        """The filters as query parameters, to carry to the next page and the export."""
        values = {"from": self.day_from.isoformat() if self.day_from else "",
                  "to": self.day_to.isoformat() if self.day_to else "",
                  "actor": self.actor, "entity_type": self.entity_type,
                  "entity_id": self.entity_id, "action": self.action}
        return {k: v for k, v in values.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.params())


def _day(raw: str, label: str) -> dt.date:
    try:
        if not _DAY.fullmatch(raw):
            raise ValueError
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"The {label} date {raw!r} is not a day: write it as YYYY-MM-DD, "
                         "such as 2026-03-31.") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError(f"The {label} date {raw} is out of range: it must be between "
                         f"{EARLIEST_DAY} and {LATEST_DAY}.")
    return day


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def as_day(raw: str | None) -> str:
    """``raw`` when it is a day (YYYY-MM-DD) a date field can show again, else "": a page that
    refused a date says so in words, and the field starts empty."""
    try:
        return _day((raw or "").strip(), "").isoformat()
    except ValueError:
        return ""


def parse_filter(args: Mapping[str, str], zone: str = "UTC") -> AuditFilter:
    """The page's query parameters as an ``AuditFilter``, or ``ValueError`` saying in words what
    is wrong (a date that is no day, a "from" after the "to", a text longer than any stored)."""
    text = {k: (args.get(k) or "").strip() for k in FILTER_PARAMS}
    for key, longest in _LONGEST.items():
        if len(text[key]) > longest:
            raise ValueError(f"The filter {key!r} is longer than any stored value "
                             f"({longest} characters at most).")
    tz = ZoneInfo(zone or "UTC")
    day_from = _day(text["from"], "from") if text["from"] else None
    day_to = _day(text["to"], "to") if text["to"] else None
    if day_from and day_to and day_from > day_to:
        raise ValueError(f"The from date ({day_from}) is after the to date ({day_to}).")
    return AuditFilter(
        day_from=day_from, day_to=day_to,
        start=_midnight(day_from, tz) if day_from else None,
        end=_midnight(day_to + dt.timedelta(days=1), tz) if day_to else None,
        actor=text["actor"], entity_type=text["entity_type"], entity_id=text["entity_id"],
        action=text["action"])


def action_groups(actions: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Actions grouped by what they are about: ``[("evaluation.", ["evaluation.created", ...])]``
    for the action filter, where a group's prefix selects all of them."""
    groups: dict[str, list[str]] = {}
    for action in sorted(set(actions)):
        prefix = action.split(".", 1)[0] + "." if "." in action else ""
        groups.setdefault(prefix, []).append(action)
    return sorted(groups.items())


def parse_anchor(raw: str) -> tuple[int, str]:
    """``SEQ:HASH`` as the page shows the head (and ``qm audit head`` prints it)."""
    match = _ANCHOR.fullmatch(raw.strip())
    if not match or not 1 <= int(match[1]) <= 2**63 - 1:
        raise ValueError("The head noted earlier is written SEQ:HASH, such as 1234:9f86d0…, "
                         "with the whole 64-character hash, as this page shows it.")
    return int(match[1]), match[2].lower()
