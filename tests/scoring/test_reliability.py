"""Inter-rater agreement: published values reproduced, every edge case an answer or a clear
AgreementError (never NaN), properties that must hold for any data, and `qm reliability`."""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scoring.calibration.reliability import (
    ICC_FORMS,
    LEVELS,
    AgreementError,
    Result,
    bootstrap_ci,
    cohen_kappa,
    cohen_kappa_from_confusion,
    compute,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    icc,
    icc_all,
    krippendorff_alpha,
    percent_agreement,
)

# --- published data ------------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", example C: rows are the
# four observers A-D, columns the 12 units, "." is missing. The functions take units x raters.
KRIPPENDORFF_RATERS = """\
1 2 3 3 2 1 4 1 2 . . .
1 2 3 3 2 2 4 1 2 5 . 3
. 3 3 3 2 3 4 2 2 5 1 .
1 2 3 3 2 4 4 1 2 5 1 ."""
KRIPPENDORFF = [list(unit) for unit in zip(*(
    [None if v == "." else int(v) for v in line.split()]
    for line in KRIPPENDORFF_RATERS.splitlines()), strict=True)]

# Fleiss (1971) psychiatric diagnoses, 30 subjects x 6 raters, 5 categories, as in R irr's
# `diagnoses` and statsmodels' test_inter_rater.py (R irr kappam.fleiss: 0.4302445).
DIAGNOSES = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]
# The same data as Fleiss' subjects x categories count table (how many of the 6 raters chose
# each of the 5 diagnoses).
DIAGNOSES_COUNTS = [
    [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
    [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
    [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
    [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0], [0, 2, 0, 4, 0], [1, 0, 2, 0, 3],
    [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0], [1, 0, 0, 4, 1],
    [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6],
]
# The worked example on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14 raters, kappa 0.210.
WIKIPEDIA_COUNTS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]

# SAS's example confusion matrix (statsmodels `table10`): kappa 0.4842, weighted 0.4701.
CONFUSION = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]

# R irr's `anxiety` data, raters 2 and 3; kappa2() gives -0.006289308 (unweighted), 0.1459075
# ("equal" = linear) and 0.2520325 ("squared"), dropping the category no one used, as we do.
ANXIETY_2 = [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4]
ANXIETY_3 = [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2]

# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
                 [6, 2, 4, 7]]


# --- published values ----------------------------------------------------------------------

@pytest.mark.parametrize(("level", "expected"), [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849),
    # Not printed in the 2011 paper; the value the krippendorff packages give, which our ratio
    # metric ((c - k) / (c + k))^2 reproduces.
    ("ratio", 0.797),
])
def test_krippendorff_2011_example(level, expected):
    assert krippendorff_alpha(KRIPPENDORFF, level) == pytest.approx(expected, abs=5e-4)


def test_krippendorff_ordinal_with_named_categories_matches_numbers():
    words = {1: "poor", 2: "fair", 3: "good", 4: "very good", 5: "excellent"}
    named = [[None if v is None else words[v] for v in unit] for unit in KRIPPENDORFF]
    order = list(words.values())
    assert krippendorff_alpha(named, "ordinal", categories=order) == pytest.approx(
        krippendorff_alpha(KRIPPENDORFF, "ordinal"))
    assert krippendorff_alpha(named, "nominal") == pytest.approx(0.743, abs=5e-4)


def test_fleiss_1971():
    assert fleiss_kappa(DIAGNOSES) == pytest.approx(0.4302445, abs=1e-7)
    assert fleiss_kappa_from_counts(DIAGNOSES_COUNTS) == pytest.approx(0.430, abs=5e-4)
    shipped = [[row.count(c) for c in range(1, 6)] for row in DIAGNOSES]
    assert shipped == DIAGNOSES_COUNTS


def test_fleiss_wikipedia_example():
    assert fleiss_kappa_from_counts(WIKIPEDIA_COUNTS) == pytest.approx(0.210, abs=5e-4)


