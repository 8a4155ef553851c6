"""Inter-rater agreement: how far evaluators who score the same interactions agree.

A calibration session has several evaluators score the same interactions; the number that says
whether they score alike is computed here, once, and shown by the calibration pages and printed
by ``qm reliability``. The functions are pure (numpy only, no database, no Flask) so that the
same code serves a view, the CLI, a notebook and a test.

Every function takes a matrix of **units x raters**: a sequence of rows, one per unit (an
interaction, or one question of one), one value per rater; ``None`` or NaN is a missing rating.
That is the shape of the CSV file ``qm reliability`` reads and of a calibration session's scores.

An undefined statistic is an answer, not a crash: when the data leave a statistic without a
value, :class:`AgreementError` says why in words, and no function returns NaN or inf. The
decisions, per case:

- **One rater, or no unit rated twice** (including all missing): alpha, Fleiss' kappa, Cohen's
  kappa and percent agreement have no pair of ratings to compare -> AgreementError. ICC needs
  two raters and two units -> AgreementError.
- **All ratings identical**: chance agreement is 1 (expected disagreement 0), so alpha, both
  kappas and every ICC form are 0/0 -> AgreementError ("no variation"). Percent agreement is
  defined (1.0): it makes no claim about chance.
- **A unit with one rating**: it has no pair, so alpha and percent agreement leave it out (as
  Krippendorff prescribes: only pairable values enter the coincidence matrix); Fleiss' kappa
  needs the same number of ratings per unit -> AgreementError naming the unit; Cohen's kappa
  leaves out units not rated by both raters; ICC needs complete data -> AgreementError naming the
  first incomplete unit.
- **A single unit**: alpha, kappas and percent agreement are defined when its ratings vary (and
  are usually poor: there is no between-unit variation to find); ICC needs two units. A
  bootstrap interval is not computed (None): resampling one unit says nothing.
- **Non-numeric values for interval, ratio, ICC**: AgreementError naming unit, rater and value.
  Strings that read as a finite number ("3", "2.5") count as numbers; bools do not. Ordinal
  alpha and weighted kappa need an order: numbers, or ``categories=`` in their order.
- **Ratio alpha with a negative value**: AgreementError (a ratio scale starts at zero).
- **An ICC form whose denominator is zero or negative for the data** (e.g. every unit has the
  same mean for the ``k`` forms): AgreementError; ``icc_all`` leaves that form out.

Values are compared as they are: for nominal data ``3`` and ``3.0`` are the same category, but
``3`` and ``"3"`` are not (the CLI reads numbers as numbers, so a file never mixes them).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import numpy as np

LEVELS = ("nominal", "ordinal", "interval", "ratio")


WEIGHTS = ("linear", "quadratic")


ICC_FORMS = ("1,1", "2,1", "3,1", "1,k", "2,k", "3,k")


METRICS = ("alpha", "fleiss", "cohen", "icc", "agreement")


#: A bootstrap interval is only reported when at least this share of resamples has a value: the
#: resamples that survive are then still most of the sampling distribution, not a biased corner
#: of it (those with variation, say).
MIN_DEFINED_SHARE = 0.5


ICC_DESCRIPTIONS = {
    "1,1": "one-way random, single rater",
    "2,1": "two-way random, absolute agreement, single rater",
    "3,1": "two-way mixed, consistency, single rater",
    "1,k": "one-way random, mean of the raters",
    "2,k": "two-way random, absolute agreement, mean of the raters",
    "3,k": "two-way mixed, consistency, mean of the raters",
}


Data = Sequence[Sequence[Any]] | np.ndarray


class AgreementError(ValueError):
    """The statistic has no value for this data; the message says why, for the person who
    supplied the data. ``unit`` is the 0-based row it concerns, where there is one, so that a
    caller can point at the line of its file."""

    def __init__(self, message: str, unit: int | None = None) -> None:
        super().__init__(message)
        self.unit = unit


@dataclass(frozen=True)
class Result:
    """One statistic with what a reader needs to judge it: how much data, and how uncertain."""

    metric: str
    value: float
    n_units: int
    n_raters: int
    ci_low: float | None = None
    ci_high: float | None = None
    detail: str = ""
    level: str | None = None
    form: str | None = None
    weights: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, Decimal):
        return value.is_nan()
    return False


def _number(value: Any) -> float | None:
    """The value as a finite float, or None when it is not one (bools are not numbers here: a
    yes/no answer is nominal)."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, numbers.Real | Decimal):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _unit_name(index: int, labels: Sequence[Any] | None) -> str:
    if labels is not None and index < len(labels):
        return f"unit {labels[index]!r}"
    return f"unit {index + 1}"


