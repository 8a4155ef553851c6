"""A calibration session's results: per question and item, each evaluator against the
expert's and the consensus answer, and the session's agreement statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from qm.auth.models import User
from scoring.calibration import reliability
from scoring.calibration.models import (
    CalibrationItem,
    CalibrationSession,
)
from scoring.forms import rules
from scoring.forms import services as form_services


def form_of(item: CalibrationSession) -> rules.Form:
    return form_services.rules_of(item.form_version)



@dataclass
class QuestionRow:
    key: str
    text: str
    answers: dict[int, Any]  # evaluator id -> answer (None: not shown or not answered)
    shares: dict[int, float]  # evaluator id -> share of the question's points earned
    expert: Any = None
    consensus: Any = None
    consensus_note: str = ""

    @property
    def distinct(self) -> int:
        return len({as_nominal(v) for v in self.answers.values() if v is not None})

    @property
    def spread(self) -> float | None:
        """Range of the share of points, in percentage points (0: all alike)."""
        if len(self.shares) < 2:
            return None
        return 100 * (max(self.shares.values()) - min(self.shares.values()))


@dataclass
class ItemResult:
    item: CalibrationItem
    totals: dict[int, Decimal | None]

    questions: list[QuestionRow]

    def reference(self, evaluator_id: int | None = None) -> tuple[str, float | None]:
        """The reference an evaluator's total is compared with, and its value: the recorded
        consensus; else the expert (for everyone but the expert, if the expert scored it);
        else the mean of the others."""
        if self.item.consensus_score is not None:
            return "consensus", float(self.item.consensus_score)
        expert = self.item.session.expert_id
        if expert is not None and expert != evaluator_id and self.totals.get(expert) is not None:
            return "expert", float(self.totals[expert])  # type: ignore[arg-type]
        others = [float(v) for k, v in self.totals.items() if k != evaluator_id
                  and v is not None]
        return "mean of the others", (sum(others) / len(others) if others else None)

    def deviation(self, evaluator_id: int) -> float | None:
        own = self.totals.get(evaluator_id)
        _label, ref = self.reference(evaluator_id)
        return None if own is None or ref is None else float(own) - ref


@dataclass
class Statistic:
    name: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    note: str = ""


@dataclass
class QuestionAgreement:
    key: str
    text: str
    agreement: Statistic  # percent agreement of the answers across the items
    alpha: Statistic  # Krippendorff's alpha (nominal) across the items


@dataclass
class Results:
    session: CalibrationSession
    evaluators: list[User]
    items: list[ItemResult]
    statistics: list[Statistic] = field(default_factory=list)
    questions: list[QuestionAgreement] = field(default_factory=list)
    missing: dict[int, list[int]] = field(default_factory=dict)  # evaluator -> item positions

    def mean_abs_deviation(self, evaluator_id: int) -> float | None:
        values = [abs(d) for r in self.items if (d := r.deviation(evaluator_id)) is not None]
        return sum(values) / len(values) if values else None

    def references(self, evaluator_id: int) -> str:
        labels = {r.reference(evaluator_id)[0] for r in self.items
                  if r.totals.get(evaluator_id) is not None}
        return ", ".join(sorted(labels))

    def matches_reference(self, evaluator_id: int) -> float | None:
        """Share of the evaluator's answers equal to the item's reference answers: the
        consensus where one is recorded for the item, else the expert's."""
        pairs = []
        for result in self.items:
            use_consensus = result.item.consensus_score is not None
            if not use_consensus and evaluator_id == self.session.expert_id:
                continue
            for row in result.questions:
                reference = row.consensus if use_consensus else row.expert
                answer = row.answers.get(evaluator_id)
                if reference is not None and answer is not None:
                    pairs.append(as_nominal(answer) == as_nominal(reference))
        return sum(pairs) / len(pairs) if pairs else None


def _shares(form: rules.Form, answers: dict[str, Any]) -> dict[str, float]:
    """Each scored question's share of its points, from one scoring of the whole answer set
    (so conditional questions see the answers they depend on)."""
    try:
        result = rules.score(form, answers, partial=True)
    except rules.AnswerError:
        return {}
    return {q.key: float(q.earned / q.possible) for q in result.questions if q.possible}


