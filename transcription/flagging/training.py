"""Training a flagging model on what evaluators found, measured before it is trusted.

The target is the evaluators' verdict: an evaluation "found a problem" when it failed a critical
question or scored below the site's ``flag_score_below`` (``QM_FLAG_SCORE_BELOW``, 80 by
default). Only finished evaluations count, with their latest revision's score; the verdicts come
from the layer that keeps evaluations, through the ``evaluator_verdicts`` signal. Training
reports its cross-validated ROC AUC (0.5 is chance) and the share of problems among the top
tenth it would flag, against the share among all, and refuses a model that would flag noise.

Training also chooses where the model flags: the threshold, on the same out-of-fold
probabilities (``TARGET_PRECISION``, ``MAX_FLAGGED_SHARE``), stored in the report with what it
gave, so that a site is told how many interactions it will flag and how often rightly.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qm import audit
from qm.auth.permissions import SystemActor, require
from qm.db import settings_of
from qm.errors import QMError
from qm.signals import evaluator_verdicts, gather
from transcription.flagging.classify import choose_threshold
from transcription.flagging.features import build_pipeline, row_of
from transcription.flagging.services import PROBLEM
from transcription.models import Flag, FlaggingModel, FlagVerdict, FlagVerdictKind, Transcript
from transcription.settings import flag_score_below

ACTOR = SystemActor("flagging")
MIN_EXAMPLES = 40
MIN_PER_CLASS = 8
MIN_AUC = 0.6
"""A model whose cross-validated ROC AUC is under this is refused: it ranks the verdicts little
better than chance (the demo's evaluations, scored at random, give about 0.4), and flagging
with it would send evaluators after noise."""
THRESHOLD = 0.5
"""The fallback threshold, for models trained before training chose one (their stored report has
no ``threshold``): flagged from this probability up. Models trained since are flagged from the
threshold in their report, chosen on cross-validated probabilities to flag fewer: the classes are
weighted to balance, so at 0.5 a model flags about as many interactions as it leaves, far more
than evaluators can look at. A chosen threshold is never under this one. Kept, and exported,
because other code names it (``verdicts.THRESHOLD``, ``flagging.THRESHOLD``)."""
TARGET_PRECISION = 0.6
"""The threshold is chosen so that, cross-validated, at least this share of the interactions it
flags held a problem (the most problems found among the thresholds that reach it). The classes
are weighted to balance, so the model's 0.5 flags about as many interactions as it leaves (82 of
167 in the demo): more than evaluators can look at, and wrong about as often as right. Asking
for precision flags fewer, and an evaluator sent to a flagged interaction is more often right to
go. 60% asks for better than a coin toss among the flagged without asking the impossible of a
model trained on a few hundred evaluations. The threshold is never under ``THRESHOLD``
(0.5): a model flags no more than it did before thresholds were chosen."""
MAX_FLAGGED_SHARE = 0.2
"""The fallback when the precision target is not met: the threshold closest to the target is
raised, if need be, until at most this share of the training examples (out of fold) would be
flagged, the higher of the two thresholds. A model that cannot be precise is at least made to
flag few, the ones it ranks highest, rather than half the site.