def _rater_name(index: int, raters: Sequence[Any] | None) -> str:
    if raters is not None and index < len(raters):
        return f"rater {raters[index]!r}"
    return f"rater {index + 1}"


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def _rows(data: Data, labels: Sequence[Any] | None = None) -> list[list[Any]]:
    """The data as a rectangular list of rows; a ragged row is the caller's mistake, named."""
    if isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise AgreementError(f"expected a table of units x raters, got {data.ndim} dimensions")
        rows = data.tolist()
    else:
        rows = []
        for i, row in enumerate(data):
            if isinstance(row, str | bytes):
                raise AgreementError(f"{_unit_name(i, labels)} is {row!r}, not a row of ratings",
                                     unit=i)
            rows.append(list(row))
    if not rows:
        raise AgreementError("no units: the table has no rows")
    width = len(rows[0])
    if width == 0:
        raise AgreementError("no raters: the table has no columns")
    for i, row in enumerate(rows):
        if len(row) != width:
            raise AgreementError(f"{_unit_name(i, labels)} has {len(row)} values for {width} "
                                 f"raters", unit=i)
    return rows


def _numeric_matrix(rows: list[list[Any]], purpose: str, labels: Sequence[Any] | None = None,
                    raters: Sequence[Any] | None = None) -> np.ndarray:
    out = np.full((len(rows), len(rows[0])), np.nan)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if _is_missing(value):
                continue
            number = _number(value)
            if number is None:
                raise AgreementError(f"{_unit_name(i, labels)}, {_rater_name(j, raters)}: "
                                     f"{value!r} is "
                                     f"not a number ({purpose} needs numbers)", unit=i)
            out[i, j] = number
    return out


def _category_matrix(rows: list[list[Any]], categories: Sequence[Hashable] | None = None,
                     ordered: bool = False, purpose: str = "",
                     labels: Sequence[Any] | None = None,
                     raters: Sequence[Any] | None = None) -> tuple[np.ndarray, list[Any]]:
    """Codes (floats, NaN for missing) indexing the returned list of categories.

    With ``categories`` their order is the order; otherwise an ordered statistic needs numbers
    (sorted numerically: sorting strings would put "10" before "9"), and a nominal one takes
    any hashable values.
    """
    out = np.full((len(rows), len(rows[0])), np.nan)
    if categories is not None:
        cats = list(categories)
        index = {c: i for i, c in enumerate(cats)}
        if len(index) != len(cats):
            raise AgreementError("categories: a category is listed twice")
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if _is_missing(value):
                    continue
                if value not in index:
                    shown = ", ".join(_fmt(c) for c in cats)
                    raise AgreementError(f"{_unit_name(i, labels)}, {_rater_name(j, raters)}: "
                                         f"{_fmt(value)} is not one of the categories ({shown})",
                                         unit=i)
                out[i, j] = index[value]
        return out, cats
    if ordered:
        numeric = _numeric_matrix(rows, purpose, labels, raters)
        cats_array, inverse = np.unique(numeric[~np.isnan(numeric)], return_inverse=True)
        out[~np.isnan(numeric)] = inverse
        return out, [float(c) for c in cats_array]
    seen: dict[Any, int] = {}
    for row in rows:
        for value in row:
            if not _is_missing(value) and value not in seen:
                seen[value] = len(seen)
    try:
        cats = sorted(seen)
    except TypeError:  # mixed types: any fixed order will do for nominal data
        cats = sorted(seen, key=lambda v: (type(v).__name__, repr(v)))
    index = {c: i for i, c in enumerate(cats)}
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if not _is_missing(value):
                out[i, j] = index[value]
    return out, cats


