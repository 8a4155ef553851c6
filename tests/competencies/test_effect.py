"""Levels before and after a training session (competencies/training/effect.py): worked
examples and properties of the pure arithmetic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competencies.training import effect

DAY = date(2026, 3, 10)
HISTORY = [(date(2026, 1, 5), 1), (DAY, 2), (date(2026, 3, 20), 3), (date(2026, 5, 1), 2),
           (date(2026, 12, 1), 4)]


def test_before_is_the_latest_on_or_before_the_day():
    assert effect.level_before(HISTORY, DAY) == 2  # the session's own day counts as before
    assert effect.level_before(HISTORY, DAY - timedelta(days=1)) == 1
    assert effect.level_before(HISTORY, date(2025, 12, 31)) is None


def test_after_is_the_latest_within_the_window():
    # 20 March (3) and 1 May (2) fall within 180 days; 1 December is outside: the latest in
    # the window, 1 May, stands
    assert effect.level_after(HISTORY, DAY) == 2
    assert effect.level_after(HISTORY, DAY, window_days=30) == 3
    assert effect.level_after(HISTORY, DAY, window_days=400) == 4
    assert effect.level_after(HISTORY, date(2026, 12, 1)) is None
    with pytest.raises(ValueError, match="at least 1 day"):
        effect.level_after(HISTORY, DAY, window_days=0)


def test_a_worked_summary():
    pairs = [effect.Pair(1, "A", 1, 3), effect.Pair(2, "A", 2, 2), effect.Pair(3, "A", 3, 2),
             effect.Pair(4, "A", 2, None), effect.Pair(5, "A", None, 3)]
    summary = effect.summarise(pairs)
    assert (summary.pairs, summary.waiting) == (3, 2)
    assert (summary.improved, summary.unchanged, summary.declined) == (1, 1, 1)
    assert summary.mean_before == pytest.approx(2.0)
    assert summary.mean_after == pytest.approx(7 / 3)
    assert summary.mean_change == pytest.approx(1 / 3)
    assert summary.improved_share == pytest.approx(1 / 3)


def test_nothing_to_compare_gives_no_means():
    summary = effect.summarise([effect.Pair(1, "A", None, None)])
    assert (summary.pairs, summary.waiting) == (0, 1)
    assert summary.mean_before is None and summary.mean_change is None
    assert summary.improved_share is None


levels = st.integers(min_value=0, max_value=4)
pairs = st.lists(st.builds(effect.Pair, st.integers(1, 50), st.sampled_from("ABC"),
                           st.none() | levels, st.none() | levels), max_size=40)


@given(pairs)
def test_the_counts_add_up_and_the_mean_change_is_the_mean_of_changes(items):
    summary = effect.summarise(items)
    assert summary.pairs + summary.waiting == len(items)
    assert summary.improved + summary.unchanged + summary.declined == summary.pairs
    changes = [p.change for p in items if p.change is not None]
    if changes:
        assert summary.mean_change == pytest.approx(sum(changes) / len(changes))
    else:
        assert summary.mean_change is None


@given(st.lists(st.tuples(st.dates(date(2024, 1, 1), date(2027, 12, 31)), levels), max_size=20),
       st.dates(date(2024, 1, 1), date(2027, 12, 31)))
def test_before_and_after_never_look_across_the_day(history, day):
    history = sorted(history, key=lambda item: item[0])
    before, after = effect.level_before(history, day), effect.level_after(history, day)
    on_or_before = [level for d, level in history if d <= day]
    within = [level for d, level in history if day < d <= day + timedelta(days=180)]
    assert before == (on_or_before[-1] if on_or_before else None)
    assert after == (within[-1] if within else None)
