"""A team lead's weekly digest (`qm report digest --lead USER`): what needs their attention.

The core knows no domain, so the digest asks the domains the same way the home page does: every
provider in ``app.extensions["qm"]["dashboard"]`` is called as ``provider(session, lead)`` (they
take the user explicitly, scoped by the lead's permissions, so nothing of another team can
appear), and every provider in ``app.extensions["qm"]["digest"]`` as
``provider(session, lead, week)`` for what belongs to a week rather than to now (critical fails
of the week); both return cards (dicts: title, value, and optionally detail lines, overdue,
link). A card whose value is zero or empty asks for nothing and is left out: a digest lists
only what needs the lead. The providers build links with ``url_for``, so they run inside a
request context of the app, never as a logged-in user."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from qm.timestamps import today_in

_WEEK = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True)
class Week:
    """An ISO week: Monday ``start`` to Sunday ``end``, both days included."""

    year: int
    number: int

    @property
    def start(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.number, 1)

    @property
    def end(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.number, 7)

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @classmethod
    def parse(cls, text: str) -> Week:
        """``2026-W48``; a ValueError that names the format otherwise."""
        match = _WEEK.fullmatch(text.strip())
        if match:
            year, number = int(match.group(1)), int(match.group(2))
            try:
                dt.date.fromisocalendar(year, number, 1)
            except ValueError:
                pass
            else:
                return cls(year, number)
        raise ValueError(f"A week is written as an ISO week such as 2026-W48, not {text!r}.")

    @classmethod
    def of(cls, day: dt.date) -> Week:
        year, number, _ = day.isocalendar()
        return cls(year, number)


@dataclass
class Digest:
    lead: str
    week: Week
    items: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"lead": self.lead, "week": str(self.week),
                "from": self.week.start.isoformat(), "to": self.week.end.isoformat(),
                "items": [{"title": i["title"], "value": i["value"],
                           "overdue": bool(i.get("overdue")),
                           "detail": list(i.get("detail") or []), "link": i.get("link")}
                          for i in self.items]}

    def as_text(self) -> str:
        lines = [f"Weekly digest for {self.lead}, {self.week} "
                 f"({self.week.start:%Y-%m-%d} to {self.week.end:%Y-%m-%d})", ""]
        if not self.items:
            lines.append("Nothing needs your attention.")
        for item in self.items:
            mark = " [OVERDUE]" if item.get("overdue") else ""
            lines.append(f"* {item['title']}: {item['value']}{mark}")
            lines += [f"    - {line}" for line in item.get("detail") or []]
            if item.get("link"):
                lines.append(f"    {item['link']}")
        return "\n".join(lines) + "\n"


def needs_attention(card: dict[str, Any]) -> bool:
    """A card that asks for something: a count above zero (a goal's text counts too)."""
    value = card.get("value")
    return bool(value) and value != "0"


def build(app: Any, session: Any, lead: Any, week: Week | None = None) -> Digest:
    """The digest of ``lead`` for ``week`` (default: this week in the lead's zone), from the
    domains' providers, run with ``session`` inside a request context of ``app``."""
    week = week or Week.of(today_in(getattr(lead, "timezone", None) or "UTC"))
    providers = app.extensions["qm"]
    items: list[dict[str, Any]] = []
    with app.test_request_context("/"):
        for provider in providers.get("dashboard", []):
            items.extend(provider(session, lead))
        for provider in providers.get("digest", []):
            items.extend(provider(session, lead, week))
    return Digest(lead.username, week, [i for i in items if needs_attention(i)])
