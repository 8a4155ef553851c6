"""Competency gaps and level suggestions: pure arithmetic, no database, no web framework.

A competency matrix says which level of each competency a role requires; a skills record says which
level a person holds. The difference is the list of gaps that drives training and coaching
(ISO 18295-1 6.3). Kept free of storage so the rules can be read, tested and reused in one place:
the services load the rows, call these functions and save or show the result.

Levels are integers on a scale 0..top; the default scale has five steps, ``DEFAULT_LEVELS``.
A level is never inferred silently: ``suggest_level`` only *proposes* one from QA evidence (the
points earned on scoring-form questions tagged with the competency) for an assessor to confirm.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from qm.errors import InvalidInput

DEFAULT_LEVELS: tuple[str, ...] = ("none", "aware", "practising", "competent", "expert")
"""Names of the default scale, indexed by level: 0 none .. 4 expert."""

DEFAULT_THRESHOLDS: tuple[Decimal, ...] = (
    Decimal("0.40"),
    Decimal("0.60"),
    Decimal("0.80"),
    Decimal("0.95"),
)
"""Minimum share of points for levels 1..4: a share of 0.79 is level 2, 0.80 is level 3."""

_SHARE_PLACES = Decimal("0.0001")


# --- Gaps -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """A required competency held below its required level.

    ``current`` is None when the competency was never assessed: shown differently from a
    level-0 assessment, but counted as 0 when measuring the gap.
    """

    code: str
    required: int
    current: int | None

    @property
    def short_by(self) -> int:
        """How many levels are missing: required minus the current level (None counts as 0)."""
        return self.required - (self.current or 0)


def gaps(required: Mapping[str, int], current: Mapping[str, int | None]) -> list[Gap]:
    """One ``Gap`` per required code whose current level is below the required one.

    A code missing from ``current`` or mapped to None counts as level 0. Codes assessed but not
    required are ignored: a gap is only measured against a requirement. The largest gaps come
    first (``short_by`` descending), then by code, so the order is the same on every call.
    """
    found = [
        Gap(code=code, required=level, current=current.get(code))
        for code, level in required.items()
        if (current.get(code) or 0) < level
    ]
    found.sort(key=lambda gap: (-gap.short_by, gap.code))
    return found


@dataclass(frozen=True)
class Goal:
    """The next step for an agent: one level up on the competency of their largest gap."""

    code: str
    current: int | None
    target: int  # one level above the current one (None counts as 0), never above required
    required: int


def next_goal(found: Sequence[Gap]) -> Goal | None:
    """The step to take next: on the largest gap (the first of ``gaps``'s order), one level
    above the current level. One step rather than the whole gap, because a goal an agent can
    reach before the next assessment is one they work on; None when there is no gap."""
    if not found:
        return None
    first = found[0]
    return Goal(first.code, first.current, min(first.required, (first.current or 0) + 1),
                first.required)


# --- Levels -----------------------------------------------------------------------------------


def check_level(level: int, top: int) -> int:
    """Return ``level`` if it is on the scale 0..top; otherwise refuse it with ``InvalidInput``.

    ``InvalidInput`` because a level usually comes from a form or an import a person filled in;
    a negative ``top`` is a programming error and a ``ValueError``.
    """
    if top < 0:
        raise ValueError(f"The top of a scale cannot be negative (got {top}).")
    if not 0 <= level <= top:
        raise InvalidInput(f"Level {level} is off the scale 0 to {top}.")
    return level


def level_name(level: int, names: Sequence[str] = DEFAULT_LEVELS) -> str:
    """The name of ``level`` on a scale whose names are ``names`` (level 0 first).

    An off-scale level raises ``InvalidInput`` (see ``check_level``) rather than an
    ``IndexError``, and a negative level is never read from the end of the list.
    """
    if not names:
        raise ValueError("A scale needs at least one level name.")
    return names[check_level(level, len(names) - 1)]


# --- Suggestions from QA evidence -------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """Points on one answered scoring-form question tagged with the competency.

    ``possible`` must be more than 0 and ``0 <= earned <= possible``; N/A answers carry no
    points and should not be passed in.
    """

    at: datetime
    earned: Decimal
    possible: Decimal


@dataclass(frozen=True)
class Suggestion:
    """A proposed level and the evidence behind it.

    ``n`` is the number of answers used (at most ``last``); ``share`` is the share of points over
    them, rounded to 4 places (None when there were none). ``enough`` is False and ``level``
    None when ``n`` is below the minimum: too little evidence to propose anything.
    """

    level: int | None
    n: int
    share: Decimal | None
    enough: bool


def _check_thresholds(thresholds: Sequence[Decimal]) -> None:
    for t in thresholds:
        if not Decimal(0) <= t <= Decimal(1):
            raise ValueError(f"Every threshold must be between 0 and 1; {t} is not.")
    for lower, upper in zip(thresholds, thresholds[1:], strict=False):
        if not lower < upper:
            raise ValueError(
                f"Thresholds must be strictly increasing; {upper} does not exceed {lower}."
            )


def _check_answer(answer: Answer) -> None:
    if answer.possible <= 0:
        raise ValueError(
            f"The answer at {answer.at.isoformat()} has {answer.possible} possible points; "
            "it must be more than 0."
        )
    if answer.earned < 0 or answer.earned > answer.possible:
        raise ValueError(
            f"The answer at {answer.at.isoformat()} earned {answer.earned} points; "
            f"it must be between 0 and {answer.possible}."
        )


def level_for_share(share: Decimal, thresholds: Sequence[Decimal] = DEFAULT_THRESHOLDS) -> int:
    """The number of thresholds ``share`` reaches (``>=``): the level a share of points earns."""
    _check_thresholds(thresholds)
    return _level(share, thresholds)


def _level(share: Decimal, thresholds: Sequence[Decimal]) -> int:
    return sum(1 for t in thresholds if share >= t)


def suggest_level(
    answers: Iterable[Answer],
    *,
    last: int = 20,
    min_answers: int = 5,
    thresholds: Sequence[Decimal] = DEFAULT_THRESHOLDS,
) -> Suggestion:
    """Propose a level from the share of points earned on the ``last`` most recent answers.

    Only recent evidence counts, so a level follows the person's current practice rather than
    their first weeks. Answers are ordered by ``at`` with a stable sort: of two answers with the
    same ``at``, the one later in ``answers`` counts as the more recent (evidence is usually
    listed in the order it was recorded). The share is ``sum(earned) / sum(possible)`` over
    the kept answers, rounded to 4 places half-up, and the level is the number of thresholds
    that rounded share reaches, so the level always agrees with the share shown next to it.

    Raises ``ValueError`` for thresholds not strictly increasing within [0, 1], for ``last`` or
    ``min_answers`` below 1, for ``min_answers`` above ``last`` (never enough evidence), and for
    an answer whose points are impossible (it is named by its time).
    """
    _check_thresholds(thresholds)
    if last < 1:
        raise ValueError(f"At least one answer must be considered (last is {last}).")
    if min_answers < 1:
        raise ValueError(f"The minimum number of answers must be at least 1 (it is {min_answers}).")
    if min_answers > last:
        raise ValueError(
            f"The minimum number of answers ({min_answers}) cannot exceed the number "
            f"considered ({last}): no suggestion could ever be made."
        )
    listed = list(answers)
    for answer in listed:
        _check_answer(answer)
    kept = sorted(listed, key=lambda a: a.at)[-last:]
    n = len(kept)
    if n == 0:
        return Suggestion(level=None, n=0, share=None, enough=False)
    earned = sum((a.earned for a in kept), Decimal(0))
    possible = sum((a.possible for a in kept), Decimal(0))
    share = (earned / possible).quantize(_SHARE_PLACES, rounding=ROUND_HALF_UP)
    if n < min_answers:
        return Suggestion(level=None, n=n, share=share, enough=False)
    return Suggestion(level=_level(share, thresholds), n=n, share=share, enough=True)