"Not met" includes a target met only as flagging at random would meet it: where the centre's
share of problems is already at or above the target, flagging every interaction "reaches" it
(a demo whose evaluations found a problem in 62% was flagged 164 of 167 by the target alone),
so a choice whose precision is no better than that share falls back too."""


class FlaggingError(QMError):
    """Flagging cannot be done as asked; the message says why and what would help."""


@dataclass
class TrainReport:
    """What a training run measured; stored with the model and printed by the CLI."""

    version: str
    examples: int
    problems: int
    score_below: float
    folds: int
    cv_roc_auc: float
    """Cross-validated: each example scored by a model that never saw it. 0.5 is chance."""
    prevalence: float
    """The share of evaluations that found a problem."""
    top_decile_precision: float
    """The share of problems among the tenth of examples the model ranks highest."""
    sklearn: str
    # Since the threshold is chosen at training; reports stored before lack these, and load
    # with the defaults (``verdicts`` then flags from its fallback ``THRESHOLD``).
    threshold: float | None = None
    """Flagged from this probability up (``TARGET_PRECISION``, else ``MAX_FLAGGED_SHARE``;
    never under ``THRESHOLD``)."""
    threshold_choice: dict[str, Any] | None = None
    """What ``classify.choose_threshold`` chose for the target, and whether it met it
    (``ThresholdChoice.as_dict``), before it is raised to 0.5 or for ``MAX_FLAGGED_SHARE``."""
    flagged_share: float | None = None
    """Out of fold: the share of the training examples at or above the threshold."""
    precision_at_threshold: float | None = None
    """Out of fold: the share of problems among the examples at or above the threshold."""
    recall_at_threshold: float | None = None
    """Out of fold: the share of all problems that are at or above the threshold."""
    fell_back: bool = False
    """No threshold met ``TARGET_PRECISION`` better than at random: capped by
    ``MAX_FLAGGED_SHARE`` instead."""

    def lines(self) -> list[str]:
        lines = [
            f"model {self.version}: {self.examples} evaluated interactions, {self.problems} "
            f"with a problem (critical fail or score below {self.score_below:g})",
            f"cross-validated ROC AUC {self.cv_roc_auc:.3f} over {self.folds} folds "
            "(0.5 is chance)",
            f"problems among the top 10% it ranks: {self.top_decile_precision:.0%}, against "
            f"{self.prevalence:.0%} among all",
        ]
        if self.threshold is not None and self.flagged_share is not None:
            line = (f"flags from {self.threshold:.2f} up: {self.flagged_share:.0%} of these "
                    f"evaluations, {self.precision_at_threshold or 0:.0%} of them with a "
                    f"problem (cross-validated)")
            if self.fell_back:
                line += (f"; {TARGET_PRECISION:.0%} with a problem was out of reach, or no "
                         f"better than flagging at random, so it flags the "
                         f"{MAX_FLAGGED_SHARE:.0%} it ranks highest")
            lines.append(line)
        return lines


def cap_for_share(probabilities: Any, share: float) -> float:
    """The lowest threshold at which at most ``share`` of ``probabilities`` are flagged (at or
    above it), at least the top one; halfway between the lowest flagged and the next lower, as
    ``classify.choose_threshold`` places its cuts, so a new interaction scored a little
    differently falls on the same side."""
    counts: dict[float, int] = {}
    for p in probabilities:
        counts[float(p)] = counts.get(float(p), 0) + 1
    distinct = sorted(counts, reverse=True)
    most = max(1, int(share * sum(counts.values())))
    value, flagged = distinct[0], 0
    for n, lowest in enumerate(distinct):
        flagged += counts[lowest]
        if flagged > most and n > 0:
            break
        below = distinct[n + 1] if n + 1 < len(distinct) else None
        value = lowest if below is None else (lowest + below) / 2
    return round(value, 6)


def training_set(session: Session, below: float) -> tuple[list[int], list[dict[str, Any]],
                                                           list[int]]:
    """(interaction ids, feature rows, labels) of what evaluators found about interactions
    with a transcript, oldest interaction first; label 1 where the evaluation found a problem.
    The verdicts come from the layer that keeps evaluations, through ``evaluator_verdicts``
    (scoring answers with every finished evaluation that was not targeted), and, for an
    interaction no finished evaluation speaks for, from evaluators' word on the "found a
    problem" flag in the review queue: dismissed, 0; confirmed or added as missed, 1."""
    found = {v.interaction_id: 1 if v.critical_fail or v.score < below else 0
             for v in gather(evaluator_verdicts, session=session)}
    for interaction_id, verdict in session.execute(
            select(FlagVerdict.interaction_id, FlagVerdict.verdict)
            .join(Flag, Flag.id == FlagVerdict.flag_id).where(Flag.name == PROBLEM)):
        found.setdefault(interaction_id,
                         0 if verdict == FlagVerdictKind.REJECTED.value else 1)
    order = sorted(found)
    transcripts: dict[int, Transcript] = {}
    for start in range(0, len(order), 500):
        transcripts.update((t.interaction_id, t) for t in session.scalars(
            select(Transcript).where(Transcript.interaction_id.in_(order[start:start + 500]))))
    ids, rows, labels = [], [], []
    for interaction_id in order:
        transcript = transcripts.get(interaction_id)
        if transcript is None:
            continue
        ids.append(interaction_id)
        rows.append(row_of(transcript))
        labels.append(found[interaction_id])
    return ids, rows, labels


