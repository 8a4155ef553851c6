"""The pure parts of a draw: ISO weeks, dayparts, a reproducible rank and the stratified pick
(the standard library only; ``services`` explains the draw)."""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from qm.errors import InvalidInput

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


DAYPARTS = ((6, "night"), (12, "morning"), (18, "afternoon"), (24, "evening"))


WORK_DAYS = 5


def parse_week(text: str) -> dt.date:
    """The Monday of an ISO week written ``2026-W47``."""
    match = WEEK_RE.match(text.strip())
    if not match:
        raise InvalidInput(f"{text!r} is not an ISO week; write it like 2026-W47.",
                           {"week": "YYYY-Www"})
    try:
        return dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a week of that year.", {"week": "no such week"}) \
            from None


def week_label(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(monday: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(monday, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def daypart(moment: dt.datetime, tz: ZoneInfo) -> str:
    hour = moment.astimezone(tz).hour
    return next(name for limit, name in DAYPARTS if hour < limit)


@dataclass(frozen=True)
class Candidate:
    interaction_id: int
    agent_id: int
    team_id: int | None
    channel: str
    started_at: dt.datetime


def rank(salt: str, item: Any) -> int:
    """A pseudo-random, reproducible rank: the same salt and item give the same number on any
    machine, in any order of reading (unlike a shuffled list)."""
    return int.from_bytes(hashlib.blake2b(f"{salt}|{item}".encode(), digest_size=8).digest(),
                          "big")


def stratified_pick(candidates: Iterable[Candidate], n: int, salt: str,
                    stratum: Callable[[Candidate], Any]) -> list[Candidate]:
    """``n`` candidates, one stratum at a time in a random order, at random within a stratum.

    Every stratum is drawn from before any is drawn from twice, so a sample of ``n`` covers
    ``min(n, number of strata)`` strata. The order is by ``rank``, so the input's order does
    not matter, and keeping only each stratum's ``n`` best-ranked candidates beforehand (as
    ``run_sampling`` does to stay small) changes nothing.
    """
    strata: dict[Any, list[Candidate]] = defaultdict(list)
    for c in candidates:
        strata[stratum(c)].append(c)
    keys = sorted(strata, key=lambda k: rank(salt, repr(k)))
    for key in keys:
        strata[key].sort(key=lambda c: rank(salt, c.interaction_id), reverse=True)
    picked: list[Candidate] = []
    while len(picked) < n and any(strata[k] for k in keys):
        for key in keys:
            if strata[key] and len(picked) < n:
                picked.append(strata[key].pop())
    return picked


class Reservoir:
    """Per agent and stratum, only the ``size`` best-ranked candidates: a week of a large centre
    (hundreds of thousands of contacts) streams through in bounded memory."""

    def __init__(self, size: int, salt: Callable[[int], str],
                 stratum: Callable[[Candidate], Any]) -> None:
        self.size = size
        self.salt = salt
        self.stratum = stratum
        self.heaps: dict[tuple[int, Any], list[tuple[int, int, Candidate]]] = defaultdict(list)
        self.seen = 0

    def add(self, c: Candidate) -> None:
        self.seen += 1
        heap = self.heaps[(c.agent_id, self.stratum(c))]
        entry = (-rank(self.salt(c.agent_id), c.interaction_id), c.interaction_id, c)
        if len(heap) < self.size:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)

    def by_agent(self) -> dict[int, list[Candidate]]:
        out: dict[int, list[Candidate]] = defaultdict(list)
        for (agent_id, _stratum), heap in self.heaps.items():
            out[agent_id].extend(c for _r, _i, c in heap)
        return out