def _counts(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Units x categories: how many raters put each unit in each category."""
    table = np.zeros((codes.shape[0], max(n_categories, 1)))
    present = ~np.isnan(codes)
    np.add.at(table, (np.nonzero(present)[0], codes[present].astype(int)), 1)
    return table


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")


def _alpha_matrix(rows: list[list[Any]], level: str, categories: Sequence[Hashable] | None,
                  labels: Sequence[Any] | None = None,
                  raters: Sequence[Any] | None = None) -> np.ndarray:
    """The values alpha's metric works on: category codes (nominal, or ordinal with given
    categories) or numbers (ordered by value; interval and ratio use the values themselves)."""
    if level == "nominal" or (level == "ordinal" and categories is not None):
        return _category_matrix(rows, categories, labels=labels, raters=raters)[0]
    if categories is not None:
        raise ValueError(f"categories= gives an order to nominal or ordinal data, not {level}")
    purpose = "ordinal without categories=" if level == "ordinal" else level
    values = _numeric_matrix(rows, purpose, labels, raters)
    if level == "ratio":
        negative = np.argwhere(values < 0)
        if negative.size:
            i, j = negative[0]
            raise AgreementError(f"{_unit_name(int(i), labels)}, {_rater_name(int(j), raters)}: "
                                 f"{_fmt(float(values[i, j]))} is negative, and a ratio scale "
                                 f"starts at zero", unit=int(i))
    return values


def _delta2(values: np.ndarray, n_c: np.ndarray, level: str) -> np.ndarray:
    """Squared difference between every pair of values (Krippendorff 2011, section E)."""
    if level == "nominal":
        return 1.0 - np.eye(len(values))
    if level == "ordinal":
        # (sum of n_g for g from c to k, minus (n_c + n_k) / 2) squared: distance in ranks,
        # where a value's width is how often it was used.
        cumulative = np.cumsum(n_c)
        idx = np.arange(len(values))
        lo, hi = np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)
        between = cumulative[hi] - cumulative[lo] + n_c[lo]
        return (between - (n_c[:, None] + n_c[None, :]) / 2) ** 2
    diff = values[:, None] - values[None, :]
    if level == "interval":
        return diff ** 2
    total = values[:, None] + values[None, :]
    ratio = np.divide(diff, total, out=np.zeros_like(diff), where=total != 0)
    return ratio ** 2


def _alpha(x: np.ndarray, level: str, labels: Sequence[Any] | None = None) -> float:
    """Alpha from the coincidence matrix of pairable values (units with two or more)."""
    present = ~np.isnan(x)
    m = present.sum(axis=1)
    pairable = m >= 2
    if not pairable.any():
        raise AgreementError("Krippendorff's alpha needs at least one unit rated by two raters")
    xs, ms, mask = x[pairable], m[pairable], present[pairable]
    values, inverse = np.unique(xs[mask], return_inverse=True)
    if len(values) < 2:
        raise AgreementError("no variation: every pairable rating is the same, so expected "
                             "disagreement is 0 and alpha is undefined")
    counts = np.zeros((len(xs), len(values)))
    np.add.at(counts, (np.nonzero(mask)[0], inverse), 1)
    weighted = counts / (ms - 1)[:, None]
    coincidences = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    n_c = counts.sum(axis=0)
    n = n_c.sum()
    d2 = _delta2(values, n_c, level)
    observed = float((coincidences * d2).sum())
    expected = float((np.outer(n_c, n_c) * d2).sum()) / float(n - 1)
    return 1.0 - observed / expected


def krippendorff_alpha(data: Data, level: str = "nominal", *,
                       categories: Sequence[Hashable] | None = None) -> float:
    """Krippendorff's alpha for any number of raters, missing ratings allowed.

    The coincidence-matrix method of Krippendorff (2011), "Computing Krippendorff's
    alpha-reliability": 1 is perfect agreement, 0 is what chance gives, below 0 is systematic
    disagreement. ``level`` picks the metric: nominal (categories), ordinal (ranks; numbers, or
    ``categories`` in their order), interval (differences), ratio (differences relative to
    size; values >= 0).
    """
    _check_level(level)
    rows = _rows(data)
    return _alpha(_alpha_matrix(rows, level, categories, None), level)


def _fleiss_table(table: np.ndarray, labels: Sequence[Any] | None = None) -> float:
    if table.shape[0] == 0:
        raise AgreementError("no units: the table has no rows")
    per_unit = table.sum(axis=1)
    usual = float(np.bincount(per_unit.astype(int)).argmax())
    odd = np.nonzero(per_unit != usual)[0]
    if odd.size:
        i = int(odd[0])
        raise AgreementError(f"Fleiss' kappa needs the same number of ratings for every unit: "
                             f"{_unit_name(i, labels)} has {int(per_unit[i])}, most units have "
                             f"{int(usual)}", unit=i)
    n = usual
    if n < 2:
        raise AgreementError(f"Fleiss' kappa needs at least two ratings per unit; every unit has "
                             f"{int(n)}")
    totals = table.sum(axis=0)
    if np.count_nonzero(totals) < 2:
        raise AgreementError("no variation: every rating is the same, so chance agreement is 1 "
                             "and kappa is undefined")
    p_unit = ((table * table).sum(axis=1) - n) / (n * (n - 1))
    p_category = totals / totals.sum()
    p_e = float((p_category ** 2).sum())
    return (float(p_unit.mean()) - p_e) / (1.0 - p_e)


def fleiss_kappa(data: Data, *, labels: Sequence[Any] | None = None) -> float:
    """Fleiss' kappa (1971) for categorical ratings: the raters may differ between units, but
    every unit needs the same number of ratings (missing cells are fine if the count is equal).
    ``labels`` names the units in error messages."""
    rows = _rows(data, labels)
    codes, cats = _category_matrix(rows, labels=labels)
    return _fleiss_table(_counts(codes, len(cats)), labels)


def fleiss_kappa_from_counts(table: Sequence[Sequence[float]] | np.ndarray) -> float:
    """Fleiss' kappa from a units x categories table of how many raters chose each category."""
    counts = np.asarray(table, dtype=float)
    if counts.ndim != 2 or counts.shape[1] == 0:
        raise AgreementError("expected a table of units x categories")
    if not np.isfinite(counts).all() or (counts < 0).any() or (counts % 1 != 0).any():
        raise AgreementError("counts must be whole numbers >= 0")
    return _fleiss_table(counts)