def train(session: Session, actor: Any = ACTOR, *, below: float | None = None,
          min_examples: int = MIN_EXAMPLES, min_auc: float = MIN_AUC) -> TrainReport:
    """Fit a model on every finished evaluation, measure it, store it as the current one.

    ``below``: the score under which an evaluation found a problem; by default the site's
    ``QM_FLAG_SCORE_BELOW`` (``qm.db.settings_of``). Refuses (``FlaggingError``, nothing
    stored) with fewer than ``min_examples`` examples or fewer than ``MIN_PER_CLASS`` of either
    kind: a model trained on a handful of verdicts would flag noise with confidence. Refuses as
    well a model that, cross-validated, ranks the verdicts with a ROC AUC under ``min_auc``.
    Deterministic: the same evaluations (and the same scikit-learn) give the same model and the
    same version, stored once.
    """
    import joblib
    import numpy as np
    import sklearn
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    require(actor, "sampling.manage")  # it decides what gets looked at: the sampling owners'
    below = flag_score_below(settings_of(session)) if below is None else below
    ids, rows, labels = training_set(session, below)
    problems = sum(labels)
    if len(rows) < min_examples or min(problems, len(rows) - problems) < MIN_PER_CLASS:
        raise FlaggingError(
            f"Not enough to learn from: {len(rows)} finished evaluation(s) with a transcript, "
            f"{problems} that found a problem and {len(rows) - problems} that did not. "
            f"Training needs at least {min_examples}, and {MIN_PER_CLASS} of each kind; "
            "evaluate more interactions (or change QM_FLAG_SCORE_BELOW) and train again.")
    y = np.array(labels)
    folds = int(min(5, problems, len(rows) - problems))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    scores = cross_val_predict(build_pipeline(), rows, y, cv=splitter,
                               method="predict_proba")[:, 1]
    top = np.argsort(-scores, kind="stable")[:max(1, len(rows) // 10)]
    choice = choose_threshold(labels, [float(p) for p in scores],
                              target_precision=TARGET_PRECISION)
    # better than flagging at random? Measured on the examples the choice flags (its cut falls
    # between distinct probabilities), exactly: its precision is rounded to 4 places
    chosen = np.argsort(-scores, kind="stable")[:max(1, choice.flagged)]
    met = choice.met and bool(y[chosen].mean() > y.mean())
    # Never below THRESHOLD: the classes are weighted to balance, so under 0.5 the model leans
    # towards "no problem"; asking for precision only ever raises the threshold, and a model
    # never flags more than it did at 0.5.
    threshold = max(choice.value, THRESHOLD)
    if not met:  # a weak model: flag its highest-ranked few rather than half the site
        threshold = max(threshold, cap_for_share(scores, MAX_FLAGGED_SHARE))
    flagged = scores >= threshold
    pipeline = build_pipeline().fit(rows, y)
    digest = hashlib.sha256(repr((ids, labels, below, sklearn.__version__)).encode())
    version = f"m-{digest.hexdigest()[:16]}"  # when it was made is in created_at
    report = TrainReport(version=version, examples=len(rows), problems=problems,
                         score_below=below, folds=folds,
                         cv_roc_auc=round(float(roc_auc_score(y, scores)), 4),
                         prevalence=round(problems / len(rows), 4),
                         top_decile_precision=round(float(y[top].mean()), 4),
                         sklearn=sklearn.__version__, threshold=threshold,
                         threshold_choice=choice.as_dict(),
                         flagged_share=round(float(flagged.mean()), 4),
                         precision_at_threshold=round(float(y[flagged].mean()), 4)
                         if flagged.any() else 0.0,
                         recall_at_threshold=round(float(flagged[y == 1].mean()), 4),
                         fell_back=not met)
    if report.cv_roc_auc < min_auc:
        raise FlaggingError(
            f"Nothing stored: the model would not tell problems apart. Cross-validated, it "
            f"ranks the {len(rows)} evaluations with a ROC AUC of {report.cv_roc_auc:.3f} "
            f"(0.5 is chance; at least {min_auc:g} is needed). The transcripts may not show "
            "what the evaluators mark down; more evaluations, or another QM_FLAG_SCORE_BELOW, "
            "may help.")
    existing = session.scalar(select(FlaggingModel).where(FlaggingModel.version == version))
    if existing is not None:  # the same evaluations again: the same model, already stored
        return TrainReport(**existing.report)
    buffer = io.BytesIO()
    joblib.dump({"pipeline": pipeline, "version": version}, buffer, compress=3)
    stored = FlaggingModel(version=version, examples=len(rows), report=asdict(report),
                           payload=buffer.getvalue())
    session.add(stored)
    session.flush()
    audit.record(session, actor, "flagging.trained", stored, after=asdict(report))
    return report
