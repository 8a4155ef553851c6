"""Training a flagging model on what evaluators found, measured before it is trusted.

The target is the evaluators' verdict: an evaluation "found a problem" when it failed a critical
question or scored below the site's ``flag_score_below`` (``QM_FLAG_SCORE_BELOW``, 80 by
default). Only finished evaluations count, with their latest revision's score; the verdicts come
from the layer that keeps evaluations, through the ``evaluator_verdicts`` signal. Training
reports its cross-validated ROC AUC (0.5 is chance) and the share of problems among the top
tenth it would flag, against the share among all, and refuses a model that would flag noise.
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
from transcription.flagging.features import build_pipeline, row_of
from transcription.models import FlaggingModel, Transcript
from transcription.settings import flag_score_below

ACTOR = SystemActor("flagging")
MIN_EXAMPLES = 40
MIN_PER_CLASS = 8
MIN_AUC = 0.6
"""A model whose cross-validated ROC AUC is under this is refused: it ranks the verdicts little
better than chance (the demo's evaluations, scored at random, give about 0.4), and flagging
with it would send evaluators after noise."""


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

    def lines(self) -> list[str]:
        return [
            f"model {self.version}: {self.examples} evaluated interactions, {self.problems} "
            f"with a problem (critical fail or score below {self.score_below:g})",
            f"cross-validated ROC AUC {self.cv_roc_auc:.3f} over {self.folds} folds "
            "(0.5 is chance)",
            f"problems among the top 10% it ranks: {self.top_decile_precision:.0%}, against "
            f"{self.prevalence:.0%} among all",
        ]


def training_set(session: Session, below: float) -> tuple[list[int], list[dict[str, Any]],
                                                           list[int]]:
    """(interaction ids, feature rows, labels) of what evaluators found about interactions
    with a transcript, oldest interaction first; label 1 where the evaluation found a problem.
    The verdicts come from the layer that keeps evaluations, through ``evaluator_verdicts``
    (scoring answers with every finished evaluation that was not targeted)."""
    found = sorted(gather(evaluator_verdicts, session=session))
    transcripts: dict[int, Transcript] = {}
    for start in range(0, len(found), 500):
        ids = [v.interaction_id for v in found[start:start + 500]]
        transcripts.update((t.interaction_id, t) for t in session.scalars(
            select(Transcript).where(Transcript.interaction_id.in_(ids))))
    ids, rows, labels = [], [], []
    for verdict in found:
        transcript = transcripts.get(verdict.interaction_id)
        if transcript is None:
            continue
        ids.append(verdict.interaction_id)
        rows.append(row_of(transcript))
        labels.append(1 if verdict.critical_fail or verdict.score < below else 0)
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
    pipeline = build_pipeline().fit(rows, y)
    digest = hashlib.sha256(repr((ids, labels, below, sklearn.__version__)).encode())
    version = f"m-{digest.hexdigest()[:16]}"  # when it was made is in created_at
    report = TrainReport(version=version, examples=len(rows), problems=problems,
                         score_below=below, folds=folds,
                         cv_roc_auc=round(float(roc_auc_score(y, scores)), 4),
                         prevalence=round(problems / len(rows), 4),
                         top_decile_precision=round(float(y[top].mean()), 4),
                         sklearn=sklearn.__version__)
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
