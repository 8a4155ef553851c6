"""Flagging: which interactions an evaluator should look at first, learnt from evaluators.

A centre evaluates a few percent of its contacts. A model that has read the transcripts and
metrics of the evaluated ones, and what the evaluators found, can point at the unevaluated
contacts most likely to hold a problem. The target is the evaluators' verdict: an evaluation
"found a problem" when it failed a critical question or scored below ``QM_FLAG_SCORE_BELOW``
(80 by default). Only finished evaluations count (submitted, released, acknowledged,
disputed), with their latest revision's score.

The model is deliberately simple, so that it can be trained on a few hundred evaluations and
explained: a scikit-learn ``Pipeline`` of TF-IDF word and word-pair features of the redacted
transcript (never the raw text) and the scaled call or text metrics, into a balanced logistic
regression. Training reports its cross-validated ROC AUC (0.5 is chance) and the share of
problems among the top tenth it would flag, against the share among all. The pipeline is kept
whole in the database (``FlaggingModel``), and every verdict (``ReviewFlag``) names the
model version that made it, with the words and figures that pushed it up most.

Calls are flagged as their transcript is stored (``pipeline``), texts as they are created or
corrected (``texts.sync_text``), and ``qm flagging apply`` scores what is left. Without a
trained model nothing is flagged and nothing fails. Loading a model unpickles it: only
``qm flagging train`` writes one, into this site's own database.

Never imports Flask; scikit-learn is imported only when a model is trained or first used.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from qm import audit
from qm.auth.permissions import SystemActor, require
from qm.errors import QMError
from qm.interactions.models import Interaction
from qm.signals import evaluator_verdicts, gather
from transcription.models import FlaggingModel, ReviewFlag, Transcript

log = logging.getLogger(__name__)
ACTOR = SystemActor("flagging")
DEFAULT_SCORE_BELOW = 80.0
MIN_EXAMPLES = 40
MIN_PER_CLASS = 8
MIN_AUC = 0.6
"""A model whose cross-validated ROC AUC is under this is refused: it ranks the verdicts little
better than chance (the demo's evaluations, scored at random, give about 0.4), and flagging
with it would send evaluators after noise."""
THRESHOLD = 0.5
"""Flagged from this probability up. The classes are weighted to balance, so 0.5 is where the
model thinks a problem as likely as not whatever the centre's share of problems."""
NUMBERS = ("duration_s", "talk_ratio", "overtalk_s", "longest_silence_s", "silences_over_10s",
           "hold_like_gaps", "agent_wpm", "customer_wpm", "messages", "agent_messages",
           "customer_messages", "words", "redactions", "is_text")
"""The figures the model reads besides the words; a figure a transcript lacks (a chat has no
silences) is filled with the training median, and ``is_text`` tells the two kinds apart."""


class FlaggingError(QMError):
    """Training cannot be done as asked; the message says why and what would help."""


def score_below() -> float:
    """``QM_FLAG_SCORE_BELOW``: an evaluation under this score found a problem."""
    raw = os.environ.get("QM_FLAG_SCORE_BELOW", "").strip()
    if not raw:
        return DEFAULT_SCORE_BELOW
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"QM_FLAG_SCORE_BELOW must be a score from 0 to 100, got {raw!r}"
                         ) from None
    if not 0 <= value <= 100:
        raise ValueError(f"QM_FLAG_SCORE_BELOW must be a score from 0 to 100, got {raw!r}")
    return value


# -- features (module level: the saved pipeline refers to these functions by name) ---------

def row_of(transcript: Transcript) -> dict[str, Any]:
    """What the model reads of a transcript: its redacted text and its figures."""
    metrics = dict(transcript.metrics or {})
    metrics["redactions"] = sum((transcript.redactions or {}).values())
    metrics["is_text"] = 1.0 if transcript.source == "text" else 0.0
    if transcript.source != "text":
        metrics.setdefault("duration_s", transcript.duration_s)
    return {"text": transcript.text or "", "metrics": metrics}


def texts_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [row["text"] for row in rows]


def numbers_of(rows: Sequence[dict[str, Any]]) -> Any:
    import numpy as np

    def number(value: Any) -> float:
        if isinstance(value, bool):
            return float(value)
        if isinstance(value, int | float) and math.isfinite(value):
            return float(value)
        return math.nan

    return np.array([[number(row["metrics"].get(name)) for name in NUMBERS] for row in rows],
                    dtype=float)


def build_pipeline() -> Any:
    """The untrained model: words and figures side by side, into a logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    words = Pipeline([("pick", FunctionTransformer(texts_of)),
                      ("tfidf", TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=20000,
                                                sublinear_tf=True))])
    figures = Pipeline([("pick", FunctionTransformer(numbers_of)),
                        ("fill", SimpleImputer(strategy="median", keep_empty_features=True)),
                        ("scale", StandardScaler())])
    return Pipeline([("features", FeatureUnion([("words", words), ("figures", figures)])),
                     ("model", LogisticRegression(class_weight="balanced", max_iter=2000,
                                                  C=1.0))])


# -- training --------------------------------------------------------------------------------

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

    Refuses (``FlaggingError``, nothing stored) with fewer than ``min_examples`` examples or
    fewer than ``MIN_PER_CLASS`` of either kind: a model trained on a handful of verdicts
    would flag noise with confidence. Refuses as well a model that, cross-validated, ranks
    the verdicts with a ROC AUC under ``min_auc``. Deterministic: the same evaluations (and the same
    scikit-learn) give the same model and the same version, stored once.
    """
    import joblib
    import numpy as np
    import sklearn
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    require(actor, "sampling.manage")  # it decides what gets looked at: the sampling owners'
    below = score_below() if below is None else below
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