def _weighted_kappa_by_hand(matrix, weight):
    """A second, loop-by-loop formula: 1 - sum(w * observed) / sum(w * expected), with exact
    fractions, for checking the numpy version."""
    k = len(matrix)
    total = sum(map(sum, matrix))
    rows = [sum(matrix[i]) for i in range(k)]
    cols = [sum(matrix[i][j] for i in range(k)) for j in range(k)]
    observed = sum(Fraction(weight(i, j) * matrix[i][j], total)
                   for i in range(k) for j in range(k))
    expected = sum(Fraction(weight(i, j) * rows[i] * cols[j], total * total)
                   for i in range(k) for j in range(k))
    return 1 - observed / expected


def test_cohen_sas_example():
    assert cohen_kappa_from_confusion(CONFUSION) == pytest.approx(0.484, abs=5e-4)
    assert cohen_kappa_from_confusion(CONFUSION, "linear") == pytest.approx(0.470, abs=5e-4)
    # Quadratic, by hand: marginals rows (5, 8, 6), columns (0, 13, 6), N = 19. Observed
    # disagreement 4*1 + 1*4 + 1*1 = 9 (/19); expected 5*13*1 + 5*6*4 + 8*6*1 + 6*13*1 = 311
    # (/361); kappa = 1 - (9/19) / (311/361) = 1 - 171/311 = 140/311 = 0.4502.
    by_hand = Fraction(140, 311)
    assert _weighted_kappa_by_hand(CONFUSION, lambda i, j: (i - j) ** 2) == by_hand
    assert cohen_kappa_from_confusion(CONFUSION, "quadratic") == pytest.approx(float(by_hand))
    assert float(_weighted_kappa_by_hand(CONFUSION, lambda i, j: abs(i - j))) == pytest.approx(
        cohen_kappa_from_confusion(CONFUSION, "linear"))
    assert float(_weighted_kappa_by_hand(CONFUSION, lambda i, j: int(i != j))) == pytest.approx(
        cohen_kappa_from_confusion(CONFUSION))


def test_cohen_from_ratings_equals_from_confusion():
    a, b = [], []
    for i, j in itertools.product(range(3), repeat=2):
        a += [i + 1] * CONFUSION[i][j]
        b += [j + 1] * CONFUSION[i][j]
    # Rater A never used category 1; it must keep its place for the weights to match.
    for weights in (None, "linear", "quadratic"):
        assert cohen_kappa(a, b, weights) == pytest.approx(
            cohen_kappa_from_confusion(CONFUSION, weights))


@pytest.mark.parametrize(("weights", "expected"), [
    (None, -0.006289308), ("linear", 0.1459075), ("quadratic", 0.2520325)])
def test_cohen_r_irr_anxiety(weights, expected):
    assert cohen_kappa(ANXIETY_2, ANXIETY_3, weights) == pytest.approx(expected, abs=1e-7)


@pytest.mark.parametrize(("form", "published", "ours"), [
    ("1,1", 0.17, 0.166), ("2,1", 0.29, 0.290), ("3,1", 0.71, 0.715),
    ("1,k", 0.44, 0.443), ("2,k", 0.62, 0.620), ("3,k", 0.91, 0.909),
])
def test_icc_shrout_fleiss_1979(form, published, ours):
    value = icc(SHROUT_FLEISS, form)
    assert round(value, 2) == published
    assert value == pytest.approx(ours, abs=5e-4)
    assert icc_all(SHROUT_FLEISS)[form] == value


def test_icc_form_spellings():
    assert icc(SHROUT_FLEISS, "ICC(2,1)") == icc(SHROUT_FLEISS, "2,1")
    assert icc(SHROUT_FLEISS, "2,4") == icc(SHROUT_FLEISS, "2,k") == icc(SHROUT_FLEISS, "icc2k")
    with pytest.raises(AgreementError, match=r"mean of 5 raters, but the data has 4"):
        icc(SHROUT_FLEISS, "2,5")
    with pytest.raises(ValueError, match="unknown ICC form"):
        icc(SHROUT_FLEISS, "4,1")