def _check_weights(weights: str | None) -> None:
    if weights is not None and weights not in WEIGHTS:
        raise ValueError(f"unknown weights {weights!r}; choose linear, quadratic or None")


def _cohen_matrix(matrix: np.ndarray, weights: str | None) -> float:
    """Weighted kappa as 1 - observed / expected disagreement; the unweighted kappa is the case
    of weight 1 off the diagonal. Weights use the categories' positions (equally spaced)."""
    observed = matrix / matrix.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    position = np.arange(matrix.shape[0])
    distance = np.abs(position[:, None] - position[None, :]).astype(float)
    if weights is None:
        w = (distance > 0).astype(float)
    elif weights == "linear":
        w = distance
    else:
        w = distance ** 2
    chance = float((w * expected).sum())
    if not chance > 0:
        raise AgreementError("no variation: both raters gave every unit the same category, so "
                             "chance agreement is 1 and kappa is undefined")
    return 1.0 - float((w * observed).sum()) / chance


def _cohen_codes(codes: np.ndarray, n_categories: int, weights: str | None,
                 labels: Sequence[Any] | None = None) -> float:
    both = ~np.isnan(codes).any(axis=1)
    if not both.any():
        raise AgreementError("Cohen's kappa needs at least one unit rated by both raters")
    pairs = codes[both].astype(int)
    matrix = np.zeros((n_categories, n_categories))
    np.add.at(matrix, (pairs[:, 0], pairs[:, 1]), 1)
    return _cohen_matrix(matrix, weights)