def _statistic(name: str, metric: str, data: list[list[Any]], **options: Any) -> Statistic:
    try:
        result = reliability.compute(metric, data, **options)
    except reliability.AgreementError as exc:
        return Statistic(name, None, note=str(exc))
    return Statistic(name, result.value, result.ci_low, result.ci_high)


def results(session: Session, item: CalibrationSession, *,
            statistics: bool = True) -> Results:
    """Everything the record shows. The statistics of a closed session are the ones frozen at
    closing; ``statistics=False`` skips them (the drift report needs only deviations)."""
    form = form_of(item)
    questions = [q for s in form.sections for q in s.questions if q.type in rules.SCORED_TYPES]
    evaluators = sorted((p.user for p in item.participants), key=lambda u: u.display_name)
    out = Results(item, evaluators, [])
    submitted = {i.id: {s.evaluator_id: s for s in i.scores if s.status == "submitted"}
                 for i in item.items}
    # The raters of the statistics: those who submitted something. An invitee who never
    # scored is listed as missing, not counted as a rater with every rating absent.
    ids = [u.id for u in evaluators if any(u.id in scores for scores in submitted.values())]
    nominal: list[list[Any]] = []
    interval: list[list[Any]] = []
    totals_rows: list[list[Any]] = []
    for calibration_item in item.items:
        scores = submitted[calibration_item.id]
        for evaluator in evaluators:
            if evaluator.id not in scores:
                out.missing.setdefault(evaluator.id, []).append(calibration_item.position)
        shares = {e: _shares(form, s.answers) for e, s in scores.items()}
        rows = []
        for q in questions:
            answers = {e: scores[e].answers.get(q.key) for e in scores}
            row_shares = {e: shares[e][q.key] for e in scores if q.key in shares[e]}
            rows.append(QuestionRow(
                q.key, q.text, answers, row_shares,
                expert=answers.get(item.expert_id) if item.expert_id else None,
                consensus=calibration_item.consensus.get(q.key),
                consensus_note=calibration_item.consensus_notes.get(q.key, "")))
            if any(a is not None for a in answers.values()):
                nominal.append([as_nominal(answers.get(e)) for e in ids])
                interval.append([row_shares.get(e) for e in ids])
        totals = {e: scores[e].score for e in scores}
        totals_rows.append([float(totals[e]) if totals.get(e) is not None else None
                            for e in ids])
        out.items.append(ItemResult(calibration_item, totals, rows))
    if not statistics:
        return out
    if not item.is_open and item.statistics:
        out.statistics = [Statistic(**stat) for stat in item.statistics]
    else:
        complete = [row for row in totals_rows if all(v is not None for v in row)]
        out.statistics = [
            _statistic("Krippendorff's alpha, answers (nominal)", "alpha", nominal,
                       level="nominal"),
            _statistic("Krippendorff's alpha, points earned (interval)", "alpha", interval,
                       level="interval"),
            _statistic("Fleiss' kappa, answers", "fleiss", nominal),
            _statistic("Percent agreement, answers", "agreement", nominal),
            _statistic("ICC(2,1), total scores", "icc", complete, form="2,1"),
        ]
        if len(complete) < len(totals_rows):
            out.statistics[-1].note = ((out.statistics[-1].note + " ").lstrip() +
                                       f"Over the {len(complete)} interaction(s) every rater "
                                       "scored.")
        if len(ids) == 2:
            out.statistics.append(_statistic("Cohen's kappa, answers", "cohen", nominal))
    for index, q in enumerate(questions):
        units = [[as_nominal(r.questions[index].answers.get(e)) for e in ids] for r in out.items]
        out.questions.append(QuestionAgreement(
            q.key, q.text, _statistic("agreement", "agreement", units, ci=False),
            _statistic("alpha", "alpha", units, level="nominal", ci=False)))
    return out


def as_nominal(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return "|".join(sorted(str(v) for v in value))
    return str(value)
