"""Did a coaching session help? Scores before and after it: pure arithmetic, no database.

For each held session, the agent's evaluation scores on the session's focus (questions or
competencies) are split into a window **before** the session and a window **after** it
(``WINDOW_DAYS`` each by default). ``compare`` turns the two lists into an ``Effect``: how many
evaluations each side has, their means, the difference (after - before) with a 95% confidence
interval, and a plain verdict:

* **improved**: the whole interval lies above zero;
* **worse**: the whole interval lies below zero;
* **no clear change**: the interval includes zero;
* **too little data**: a side has fewer than ``MIN_N`` evaluations (but at least one);
* **no evaluations before** / **no evaluations after** / **no evaluations**: a side, or both, is
  empty. The page says so rather than show a number.

The interval is Welch's t interval for the difference of two means: the two sides may differ in
spread and size, so neither a pooled variance nor equal n is assumed. ``share_improved`` sums
the verdicts up per lead or per team: the share of judged sessions followed by improvement, with
its n, and no share at all while there are too few sessions to mean anything.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

WINDOW_DAYS = 30
"""Days before and after a session whose evaluations count, by default."""

MIN_N = 3
"""Fewest evaluations on each side for a verdict. With one evaluation a side has no variance
at all, and with two its variance rests on a single difference, so the interval would be
either undefined or so wide (t = 12.7 at one degree of freedom) that it says nothing: below 3
the honest answer is "too little data"."""

CONFIDENCE = 0.95

IMPROVED = "improved"
NO_CLEAR_CHANGE = "no clear change"
WORSE = "worse"
TOO_LITTLE_DATA = "too little data"
NONE_BEFORE = "no evaluations before"
NONE_AFTER = "no evaluations after"
NONE = "no evaluations"
JUDGED = (IMPROVED, NO_CLEAR_CHANGE, WORSE)
"""The verdicts that rest on an interval; the others say why there is none."""


def split_window(scored: Sequence[tuple[date, float]], held_on: date,
                 before_days: int = WINDOW_DAYS,
                 after_days: int = WINDOW_DAYS) -> tuple[list[float], list[float]]:
    """The scores of ``(evaluated_on, score)`` pairs that fall before and after a session.

    Before is ``[held_on - before_days, held_on)``, after is ``(held_on, held_on + after_days]``;
    input order is kept. The day of the session itself belongs to neither: an evaluation that
    day may be of a call taken before the talk or after it, and dates alone cannot tell which.
    """
    if before_days < 1 or after_days < 1:
        raise ValueError(f"A window is at least 1 day (got {before_days} before, "
                         f"{after_days} after).")
    start, end = held_on - timedelta(days=before_days), held_on + timedelta(days=after_days)
    before = [score for day, score in scored if start <= day < held_on]
    after = [score for day, score in scored if held_on < day <= end]
    return before, after


@dataclass(frozen=True)
class Effect:
    """Scores around one session. Means are None for an empty side, the difference (after -
    before) when either side is empty, the interval unless both sides have at least ``min_n``."""

    n_before: int
    n_after: int
    mean_before: float | None
    mean_after: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    verdict: str
    reason: str


def compare(before: Sequence[float], after: Sequence[float], *, min_n: int = MIN_N) -> Effect:
    """Compare the scores before a session with those after it (see the module's rules).

    When neither side varies (every score before equal, every score after equal) the interval
    has no width: it is the difference itself, and the verdict follows its sign. That is rare
    with real scores and the data leave no doubt then, so it is not called "no clear change".
    """
    if min_n < 2:
        raise ValueError(f"At least 2 evaluations a side are needed for a variance (got {min_n}).")
    before, after = [float(x) for x in before], [float(x) for x in after]
    if not all(math.isfinite(x) for x in (*before, *after)):
        raise ValueError("Scores must be finite numbers.")
    n_b, n_a = len(before), len(after)
    mean_b = statistics.fmean(before) if before else None
    mean_a = statistics.fmean(after) if after else None
    diff = mean_a - mean_b if mean_a is not None and mean_b is not None else None

    def effect(verdict: str, reason: str, low: float | None = None,
               high: float | None = None) -> Effect:
        return Effect(n_b, n_a, mean_b, mean_a, diff, low, high, verdict, reason)

    if not before and not after:
        return effect(NONE, "No evaluations before or after the session.")
    if not before:
        return effect(NONE_BEFORE, "No evaluations before the session to compare with.")
    if not after:
        return effect(NONE_AFTER, "No evaluations after the session yet.")
    if n_b < min_n or n_a < min_n:
        short = " and ".join(f"{_count(n)} {side}" for n, side in
                             ((n_b, "before"), (n_a, "after")) if n < min_n)
        return effect(TOO_LITTLE_DATA, f"Only {short} the session; at least {min_n} are "
                                       "needed on each side.")
    assert mean_b is not None and mean_a is not None and diff is not None
    low, high = welch_interval(before, after)
    verdict = IMPROVED if low > 0 else WORSE if high < 0 else NO_CLEAR_CHANGE
    move = {IMPROVED: "rose", WORSE: "fell", NO_CLEAR_CHANGE: "moved"}[verdict]
    tail = (", which includes no change" if verdict == NO_CLEAR_CHANGE else "")
    return effect(verdict, f"The mean score {move} from {mean_b:.1f} to {mean_a:.1f} "
                           f"({n_b} evaluations before, {n_a} after); the 95% confidence "
                           f"interval of the difference is {low:.1f} to {high:.1f}{tail}.",
                  low, high)


def _count(n: int) -> str:
    return f"{n} evaluation" if n == 1 else f"{n} evaluations"


def welch_interval(before: Sequence[float], after: Sequence[float],
                   confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Welch's t interval for mean(after) - mean(before); each side needs 2 or more scores.

    se = sqrt(s_b^2/n_b + s_a^2/n_a); degrees of freedom by Welch-Satterthwaite,
    df = se^4 / ((s_b^2/n_b)^2/(n_b-1) + (s_a^2/n_a)^2/(n_a-1)); the interval is
    difference -/+ t(1 - (1-confidence)/2, df) * se. With no spread on either side it is the
    difference itself.
    """
    diff = statistics.fmean(after) - statistics.fmean(before)
    v_b = statistics.variance(before) / len(before)
    v_a = statistics.variance(after) / len(after)
    if v_b + v_a == 0:
        return diff, diff
    se = math.sqrt(v_b + v_a)
    # the same df with each side's share of se^2, so tiny variances cannot underflow to 0 / 0
    w_b, w_a = v_b / (v_b + v_a), v_a / (v_b + v_a)
    df = 1 / (w_b ** 2 / (len(before) - 1) + w_a ** 2 / (len(after) - 1))
    half = t_quantile(1 - (1 - confidence) / 2, df) * se
    return diff - half, diff + half


# --- Student's t without scipy ------------------------------------------------------------------


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` (> 0, need not be whole) degrees of freedom.

    Found by bisection on the distribution function, which comes from the regularized
    incomplete beta function: P(T > t) = I_x(df/2, 1/2) / 2 with x = df / (df + t^2), t >= 0.
    Accurate to about 1e-10 for the df a Welch interval meets (1 and up).
    """
    if not 0 < p < 1:
        raise ValueError(f"A quantile needs 0 < p < 1 (got {p}).")
    if df <= 0:
        raise ValueError(f"Degrees of freedom must be positive (got {df}).")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    tail = 1 - p
    low, high = 0.0, 2.0
    while _t_upper_tail(high, df) > tail:
        low, high = high, high * 2
    for _ in range(200):
        mid = (low + high) / 2
        if mid in (low, high):
            break
        if _t_upper_tail(mid, df) > tail:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _t_upper_tail(t: float, df: float) -> float:
    """P(T > t) for t >= 0."""
    return 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction
    (Numerical Recipes 6.4), using I_x(a, b) = 1 - I_(1-x)(b, a) where that converges faster."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1 - front * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction for I_x(a, b), by the modified Lentz method."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 100_000):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + num * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + num / c
            c = c if abs(c) > tiny else tiny
            result *= d * c
        if abs(d * c - 1) < eps:
            return result
    raise ArithmeticError(f"The incomplete beta fraction did not converge (a={a}, b={b}, x={x}).")


# --- Per lead, per team -------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """How many judged sessions (a verdict of improved, no clear change or worse) were followed
    by improvement. ``left_out`` counts sessions with too little data or no evaluations; the
    share is None while ``n`` is below the minimum."""

    n: int
    improved: int
    share: float | None
    left_out: int
    reason: str


def share_improved(effects: Iterable[Effect], *, min_sessions: int = 5) -> Share:
    """The share of judged sessions followed by improvement, for one lead or one team."""
    if min_sessions < 1:
        raise ValueError(f"The minimum number of sessions is at least 1 (got {min_sessions}).")
    every = list(effects)
    judged = [e for e in every if e.verdict in JUDGED]
    n, improved = len(judged), sum(e.verdict == IMPROVED for e in judged)
    left_out = len(every) - n
    skipped = (f" {left_out} more had too few evaluations to judge." if left_out else "")
    if n < min_sessions:
        return Share(n, improved, None, left_out,
                     f"Only {n} session{'' if n == 1 else 's'} with enough evaluations to "
                     f"judge; at least {min_sessions} are needed for a share.{skipped}")
    share = improved / n
    return Share(n, improved, share, left_out,
                 f"{improved} of {n} sessions ({share:.0%}) were followed by improvement."
                 f"{skipped}")