def cohen_kappa(a: Sequence[Any], b: Sequence[Any], weights: str | None = None, *,
                categories: Sequence[Hashable] | None = None) -> float:
    """Cohen's kappa for two raters' ratings of the same units, in the same order.

    Units missing either rating are left out. The categories are the sorted union of the values
    (numbers, for weighted kappa) or ``categories``; weighted kappa treats them as equally
    spaced, so list unused levels in ``categories`` to keep their place.
    """
    _check_weights(weights)
    first, second = list(a), list(b)
    if len(first) != len(second):
        raise AgreementError(f"the two raters have {len(first)} and {len(second)} ratings; "
                             f"Cohen's kappa needs one from each per unit")
    rows = _rows([[x, y] for x, y in zip(first, second, strict=True)])
    codes, cats = _category_matrix(rows, categories, ordered=weights is not None,
                                   purpose=f"{weights}-weighted kappa without categories=")
    return _cohen_codes(codes, len(cats), weights)


def cohen_kappa_from_confusion(matrix: Sequence[Sequence[float]] | np.ndarray,
                               weights: str | None = None) -> float:
    """Cohen's kappa from a confusion matrix: rows rater A's categories, columns rater B's, in
    the same (for weighted kappa: ascending) order."""
    _check_weights(weights)
    counts = np.asarray(matrix, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise AgreementError("a confusion matrix is square: one row and one column per category")
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise AgreementError("counts must be numbers >= 0")
    if counts.sum() == 0:
        raise AgreementError("the confusion matrix is empty: no unit was rated by both raters")
    return _cohen_matrix(counts, weights)


def normalize_icc_form(form: str, n_raters: int | None = None) -> str:
    """"2,1", "ICC(2,1)", "icc2k" or "2,4" (with 4 raters) -> "2,1" / "2,k".

    A number after the comma other than 1 means the mean of that many raters, which is only the
    data's own ``k``: asking for another k is an AgreementError, an unknown form a ValueError.
    """
    text = re.sub(r"[\s()]", "", str(form)).lower().removeprefix("icc")
    match = re.fullmatch(r"([123]),?(1|k|\d+)", text)
    if not match:
        raise ValueError(f"unknown ICC form {form!r}; choose one of {', '.join(ICC_FORMS)}")
    model, raters = match.groups()
    if raters not in ("1", "k"):
        if n_raters is not None and int(raters) != n_raters:
            raise AgreementError(f"ICC({model},{raters}) is the mean of {raters} raters, but the "
                                 f"data has {n_raters}; use {model},k")
        raters = "k"
    return f"{model},{raters}"


def _icc_matrix(rows: list[list[Any]], labels: Sequence[Any] | None = None,
                raters: Sequence[Any] | None = None) -> np.ndarray:
    x = _numeric_matrix(rows, "ICC", labels, raters)
    n, k = x.shape
    incomplete = np.nonzero(np.isnan(x).any(axis=1))[0]
    if incomplete.size:
        i = int(incomplete[0])
        missing = ", ".join(_rater_name(j, raters) for j in np.nonzero(np.isnan(x[i]))[0])
        raise AgreementError(f"ICC needs every unit rated by every rater: {_unit_name(i, labels)}"
                             f" has no rating from {missing}", unit=i)
    if k < 2:
        raise AgreementError("ICC needs at least two raters")
    if n < 2:
        raise AgreementError("ICC needs at least two units")
    return x


def _icc_parts(x: np.ndarray) -> dict[str, tuple[float, float]]:
    """Numerator and denominator of each Shrout & Fleiss (1979) form, from the two-way ANOVA."""
    n, k = x.shape
    grand = x.mean()
    total = float(((x - grand) ** 2).sum())
    if total == 0:
        raise AgreementError("no variation: every rating is the same, so the ICC is undefined")
    between = k * float(((x.mean(axis=1) - grand) ** 2).sum())
    judges = n * float(((x.mean(axis=0) - grand) ** 2).sum())
    bms = between / (n - 1)
    jms = judges / (k - 1)
    wms = max(total - between, 0.0) / (n * (k - 1))
    ems = max(total - between - judges, 0.0) / ((n - 1) * (k - 1))
    return {
        "1,1": (bms - wms, bms + (k - 1) * wms),
        "2,1": (bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n),
        "3,1": (bms - ems, bms + (k - 1) * ems),
        "1,k": (bms - wms, bms),
        "2,k": (bms - ems, bms + (jms - ems) / n),
        "3,k": (bms - ems, bms),
        "_scale": (total / (n * k - 1), bms),
    }


def _icc_value(parts: dict[str, tuple[float, float]], key: str) -> float:
    numerator, denominator = parts[key]
    scale, bms = parts["_scale"]
    tolerance = 1e-12 * scale  # a sum of squares that is 0 in exact arithmetic may be 1e-30
    if denominator <= tolerance:
        if bms <= tolerance:
            reason = "every unit has the same mean rating (no between-unit variance)"
        else:
            reason = "the variance it divides by is not positive"
        raise AgreementError(f"ICC({key}) is undefined for this data: {reason}")
    return float(numerator / denominator)


def _icc_codes(x: np.ndarray, key: str, labels: Sequence[Any] | None = None) -> float:
    return _icc_value(_icc_parts(x), key)


def icc(data: Data, form: str, *, labels: Sequence[Any] | None = None) -> float:
    """Intraclass correlation, Shrout & Fleiss (1979) form "1,1", "2,1", "3,1", "1,k", "2,k" or
    "3,k", for numeric scores with every unit rated by every rater.

    Which form: 2,1 when the raters are a sample of the evaluators who could score and their
    absolute level matters (the usual calibration question); 3,1 when only these raters count
    and a constant offset between them is acceptable; the k forms for the reliability of the
    raters' mean score.
    """
    rows = _rows(data, labels)
    x = _icc_matrix(rows, labels)
    return _icc_value(_icc_parts(x), normalize_icc_form(form, x.shape[1]))


def icc_all(data: Data, *, labels: Sequence[Any] | None = None) -> dict[str, float]:
    """All six forms; a form that is undefined for this data is left out of the dict (the data
    as a whole being unusable is an AgreementError)."""
    x = _icc_matrix(_rows(data, labels), labels)
    parts = _icc_parts(x)
    values: dict[str, float] = {}
    for key in ICC_FORMS:
        try:
            values[key] = _icc_value(parts, key)
        except AgreementError:
            continue
    if not values:
        raise AgreementError("no ICC form is defined for this data: every unit has the same "
                             "mean rating")
    return values


def _agreement_codes(codes: np.ndarray, n_categories: int,
                     labels: Sequence[Any] | None = None) -> float:
    table = _counts(codes, n_categories)
    per_unit = table.sum(axis=1)
    pairs = float((per_unit * (per_unit - 1)).sum()) / 2
    if pairs == 0:
        raise AgreementError("percent agreement needs at least one unit rated by two raters")
    return float((table * (table - 1)).sum()) / 2 / pairs


def percent_agreement(data: Data) -> float:
    """The share of agreeing pairs among all pairs of ratings of the same unit (0 to 1).

    Easy to explain, and blind to chance: two raters who always say "pass" agree 100%. Report
    it beside a chance-corrected statistic, not instead of one.
    """
    codes, cats = _category_matrix(_rows(data))
    return _agreement_codes(codes, len(cats))


def bootstrap_ci(data: Data, statistic: Callable[[Any], float], n_resamples: int = 1000,
                 level: float = 0.95, seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval, resampling units with replacement.

    Units, not ratings, are resampled because the units are the sample (of interactions) that
    the statistic generalises from. A resample where the statistic is undefined (say, no
    variation) is skipped; when fewer than ``MIN_DEFINED_SHARE`` (half) of the resamples have a
    value, or there is only one unit, there is no honest interval and the answer is None. The
    same seed and data give the same interval. ``statistic`` receives a resampled table of the
    same kind as ``data`` (a numpy array, or a list of rows).
    """
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1, e.g. 0.95")
    rows = data if isinstance(data, np.ndarray) else list(data)
    n = len(rows)
    if n < 2:
        return None
    picks = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    values = []
    for idx in picks:
        sample = rows[idx] if isinstance(rows, np.ndarray) else [rows[i] for i in idx]
        try:
            value = float(statistic(sample))
        except AgreementError:
            continue
        if math.isfinite(value):
            values.append(value)
    if not values or len(values) < MIN_DEFINED_SHARE * n_resamples:
        return None
    low, high = np.quantile(np.asarray(values), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def compute(metric: str, data: Data, level: str | None = None, weights: str | None = None,
            ci: bool = True, seed: int = 0, *, form: str = "2,1",
            categories: Sequence[Hashable] | None = None, labels: Sequence[Any] | None = None,
            raters: Sequence[Any] | None = None, n_resamples: int = 1000,
            ci_level: float = 0.95) -> Result:
    """The statistic ``metric`` (alpha, fleiss, cohen, icc, agreement) with a bootstrap interval.

    The CLI and the calibration pages both call this, so they agree on every number. The data
    are read once into numbers, and the bootstrap resamples those. ``level`` applies to alpha
    (default nominal), ``weights`` to cohen, ``form`` to icc; the others ignore them.
    ``categories`` lists the allowed values of categorical data in their order: it orders ordinal
    alpha and weighted cohen, and only checks the values for the rest (icc ignores it; interval
    and ratio alpha refuse it). ``labels`` and ``raters`` name units and raters in errors.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    rows = _rows(data, labels)
    n_units, n_raters = len(rows), len(rows[0])
    statistic: Callable[..., float]
    extra: dict[str, str | None] = {}
    if metric == "alpha":
        level = level or "nominal"
        _check_level(level)
        matrix = _alpha_matrix(rows, level, categories, labels, raters)
        statistic = partial(_alpha, level=level)
        detail = f"Krippendorff's alpha ({level})"
        extra["level"] = level
    elif metric == "fleiss":
        matrix, cats = _category_matrix(rows, categories, labels=labels, raters=raters)
        statistic = _fleiss_from_codes(len(cats))
        detail = "Fleiss' kappa"
    elif metric == "cohen":
        _check_weights(weights)
        if n_raters != 2:
            raise AgreementError(f"Cohen's kappa compares exactly two raters; this data has "
                                 f"{n_raters} (alpha and fleiss take any number)")
        matrix, cats = _category_matrix(
            rows, categories, ordered=weights is not None, labels=labels, raters=raters,
            purpose=f"{weights}-weighted kappa without categories")
        statistic = partial(_cohen_codes, n_categories=len(cats), weights=weights)
        detail = f"Cohen's kappa, {weights} weights" if weights else "Cohen's kappa"
        extra["weights"] = weights
    elif metric == "icc":
        key = normalize_icc_form(form, n_raters)
        matrix = _icc_matrix(rows, labels, raters)
        statistic = partial(_icc_codes, key=key)
        detail = f"ICC({key}), {ICC_DESCRIPTIONS[key]}"
        extra["form"] = key
    else:
        matrix, cats = _category_matrix(rows, categories, labels=labels, raters=raters)
        statistic = partial(_agreement_codes, n_categories=len(cats))
        detail = "percent agreement (agreeing pairs of ratings within units)"
    value = float(statistic(matrix, labels=labels))
    interval = bootstrap_ci(matrix, statistic, n_resamples, ci_level, seed) if ci else None
    return Result(metric=metric, value=value, n_units=n_units, n_raters=n_raters,
                  ci_low=interval[0] if interval else None,
                  ci_high=interval[1] if interval else None, detail=detail, **extra)


def _fleiss_from_codes(n_categories: int) -> Callable[..., float]:
    def statistic(codes: np.ndarray, labels: Sequence[Any] | None = None) -> float:
        return _fleiss_table(_counts(codes, n_categories), labels)

    return statistic