def test_percent_agreement_counts_pairs_within_units():
    # Unit 1: 3 raters, 1 agreeing pair of 3; unit 2: 2 raters agree (1 of 1); unit 3: one
    # rating, no pair. 2 agreeing pairs of 4.
    assert percent_agreement([[1, 1, 2], [3, None, 3], [None, None, 1]]) == 0.5


# --- edge cases: a value or a clear AgreementError, never NaN ------------------------------

def test_one_rater():
    data = [[1], [2], [3]]
    for level in LEVELS:
        with pytest.raises(AgreementError, match="at least one unit rated by two raters"):
            krippendorff_alpha(data, level)
    with pytest.raises(AgreementError, match="at least two ratings per unit"):
        fleiss_kappa(data)
    with pytest.raises(AgreementError, match="at least one unit rated by two raters"):
        percent_agreement(data)
    with pytest.raises(AgreementError, match="at least two raters"):
        icc(data, "2,1")
    with pytest.raises(AgreementError, match="exactly two raters; this data has 1"):
        compute("cohen", data)


def test_all_identical():
    data = [[3, 3, 3]] * 4
    for level in LEVELS:
        with pytest.raises(AgreementError, match="no variation"):
            krippendorff_alpha(data, level)
    with pytest.raises(AgreementError, match="no variation.*chance agreement is 1"):
        fleiss_kappa(data)
    with pytest.raises(AgreementError, match="no variation.*chance agreement is 1"):
        cohen_kappa([3, 3], [3, 3], "linear")
    with pytest.raises(AgreementError, match="no variation"):
        icc(data, "1,1")
    with pytest.raises(AgreementError, match="no variation"):
        icc_all(data)
    assert percent_agreement(data) == 1.0  # defined: it makes no claim about chance


def test_all_missing():
    data = [[None, None], [float("nan"), None]]
    with pytest.raises(AgreementError, match="at least one unit rated by two raters"):
        krippendorff_alpha(data)
    with pytest.raises(AgreementError, match="at least one unit rated by two raters"):
        percent_agreement(data)
    with pytest.raises(AgreementError, match="at least two ratings per unit"):
        fleiss_kappa(data)
    with pytest.raises(AgreementError, match="at least one unit rated by both raters"):
        cohen_kappa([None, None], [None, 2])
    with pytest.raises(AgreementError, match="unit 1 has no rating from rater 1, rater 2"):
        icc(data, "2,1")


def test_no_units_and_no_raters():
    with pytest.raises(AgreementError, match="no units"):
        krippendorff_alpha([])
    with pytest.raises(AgreementError, match="no raters"):
        compute("alpha", [[], []])


def test_single_unit():
    assert krippendorff_alpha([[1, 2]]) == 0.0
    assert fleiss_kappa([[1, 2]]) == -1.0
    assert cohen_kappa([1], [2]) == 0.0
    assert percent_agreement([[1, 2, 2]]) == pytest.approx(1 / 3)
    with pytest.raises(AgreementError, match="at least two units"):
        icc([[1, 2]], "2,1")
    assert bootstrap_ci([[1, 2]], krippendorff_alpha) is None
    result = compute("alpha", [[1, 2]])
    assert result.value == 0.0 and result.ci_low is None and result.ci_high is None


def test_unit_with_one_rating_is_not_pairable():
    alone = [*KRIPPENDORFF, [None, 7, None, None]]
    assert krippendorff_alpha(alone, "interval") == krippendorff_alpha(KRIPPENDORFF, "interval")
    assert percent_agreement(alone) == percent_agreement(KRIPPENDORFF)
    with pytest.raises(AgreementError, match="unit 1 has 3, most units have 4"):
        fleiss_kappa(KRIPPENDORFF)


