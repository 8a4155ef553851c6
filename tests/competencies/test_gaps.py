"""Competency gaps and level suggestions (profiles.gaps): worked examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competencies.profiles.gaps import (
    DEFAULT_LEVELS,
    DEFAULT_THRESHOLDS,
    Answer,
    Gap,
    Suggestion,
    check_level,
    gaps,
    level_for_share,
    level_name,
    suggest_level,
)
from qm.errors import InvalidInput

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def answer(day: int, earned: str | int, possible: str | int) -> Answer:
    return Answer(at=T0 + timedelta(days=day), earned=Decimal(earned), possible=Decimal(possible))


# --- gaps -------------------------------------------------------------------------------------


def test_worked_example_two_gaps_largest_first() -> None:
    required = {"6.3.2.1": 3, "6.3.3.1": 2, "6.3.4.1": 3}
    current = {"6.3.2.1": 3, "6.3.3.1": 1}
    assert gaps(required, current) == [
        Gap(code="6.3.4.1", required=3, current=None),
        Gap(code="6.3.3.1", required=2, current=1),
    ]
    assert [g.short_by for g in gaps(required, current)] == [3, 1]


def test_none_counts_as_zero_and_unrequired_codes_are_ignored() -> None:
    required = {"b": 2, "a": 2, "c": 0}
    current = {"a": None, "b": 0, "z": 1}
    found = gaps(required, current)
    # Equal short_by: ordered by code. "c" requires 0, so it cannot be short; "z" is not required.
    assert [(g.code, g.current, g.short_by) for g in found] == [("a", None, 2), ("b", 0, 2)]


def test_above_requirement_is_not_a_gap() -> None:
    assert gaps({"a": 2}, {"a": 4}) == []
    assert gaps({}, {"a": 1}) == []


def test_short_by() -> None:
    assert Gap("x", 4, None).short_by == 4
    assert Gap("x", 4, 0).short_by == 4
    assert Gap("x", 4, 3).short_by == 1


levels = st.integers(min_value=0, max_value=4)
codes = st.sampled_from(["6.3.2.1", "6.3.3.1", "6.3.4.1", "6.4.1", "6.4.2", "7.1"])


@given(
    required=st.dictionaries(codes, levels),
    current=st.dictionaries(codes, st.one_of(st.none(), levels)),
)
def test_gaps_properties(required: dict[str, int], current: dict[str, int | None]) -> None:
    found = gaps(required, current)
    listed = {g.code for g in found}
    assert len(listed) == len(found)
    for g in found:
        assert g.required == required[g.code]
        assert g.current == current.get(g.code)
        assert (g.current or 0) < g.required  # never at or above the requirement
        assert g.short_by >= 1
    # Every shortfall is listed, and nothing else.
    assert listed == {c for c, lvl in required.items() if (current.get(c) or 0) < lvl}
    assert [(-g.short_by, g.code) for g in found] == sorted((-g.short_by, g.code) for g in found)


# --- levels -----------------------------------------------------------------------------------


def test_level_names() -> None:
    assert DEFAULT_LEVELS == ("none", "aware", "practising", "competent", "expert")
    assert level_name(0) == "none"
    assert level_name(3) == "competent"
    assert level_name(4) == "expert"
    assert level_name(1, ("no", "yes")) == "yes"


@pytest.mark.parametrize("level", [-1, 5, 7])
def test_level_name_off_scale_is_invalid_input(level: int) -> None:
    with pytest.raises(InvalidInput, match=rf"^Level {level} is off the scale 0 to 4\.$"):
        level_name(level)


def test_check_level() -> None:
    assert check_level(0, 4) == 0
    assert check_level(4, 4) == 4
    with pytest.raises(InvalidInput, match=r"^Level 7 is off the scale 0 to 4\.$"):
        check_level(7, 4)
    with pytest.raises(InvalidInput, match="Level -1 is off the scale 0 to 2"):
        check_level(-1, 2)
    with pytest.raises(ValueError, match="cannot be negative"):
        check_level(0, -1)


# --- suggestions ------------------------------------------------------------------------------


def test_suggestion_worked_example_oldest_dropped() -> None:
    # Listed out of order on purpose. The oldest (day 0, a perfect 10/10) falls outside last=5.
    # Kept: 8/10 + 3/4 + 5/5 + 2/5 + 9/10 = 27/34 = 0.794117... -> 0.7941 -> level 2.
    # (Had the oldest counted: 37/44 = 0.8409, level 3.)
    answers = [
        answer(3, 5, 5),
        answer(0, 10, 10),
        answer(1, 8, 10),
        answer(5, 9, 10),
        answer(2, 3, 4),
        answer(4, 2, 5),
    ]
    assert suggest_level(answers, last=5) == Suggestion(
        level=2, n=5, share=Decimal("0.7941"), enough=True
    )
    assert suggest_level(answers, last=6) == Suggestion(
        level=3, n=6, share=Decimal("0.8409"), enough=True
    )


def test_defaults_use_the_last_twenty() -> None:
    old_zeroes = [answer(d, 0, 1) for d in range(5)]
    recent_full = [answer(10 + d, 1, 1) for d in range(20)]
    s = suggest_level(old_zeroes + recent_full)
    assert (s.level, s.n, s.share, s.enough) == (4, 20, Decimal("1.0000"), True)


def test_too_few_answers() -> None:
    answers = [answer(d, 1, 1) for d in range(4)]
    assert suggest_level(answers) == Suggestion(
        level=None, n=4, share=Decimal("1.0000"), enough=False
    )
    assert suggest_level(answers, min_answers=4).level == 4
    assert suggest_level([]) == Suggestion(level=None, n=0, share=None, enough=False)


def test_ties_on_time_keep_input_order() -> None:
    same = T0
    first = Answer(at=same, earned=Decimal(0), possible=Decimal(1))
    second = Answer(at=same, earned=Decimal(1), possible=Decimal(1))
    # The later-listed of two answers at the same time counts as the more recent.
    assert suggest_level([first, second], last=1, min_answers=1).share == Decimal("1.0000")
    assert suggest_level([second, first], last=1, min_answers=1).share == Decimal("0.0000")


@pytest.mark.parametrize(
    ("share", "level"),
    [
        ("0", 0),
        ("0.3999", 0),
        ("0.40", 1),
        ("0.5999", 1),
        ("0.60", 2),
        ("0.79", 2),
        ("0.80", 3),
        ("0.9499", 3),
        ("0.95", 4),
        ("1", 4),
    ],
)
def test_threshold_boundaries(share: str, level: int) -> None:
    assert level_for_share(Decimal(share)) == level
    # The same share reached through suggest_level: five answers of share/1 each.
    answers = [answer(d, share, 1) for d in range(5)]
    s = suggest_level(answers)
    assert s.share == Decimal(share).quantize(Decimal("0.0001"))
    assert s.level == level


def test_share_is_rounded_half_up_and_level_follows_the_rounded_share() -> None:
    # 12345 / 100000 = 0.12345 -> 0.1235 half-up (half-even would give 0.1234).
    answers = [answer(d, e, 20000) for d, e in enumerate([12345, 0, 0, 0, 0])]
    assert suggest_level(answers).share == Decimal("0.1235")
    # 15999 / 20000 = 0.79995 -> 0.8000, shown as 0.8000 and so level 3, not 2.
    answers = [answer(d, e, 4000) for d, e in enumerate([4000, 4000, 4000, 3999, 0])]
    s = suggest_level(answers)
    assert (s.share, s.level) == (Decimal("0.8000"), 3)


def test_custom_thresholds() -> None:
    answers = [answer(d, "0.5", 1) for d in range(5)]
    assert suggest_level(answers, thresholds=(Decimal("0.5"),)).level == 1
    assert suggest_level(answers, thresholds=(Decimal("0.6"),)).level == 0
    assert suggest_level(answers, thresholds=()).level == 0


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ((Decimal("0.6"), Decimal("0.4")), "strictly increasing"),
        ((Decimal("0.4"), Decimal("0.4")), "strictly increasing"),
        ((Decimal("-0.1"), Decimal("0.4")), "between 0 and 1"),
        ((Decimal("0.4"), Decimal("1.01")), "between 0 and 1"),
    ],
)
def test_bad_thresholds(thresholds: tuple[Decimal, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        suggest_level([], thresholds=thresholds)
    with pytest.raises(ValueError, match=message):
        level_for_share(Decimal("0.5"), thresholds)


def test_bad_window() -> None:
    with pytest.raises(ValueError, match="last is 0"):
        suggest_level([], last=0)
    with pytest.raises(ValueError, match="at least 1"):
        suggest_level([], min_answers=0)
    with pytest.raises(ValueError, match="cannot exceed"):
        suggest_level([], last=3, min_answers=4)


@pytest.mark.parametrize(
    ("earned", "possible", "message"),
    [
        ("0", "0", "0 possible points; it must be more than 0"),
        ("0", "-1", "-1 possible points"),
        ("-1", "5", "earned -1 points; it must be between 0 and 5"),
        ("6", "5", "earned 6 points"),
    ],
)
def test_impossible_answer_is_named(earned: str, possible: str, message: str) -> None:
    bad = answer(3, earned, possible)
    good = [answer(d, 1, 1) for d in range(5)]
    with pytest.raises(ValueError, match=message) as caught:
        suggest_level([*good, bad])
    assert bad.at.isoformat() in str(caught.value)


def test_thresholds_default() -> None:
    assert DEFAULT_THRESHOLDS == (
        Decimal("0.40"),
        Decimal("0.60"),
        Decimal("0.80"),
        Decimal("0.95"),
    )


@st.composite
def answer_lists(draw: st.DrawFn) -> list[Answer]:
    size = draw(st.integers(min_value=1, max_value=12))
    out = []
    for _ in range(size):
        possible = draw(st.integers(min_value=1, max_value=20))
        earned = draw(st.integers(min_value=0, max_value=possible))
        day = draw(st.integers(min_value=0, max_value=6))  # few days: ties on `at` are common
        out.append(answer(day, earned, possible))
    return out


@given(data=st.data(), answers=answer_lists())
def test_more_points_never_lower_the_level(data: st.DataObject, answers: list[Answer]) -> None:
    last = data.draw(st.integers(min_value=1, max_value=12), label="last")
    min_answers = data.draw(st.integers(min_value=1, max_value=last), label="min_answers")
    i = data.draw(st.integers(min_value=0, max_value=len(answers) - 1), label="i")
    a = answers[i]
    extra = data.draw(st.integers(min_value=0, max_value=int(a.possible - a.earned)), label="+")
    better = list(answers)
    better[i] = Answer(at=a.at, earned=a.earned + extra, possible=a.possible)

    before = suggest_level(answers, last=last, min_answers=min_answers)
    after = suggest_level(better, last=last, min_answers=min_answers)
    assert (before.n, before.enough) == (after.n, after.enough)
    assert before.share is not None and after.share is not None
    assert after.share >= before.share
    if before.enough:
        assert before.level is not None and after.level is not None
        assert after.level >= before.level
        assert 0 <= before.level <= len(DEFAULT_THRESHOLDS)
    else:
        assert before.level is None and after.level is None
