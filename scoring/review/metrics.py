"""How right a flag is, measured from evaluators' verdicts: its precision with a 95% Wilson
interval, and whether that meets the flag's target.

Pure: no database, no app. The flag report (``queries.flag_report``) counts the verdicts in SQL
and hands the counts here.

Why Wilson and not "p plus or minus 1.96 standard errors": a flag is judged a few times a
month, and with 8 of 10 confirmed the plain interval runs past 100% (and with 10 of 10 it is
zero wide); Wilson's stays inside 0-100% and is honest about small samples.
"""

from __future__ import annotations

from dataclasses import dataclass

from qm.stats import wilson


@dataclass(frozen=True)
class Precision:
    """Of the hits evaluators judged, the share they confirmed (fractions 0..1), with its 95%
    Wilson interval; ``value`` None when none was judged yet."""

    confirmed: int
    dismissed: int
    value: float | None
    low: float | None
    high: float | None

    @property
    def reviewed(self) -> int:
        return self.confirmed + self.dismissed

    @property
    def words(self) -> str:
        if self.value is None:
            return "no reviews yet"
        assert self.low is not None and self.high is not None
        return (f"{self.value:.1%} confirmed of {self.reviewed} reviewed (95% interval "
                f"{self.low:.1%}–{self.high:.1%})")


def precision(confirmed: int, dismissed: int) -> Precision:
    """confirmed / (confirmed + dismissed), with its interval; "no reviews yet" at 0 + 0."""
    reviewed = confirmed + dismissed
    interval = wilson(confirmed, reviewed)
    if interval is None:
        return Precision(confirmed, dismissed, None, None, None)
    return Precision(confirmed, dismissed, confirmed / reviewed, *interval)


def target_met(measured: Precision, target: float | None) -> bool | None:
    """Whether the measured precision reaches the target (both fractions): None when there is
    no target or nothing reviewed yet. The point estimate decides; ``target_sure`` says
    whether the interval agrees."""
    if target is None or measured.value is None:
        return None
    return measured.value >= target


def target_sure(measured: Precision, target: float | None) -> bool:
    """Whether the whole 95% interval lies on one side of the target, so the verdict of
    ``target_met`` is not a matter of a few reviews."""
    if target is None or measured.low is None or measured.high is None:
        return False
    return measured.low >= target or measured.high < target
