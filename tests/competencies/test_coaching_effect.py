"""Scores before and after a coaching session (competencies/coaching/effect.py): the worked
examples of issue 14, Student's t against table values, and properties of the pure arithmetic."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competencies.coaching import effect

HELD = date(2026, 3, 10)


# --- Windows ------------------------------------------------------------------------------------


def test_the_windows_exclude_the_day_of_the_session():
    scored = [(HELD - timedelta(days=31), 10), (HELD - timedelta(days=30), 20),
              (HELD - timedelta(days=1), 30), (HELD, 40), (HELD + timedelta(days=1), 50),
              (HELD + timedelta(days=30), 60), (HELD + timedelta(days=31), 70)]
    assert effect.split_window(scored, HELD) == ([20, 30], [50, 60])
    assert effect.split_window(scored, HELD, before_days=1, after_days=31) == ([30], [50, 60, 70])
    assert effect.split_window([], HELD) == ([], [])
    with pytest.raises(ValueError, match="at least 1 day"):
        effect.split_window(scored, HELD, before_days=0)
    with pytest.raises(ValueError):
        effect.split_window(scored, HELD, after_days=-5)


# --- Worked examples ----------------------------------------------------------------------------


def test_60_to_80_with_5_each_side_is_improved():
    # before: mean 60, squared deviations 25+0+25+4+4 = 58, s^2 = 58/4 = 14.5
    # after:  mean 80, squared deviations 4+0+9+1+0 = 14,    s^2 = 14/4 = 3.5
    # se^2 = 14.5/5 + 3.5/5 = 2.9 + 0.7 = 3.6, se = 1.89737
    # Welch df = 3.6^2 / (2.9^2/4 + 0.7^2/4) = 12.96 / 2.225 = 5.8247
    # t(0.975, 5.8247) = 2.46487 (between 2.571 at df 5 and 2.447 at df 6)
    # CI = 20 -/+ 2.46487 * 1.89737 = 20 -/+ 4.6768 = 15.32 .. 24.68
    result = effect.compare([55, 60, 65, 58, 62], [78, 80, 83, 79, 80])
    assert (result.n_before, result.n_after) == (5, 5)
    assert (result.mean_before, result.mean_after, result.difference) == (60, 80, 20)
    assert effect.t_quantile(0.975, 12.96 / 2.225) == pytest.approx(2.46487, abs=1e-5)
    assert round(result.ci_low, 2) == 15.32
    assert round(result.ci_high, 2) == 24.68
    assert result.verdict == "improved"
    assert result.reason == ("The mean score rose from 60.0 to 80.0 (5 evaluations before, 5 "
                             "after); the 95% confidence interval of the difference is 15.3 to "
                             "24.7.")


def test_70_to_71_with_2_each_side_is_too_little_data():
    result = effect.compare([69, 71], [70, 72])
    assert (result.mean_before, result.mean_after, result.difference) == (70, 71, 1)
    assert result.verdict == "too little data"
    assert result.ci_low is None and result.ci_high is None
    assert "at least 3 are needed on each side" in result.reason
    one_side = effect.compare([60, 62, 64], [70, 72])
    assert one_side.verdict == "too little data"
    assert one_side.reason == ("Only 2 evaluations after the session; at least 3 are needed on "
                               "each side.")
    assert effect.compare([60], [70, 71, 72]).reason.startswith("Only 1 evaluation before ")
    # a lower minimum judges the same scores
    assert effect.compare([69, 71], [70, 72], min_n=2).verdict == "no clear change"


def test_a_window_with_no_evaluations_says_so():
    after_empty = effect.compare([60, 70, 80], [])
    assert after_empty.verdict == "no evaluations after"
    assert (after_empty.n_before, after_empty.n_after) == (3, 0)
    assert after_empty.mean_before == 70 and after_empty.mean_after is None
    assert after_empty.difference is None and after_empty.ci_low is None
    assert "No evaluations after" in after_empty.reason
    before_empty = effect.compare([], [70])
    assert before_empty.verdict == "no evaluations before"
    assert before_empty.mean_before is None and before_empty.mean_after == 70
    both = effect.compare([], [])
    assert both.verdict == "no evaluations"
    assert (both.n_before, both.n_after, both.mean_before, both.difference) == (0, 0, None, None)


def test_overlapping_noisy_scores_are_no_clear_change():
    result = effect.compare([60, 75, 68, 72, 65], [70, 62, 74, 66, 71])
    assert result.difference == pytest.approx(0.6)
    assert result.ci_low < 0 < result.ci_high
    assert result.verdict == "no clear change"
    assert result.reason.endswith("which includes no change.")


def test_a_clear_drop_is_worse():
    result = effect.compare([80, 82, 78, 81], [60, 65, 62, 63])
    assert result.difference == pytest.approx(-17.75)
    assert result.ci_high < 0
    assert result.verdict == "worse"
    assert "fell from 80.2 to 62.5" in result.reason


def test_no_spread_on_either_side_gives_a_point_interval():
    assert effect.compare([70, 70, 70], [75, 75, 75]).verdict == "improved"
    flat = effect.compare([70, 70, 70], [75, 75, 75])
    assert (flat.ci_low, flat.ci_high) == (5, 5)
    assert effect.compare([70, 70, 70], [65, 65, 65]).verdict == "worse"
    assert effect.compare([70, 70, 70], [70, 70, 70]).verdict == "no clear change"
    # a spread so small its square underflows still gives an interval
    tiny = effect.compare([0, 0, 0], [0, 0, 1e-111])
    assert tiny.ci_low < tiny.difference < tiny.ci_high


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="At least 2"):
        effect.compare([1, 2], [3, 4], min_n=1)
    with pytest.raises(ValueError, match="finite"):
        effect.compare([1, 2, math.nan], [3, 4, 5])


# --- Student's t --------------------------------------------------------------------------------


@pytest.mark.parametrize(("df", "expected"), [
    (1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (8, 2.306), (10, 2.228),
    (30, 2.042), (120, 1.980), (1_000_000, 1.960)])
def test_t_quantile_matches_the_table(df, expected):
    assert round(effect.t_quantile(0.975, df), 3) == expected


def test_t_quantile_other_levels_and_symmetry():
    assert round(effect.t_quantile(0.95, 10), 3) == 1.812
    assert round(effect.t_quantile(0.995, 5), 3) == 4.032
    assert effect.t_quantile(0.5, 7) == pytest.approx(0, abs=1e-12)
    assert effect.t_quantile(0.025, 4) == -effect.t_quantile(0.975, 4)
    # between whole degrees of freedom it lies between their quantiles
    assert effect.t_quantile(0.975, 6) < effect.t_quantile(0.975, 5.5) < \
        effect.t_quantile(0.975, 5)
    with pytest.raises(ValueError):
        effect.t_quantile(1, 5)
    with pytest.raises(ValueError):
        effect.t_quantile(0.975, 0)


# --- Per lead, per team -------------------------------------------------------------------------


def _with(verdict: str) -> effect.Effect:
    return effect.Effect(5, 5, 60, 70, 10, None, None, verdict, "")


def test_share_improved_counts_judged_sessions_only():
    effects = [_with("improved")] * 3 + [_with("no clear change")] * 2 + [_with("worse")] + \
        [_with("too little data"), _with("no evaluations after")]
    share = effect.share_improved(effects)
    assert (share.n, share.improved, share.left_out) == (6, 3, 2)
    assert share.share == 0.5
    assert share.reason == ("3 of 6 sessions (50%) were followed by improvement. 2 more had "
                            "too few evaluations to judge.")


def test_share_improved_says_when_there_are_too_few_sessions():
    thin = effect.share_improved([_with("improved")] * 4 + [_with("no evaluations")])
    assert (thin.n, thin.improved, thin.share, thin.left_out) == (4, 4, None, 1)
    assert thin.reason.startswith("Only 4 sessions with enough evaluations to judge; at least 5")
    assert effect.share_improved([_with("improved")] * 4, min_sessions=4).share == 1
    empty = effect.share_improved([])
    assert (empty.n, empty.share) == (0, None)
    with pytest.raises(ValueError):
        effect.share_improved([], min_sessions=0)


# --- Properties ---------------------------------------------------------------------------------

scores = st.lists(st.floats(min_value=0, max_value=100), max_size=8)
whole_scores = st.lists(st.integers(min_value=0, max_value=100), max_size=8)
MIRROR = {"improved": "worse", "worse": "improved"}


@given(scores, scores)
def test_the_interval_contains_the_difference(before, after):
    result = effect.compare(before, after)
    if result.ci_low is None:
        assert result.verdict not in effect.JUDGED
    else:
        assert result.ci_low <= result.difference <= result.ci_high
        assert result.verdict in effect.JUDGED


@given(scores, scores)
def test_swapping_sides_mirrors_the_result(before, after):
    there, back = effect.compare(before, after), effect.compare(after, before)
    assert (back.n_before, back.n_after) == (there.n_after, there.n_before)
    if there.difference is not None:
        assert back.difference == -there.difference
    if there.ci_low is not None:
        assert (back.ci_low, back.ci_high) == (-there.ci_high, -there.ci_low)
        assert back.verdict == MIRROR.get(there.verdict, there.verdict)


@given(whole_scores, whole_scores, st.floats(min_value=-50, max_value=50))
def test_a_constant_shift_changes_nothing_but_the_means(before, after, shift):
    plain = effect.compare(before, after)
    shifted = effect.compare([x + shift for x in before], [x + shift for x in after])
    near_zero = plain.ci_low is not None and min(abs(plain.ci_low), abs(plain.ci_high)) < 1e-6
    assert shifted.verdict == plain.verdict or near_zero
    for name in ("difference", "ci_low", "ci_high"):
        a, b = getattr(plain, name), getattr(shifted, name)
        assert (a is None) == (b is None)
        if a is not None:
            assert b == pytest.approx(a, abs=1e-6)


@given(scores, scores, st.integers(min_value=2, max_value=5))
def test_counts_and_too_little_data(before, after, min_n):
    result = effect.compare(before, after, min_n=min_n)
    assert (result.n_before, result.n_after) == (len(before), len(after))
    sizes = (len(before), len(after))
    short = any(1 <= n < min_n for n in sizes) and all(n >= 1 for n in sizes)
    assert (result.verdict == "too little data") == short