def test_non_numeric_values_for_numeric_levels():
    data = [[1, 2], [2, "x"]]
    for level in ("interval", "ratio"):
        with pytest.raises(AgreementError,
                           match=rf"unit 2, rater 2: 'x' is not a number \({level} needs"):
            krippendorff_alpha(data, level)
    with pytest.raises(AgreementError, match="'x' is not a number"):
        krippendorff_alpha(data, "ordinal")
    with pytest.raises(AgreementError, match=r"'x' is not a number \(ICC needs numbers\)"):
        icc(data, "2,1")
    with pytest.raises(AgreementError, match="'x' is not a number"):
        cohen_kappa([1, 2], [2, "x"], "linear")
    assert krippendorff_alpha([[1, 2], [2, "2"], [3.0, "3.0"]], "interval") == pytest.approx(
        krippendorff_alpha([[1, 2], [2, 2], [3, 3]], "interval"))
    assert krippendorff_alpha(data, "nominal") < 1  # text is fine for nominal data


def test_ratio_refuses_negative_values():
    with pytest.raises(AgreementError, match="unit 2, rater 1: -1 is negative"):
        krippendorff_alpha([[1, 2], [-1, 2]], "ratio")


def test_ragged_and_incomplete_rows_name_the_unit():
    with pytest.raises(AgreementError, match="unit 2 has 1 values for 2 raters"):
        krippendorff_alpha([[1, 2], [1]])
    with pytest.raises(AgreementError, match="unit 'B' has 1, most units have 2") as caught:
        fleiss_kappa([[1, 2], [1, None], [2, 2]], labels=["A", "B", "C"])
    assert caught.value.unit == 1
    with pytest.raises(AgreementError, match="unit 'c' has no rating from rater 'Ann'"):
        compute("icc", [[1, 2], [2, 3], [None, 1]], labels=["a", "b", "c"],
                raters=["Ann", "Bo"])


def test_weighted_kappa_needs_an_order():
    with pytest.raises(AgreementError, match="not a number"):
        cohen_kappa(["low", "high"], ["high", "high"], "linear")
    order = ["low", "mid", "high"]
    assert cohen_kappa(["low", "high", "mid"], ["high", "high", "mid"], "linear",
                       categories=order) == pytest.approx(
        cohen_kappa([0, 2, 1], [2, 2, 1], "linear", categories=[0, 1, 2]))
    with pytest.raises(AgreementError, match="'top' is not one of the categories"):
        cohen_kappa(["low"], ["top"], categories=order)


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="unknown level"):
        krippendorff_alpha(KRIPPENDORFF, "metric")
    with pytest.raises(ValueError, match="unknown weights"):
        cohen_kappa([1], [1], "cubic")
    with pytest.raises(ValueError, match="unknown metric"):
        compute("pearson", KRIPPENDORFF)
    with pytest.raises(AgreementError, match="2 and 1 ratings"):
        cohen_kappa([1, 2], [1])
    with pytest.raises(AgreementError, match="square"):
        cohen_kappa_from_confusion([[1, 2]])
    with pytest.raises(AgreementError, match="whole numbers"):
        fleiss_kappa_from_counts([[1.5, 0.5]])


def test_icc_undefined_form_is_left_out_of_icc_all():
    # Every unit has the same mean: no between-unit variance, so the k forms divide by zero.
    data = [[1, 3], [3, 1], [2, 2]]
    values = icc_all(data)
    assert "1,k" not in values and "3,k" not in values
    assert values["1,1"] == pytest.approx(-1.0)
    with pytest.raises(AgreementError, match=r"ICC\(3,k\) is undefined.*same mean"):
        icc(data, "3,k")


# --- compute and the bootstrap -------------------------------------------------------------

def test_compute_result():
    result = compute("alpha", KRIPPENDORFF, level="ordinal", seed=3)
    assert isinstance(result, Result)
    assert (result.metric, result.n_units, result.n_raters, result.level) == (
        "alpha", 12, 4, "ordinal")
    assert result.value == pytest.approx(0.815, abs=5e-4)
    assert result.ci_low is not None and result.ci_high is not None
    assert -1 <= result.ci_low <= result.ci_high <= 1
    assert compute("alpha", KRIPPENDORFF, level="ordinal", seed=3) == result  # reproducible
    assert compute("alpha", KRIPPENDORFF, ci=False).ci_low is None
    assert compute("icc", SHROUT_FLEISS, form="3,4").form == "3,k"
    assert compute("cohen", [[1, 2], [2, 2], [3, 3]], weights="linear").weights == "linear"
    assert compute("fleiss", DIAGNOSES, ci=False).value == pytest.approx(0.430, abs=5e-4)
    assert compute("agreement", KRIPPENDORFF).value == percent_agreement(KRIPPENDORFF)
    assert set(result.as_dict()) >= {"metric", "value", "n_units", "n_raters", "ci_low",
                                      "ci_high", "detail", "level", "form", "weights"}