# -- using the current model -----------------------------------------------------------------

@dataclass(frozen=True)
class Loaded:
    version: str
    pipeline: Any

    def verdict(self, row: dict[str, Any]) -> tuple[float, list[str]]:
        """(probability of a problem, up to three features that pushed it up most)."""
        probability = float(self.pipeline.predict_proba([row])[0, 1])
        features = self.pipeline.named_steps["features"]
        weights = self.pipeline.named_steps["model"].coef_[0]
        values = features.transform([row])
        values = values.toarray()[0] if hasattr(values, "toarray") else values[0]
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        words = features.transformer_list[0][1].named_steps["tfidf"].get_feature_names_out()
        names = [*words, *NUMBERS]
        # "and" may weigh in the model, but names no reason a person can act on
        pushes = sorted(((v * w, n) for v, w, n in zip(values, weights, names, strict=True)
                         if v * w > 0 and n not in ENGLISH_STOP_WORDS), reverse=True)[:3]
        return probability, [name for _push, name in pushes]


_CACHE: dict[str, Loaded] = {}
_LOCK = threading.Lock()


def in_use() -> Select[tuple[str]]:
    """The version of the model in use, the newest trained, as a query: ``session.scalar``
    it, or ``.scalar_subquery()`` it inside a filter. None before any training."""
    return select(FlaggingModel.version).order_by(FlaggingModel.id.desc()).limit(1)


def current(session: Session) -> Loaded | None:
    """The model in use, unpickled once per process and version; None before any training."""
    version = session.scalar(in_use())
    if version is None:
        return None
    with _LOCK:
        loaded = _CACHE.get(version)
        if loaded is None:
            import joblib

            payload = session.scalar(select(FlaggingModel.payload)
                                     .where(FlaggingModel.version == version))
            bundle = joblib.load(io.BytesIO(payload))
            loaded = _CACHE[version] = Loaded(version, bundle["pipeline"])
    return loaded


def flag(session: Session, transcript: Transcript) -> ReviewFlag | None:
    """The current model's verdict on one interaction, stored (once per model version).

    Never raises for the model's sake: a transcript is worth more than its flag, so a model
    that cannot be loaded or used is logged and the interaction simply stays unflagged.
    """
    try:
        model = current(session)
        if model is None:
            return None
        probability, reasons = model.verdict(row_of(transcript))
    except Exception:  # an unreadable or incompatible model must not lose a transcript
        log.exception("flagging model could not score interaction %s",
                      transcript.interaction_id)
        return None
    found = session.scalar(select(ReviewFlag).where(
        ReviewFlag.interaction_id == transcript.interaction_id,
        ReviewFlag.model_version == model.version))
    if found is None:
        found = ReviewFlag(interaction_id=transcript.interaction_id, model_version=model.version)
        session.add(found)
    found.probability = round(probability, 4)
    found.flagged = probability >= THRESHOLD
    found.reasons = reasons
    session.flush()
    return found


def apply(session: Session, *, limit: int | None = None) -> tuple[int, int]:
    """Score the transcripts the current model has not scored yet, oldest first, committing
    every 200 (an interrupted run is finished by running it again); (scored, flagged)."""
    model = current(session)
    if model is None:
        raise FlaggingError("No flagging model yet: run `qm flagging train` first.")
    done = select(ReviewFlag.interaction_id).where(ReviewFlag.model_version == model.version)
    pending = (select(Transcript.id).where(~Transcript.interaction_id.in_(done))
               .order_by(Transcript.id))
    scored = flagged = 0
    last = 0
    while limit is None or scored < limit:
        chunk = 200 if limit is None else min(200, limit - scored)
        ids = session.scalars(pending.where(Transcript.id > last).limit(chunk)).all()
        if not ids:
            break
        for transcript_id in ids:  # a chunk at a time: a year of a large centre is millions
            verdict = flag(session, session.get(Transcript, transcript_id))
            if verdict is not None:
                scored += 1
                flagged += verdict.flagged
        last = ids[-1]
        session.commit()
        session.expunge_all()  # keep the identity map small
        if scored == 0:  # the model failed on a whole chunk: stop rather than loop on
            break
    return scored, flagged


def latest_flag(session: Session, interaction: Interaction) -> ReviewFlag | None:
    """The verdict of the newest model that scored this interaction, for its pages."""
    return session.scalar(select(ReviewFlag).where(ReviewFlag.interaction_id == interaction.id)
                          .order_by(ReviewFlag.id.desc()).limit(1))