def test_bootstrap_skips_undefined_resamples_and_gives_up_below_half():
    def never(_data):
        raise AgreementError("undefined")

    assert bootstrap_ci(KRIPPENDORFF, never) is None
    calls = iter(range(10_000))

    def every_third(data):  # defined in a third of the resamples: below the 50% floor
        if next(calls) % 3:
            raise AgreementError("undefined")
        return krippendorff_alpha(data)

    assert bootstrap_ci(KRIPPENDORFF, every_third, n_resamples=300) is None
    low, high = bootstrap_ci(KRIPPENDORFF, krippendorff_alpha, n_resamples=200, seed=1)
    assert low <= high
    assert bootstrap_ci(KRIPPENDORFF, krippendorff_alpha, n_resamples=200, seed=1) == (low, high)


# --- properties ----------------------------------------------------------------------------

MISSING = st.none()
ratings = st.integers(min_value=0, max_value=4)


@st.composite
def tables(draw, min_raters=1, max_raters=5, missing=True):
    n_units = draw(st.integers(min_value=1, max_value=12))
    n_raters = draw(st.integers(min_value=min_raters, max_value=max_raters))
    cell = st.one_of(ratings, MISSING) if missing else ratings
    return draw(st.lists(st.lists(cell, min_size=n_raters, max_size=n_raters),
                         min_size=n_units, max_size=n_units))


def _value_or_error(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except AgreementError as exc:
        assert str(exc)
        return None


@settings(max_examples=150, deadline=None)
@given(tables())
def test_never_nan(data):
    for level in LEVELS:
        value = _value_or_error(krippendorff_alpha, data, level)
        assert value is None or (math.isfinite(value) and value <= 1 + 1e-12)
    for fn in (fleiss_kappa, percent_agreement, icc_all):
        value = _value_or_error(fn, data)
        values = value.values() if isinstance(value, dict) else [value]
        assert all(v is None or math.isfinite(v) for v in values)
    if len(data[0]) == 2:
        for weights in (None, "linear", "quadratic"):
            value = _value_or_error(cohen_kappa, [r[0] for r in data], [r[1] for r in data],
                                    weights)
            assert value is None or (math.isfinite(value) and value <= 1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(units=st.lists(ratings, min_size=2, max_size=10), n_raters=st.integers(2, 5),
       data=st.data())
def test_perfect_agreement_with_variation_is_one(units, n_raters, data):
    assume(len(set(units)) >= 2)
    table = []
    for value in units:  # every unit keeps at least two ratings, all the same
        kept = data.draw(st.lists(st.booleans(), min_size=n_raters, max_size=n_raters))
        kept[0] = kept[1] = True
        table.append([value if keep else None for keep in kept])
    for level in LEVELS:
        assert krippendorff_alpha(table, level) == pytest.approx(1.0)
    assert percent_agreement(table) == 1.0


@settings(max_examples=100, deadline=None)
@given(tables(min_raters=2), st.randoms(use_true_random=False))
def test_alpha_invariant_to_order_of_units_and_raters(data, rnd):
    units = list(range(len(data)))
    raters = list(range(len(data[0])))
    rnd.shuffle(units)
    rnd.shuffle(raters)
    shuffled = [[data[u][r] for r in raters] for u in units]
    for level in LEVELS:
        before = _value_or_error(krippendorff_alpha, data, level)
        after = _value_or_error(krippendorff_alpha, shuffled, level)
        assert (before is None) == (after is None)
        if before is not None:
            assert after == pytest.approx(before, abs=1e-9)


def _alpha_by_pairs(data, delta2):
    """Alpha from its definition, pair by pair, with fractions: 1 - D_o / D_e, where D_o
    averages delta^2 over ordered pairs of values within a unit (weight 1 / (m_u - 1)) and D_e
    over ordered pairs of any two pairable values."""
    units = [[v for v in unit if v is not None] for unit in data]
    units = [u for u in units if len(u) >= 2]
    values = [v for u in units for v in u]
    n = len(values)
    observed = sum(Fraction(delta2(a, b)) / (len(u) - 1)
                   for u in units for i, a in enumerate(u) for j, b in enumerate(u) if i != j)
    expected = sum(Fraction(delta2(a, b)) for i, a in enumerate(values)
                   for j, b in enumerate(values) if i != j) / (n - 1)
    return 1 - observed / expected


@settings(max_examples=100, deadline=None)
@given(tables(min_raters=2, max_raters=4))
def test_alpha_equals_its_definition_pair_by_pair(data):
    metrics = {
        "nominal": lambda a, b: int(a != b),
        "interval": lambda a, b: (a - b) ** 2,
        "ratio": lambda a, b: Fraction(a - b, a + b) ** 2 if a + b else 0,
    }
    for level, delta2 in metrics.items():
        value = _value_or_error(krippendorff_alpha, data, level)
        if value is not None:
            assert value == pytest.approx(float(_alpha_by_pairs(data, delta2)), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(tables(min_raters=2, max_raters=2, missing=False))
def test_alpha_and_scott_pi_for_two_raters(data):
    # With two raters and no gaps Fleiss' kappa is Scott's pi, and Krippendorff shows
    # alpha = 1 - (2N - 1) / (2N) * (1 - pi): two implementations checking each other.
    pi = _value_or_error(fleiss_kappa, data)
    if pi is not None:
        n = len(data)
        assert krippendorff_alpha(data) == pytest.approx(1 - (2 * n - 1) / (2 * n) * (1 - pi))


@settings(max_examples=100, deadline=None)
@given(tables())
def test_percent_agreement_is_a_share(data):
    value = _value_or_error(percent_agreement, data)
    assert value is None or 0 <= value <= 1


@settings(max_examples=100, deadline=None)
@given(tables(min_raters=2, max_raters=2))
def test_unweighted_cohen_is_symmetric(data):
    a, b = [r[0] for r in data], [r[1] for r in data]
    forward = _value_or_error(cohen_kappa, a, b)
    backward = _value_or_error(cohen_kappa, b, a)
    assert (forward is None) == (backward is None)
    if forward is not None:
        assert forward == pytest.approx(backward)


@settings(max_examples=100, deadline=None)
@given(tables(min_raters=2, missing=False),
       st.floats(min_value=0.1, max_value=100), st.floats(min_value=-50, max_value=50))
def test_icc_invariant_to_a_change_of_scale(data, scale, shift):
    before = _value_or_error(icc_all, data)
    if before is None:
        return
    after = icc_all([[scale * v + shift for v in unit] for unit in data])
    assert set(after) == set(before) <= set(ICC_FORMS)
    for form, value in before.items():
        assert after[form] == pytest.approx(value, rel=1e-6, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(tables(min_raters=2), st.integers(min_value=0, max_value=2**32 - 1))
def test_bootstrap_interval_is_ordered_and_finite(data, seed):
    interval = bootstrap_ci(data, krippendorff_alpha, n_resamples=50, seed=seed)
    if interval is not None:
        low, high = interval
        assert math.isfinite(low) and math.isfinite(high) and low <= high


# --- qm reliability ------------------------------------------------------------------------

def _write_krippendorff(path: Path) -> Path:
    lines = ["unit,A,B,C,D"]
    for i, unit in enumerate(KRIPPENDORFF, 1):
        lines.append(",".join([f"U{i}", *("" if v is None else str(v) for v in unit)]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("level", "expected"), [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_cli_krippendorff_example_json(runner, tmp_path, level, expected):
    path = _write_krippendorff(tmp_path / "ratings.csv")
    result = runner.invoke("reliability", str(path), "--metric", "alpha", "--level", level,
                           "--json", "--resamples", "200")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["value"] == pytest.approx(expected, abs=5e-4)
    assert (payload["metric"], payload["level"], payload["n_units"], payload["n_raters"]) == (
        "alpha", level, 12, 4)
    assert payload["ci_low"] <= payload["ci_high"]
    assert payload["form"] is None and payload["weights"] is None


def test_cli_text_and_no_ci(runner, tmp_path):
    path = tmp_path / "sf.csv"
    path.write_text("target,j1,j2,j3,j4\n" + "".join(
        f"T{i},{','.join(map(str, row))}\n" for i, row in enumerate(SHROUT_FLEISS, 1)))
    result = runner.invoke("reliability", str(path), "--metric", "icc", "--form", "3,1")
    assert result.exit_code == 0, result.output
    assert "ICC(3,1)" in result.output and "0.715" in result.output
    assert "95% CI" in result.output and "6 units, 4 raters" in result.output
    result = runner.invoke("reliability", str(path), "--metric", "icc", "--json", "--no-ci")
    payload = json.loads(result.output)
    assert payload["form"] == "2,1" and payload["value"] == pytest.approx(0.290, abs=5e-4)
    assert payload["ci_low"] is None and payload["ci_high"] is None


def test_cli_malformed_row_names_the_line(runner, tmp_path):
    path = _write_krippendorff(tmp_path / "ratings.csv")
    lines = path.read_text().splitlines()
    lines[6] = "U6,1,2,3"  # line 7 of the file: one value short
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke("reliability", str(path), "--metric", "alpha", "--json")
    assert result.exit_code == 1
    assert "ratings.csv:7: unit 'U6' has 3 values for 4 raters" in result.output


def test_cli_non_number_names_the_line(runner, tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("unit,A,B\nU1,1,2\nU2,2,2\nU3,x,3\n")
    result = runner.invoke("reliability", str(path), "--metric", "alpha", "--level", "interval")
    assert result.exit_code == 1
    assert ("ratings.csv:4: unit 'U3', rater 'A': 'x' is not a number (interval needs numbers)"
            in result.output)
    nominal = runner.invoke("reliability", str(path), "--metric", "alpha", "--no-ci")
    assert nominal.exit_code == 0, nominal.output


def test_cli_undefined_statistic_is_a_clear_error(runner, tmp_path):
    path = tmp_path / "same.csv"
    path.write_text("unit,A,B\nU1,3,3\nU2,3,3\n")
    result = runner.invoke("reliability", str(path), "--metric", "fleiss")
    assert result.exit_code == 1
    assert "same.csv: no variation" in result.output
    gaps = tmp_path / "gaps.csv"
    gaps.write_text("unit,A,B\nU1,1,2\nU2,,3\nU3,2,2\n")
    result = runner.invoke("reliability", str(gaps), "--metric", "icc")
    assert result.exit_code == 1
    assert "gaps.csv:3: ICC needs every unit rated by every rater: unit 'U2' has no rating " \
           "from rater 'A'" in result.output


def test_cli_options_that_do_not_apply(runner, tmp_path):
    path = _write_krippendorff(tmp_path / "ratings.csv")
    result = runner.invoke("reliability", str(path), "--metric", "fleiss", "--level", "ordinal")
    assert result.exit_code == 2
    assert "--level applies to --metric alpha only" in result.output
    result = runner.invoke("reliability", str(path), "--metric", "icc", "--form", "9,9")
    assert result.exit_code == 2
    assert "unknown ICC form" in result.output


def test_the_readme_example_file_gives_the_published_values(runner):
    """tests/data/krippendorff2011.csv is the README's example: the same data as above."""
    import json
    from pathlib import Path

    path = Path(__file__).parents[1] / "data" / "krippendorff2011.csv"
    for level, expected in (("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)):
        result = runner.invoke("reliability", str(path), "--metric", "alpha", "--level", level,
                               "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert (round(data["value"], 3), data["n_units"], data["n_raters"]) == (expected, 12, 4)
