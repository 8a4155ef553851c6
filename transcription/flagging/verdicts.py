"""The current flagging model's verdicts: which interactions an evaluator should look at first.

The model in use is the newest trained (``in_use``), unpickled once per process and version
(``current``). Calls are flagged as their transcript is stored (``pipeline``), texts as they are
created or corrected (``texts``), and ``qm flagging apply`` scores what is left. Every verdict
(``ReviewFlag``) names the model version that made it, with the words and figures that pushed it
up most, in words an evaluator can check (``said 'refund'``, ``long silence (48 s)``), never the
model's feature names. An interaction is flagged from the threshold chosen when the model was
trained (``training.TARGET_PRECISION``), stored in its report. Without a trained model nothing
is flagged and nothing fails; a model that cannot be used is logged and loses no transcript.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from qm.interactions.models import Interaction
from transcription.flagging.features import NUMBERS, figure_reason, numbers_of, row_of
from transcription.flagging.training import THRESHOLD, FlaggingError
from transcription.models import FlaggingModel, ReviewFlag, Transcript

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    version: str
    pipeline: Any
    threshold: float = THRESHOLD
    """Flagged from this probability up: the one chosen at training, else ``THRESHOLD``."""

    def verdict(self, row: dict[str, Any]) -> tuple[float, list[str]]:
        """(probability of a problem, up to three reasons in words, strongest first).

        A reason is a word or word pair the transcript holds (``said 'cancel'``) or a figure
        that is unusual for it (``long silence (48 s)``), and only one that pushed the
        probability up. Whether a figure reads "long" or "short" follows the scaled value (above
        or below the training mean), not the weight, so a reason says what the call was like.
        A figure the transcript lacks (a chat has no silences) is never a reason: the model
        read the training median in its place, which is nothing an evaluator can check.
        """
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        probability = float(self.pipeline.predict_proba([row])[0, 1])
        features = self.pipeline.named_steps["features"]
        weights = self.pipeline.named_steps["model"].coef_[0]
        values = features.transform([row])
        values = values.toarray()[0] if hasattr(values, "toarray") else values[0]
        words = features.transformer_list[0][1].named_steps["tfidf"].get_feature_names_out()
        figures = numbers_of([row])[0]  # as the transcript has them, nan where it lacks one
        pushes: list[tuple[float, str]] = []
        for index, (value, weight) in enumerate(zip(values, weights, strict=True)):
            push = float(value * weight)
            if push <= 0:
                continue
            if index < len(words):
                term = str(words[index])
                # "and" may weigh in the model, but names no reason a person can act on
                if all(token in ENGLISH_STOP_WORDS for token in term.split()):
                    continue
                pushes.append((push, f"said '{term}'"))
            else:
                name = NUMBERS[index - len(words)]
                figure = float(figures[index - len(words)])
                if math.isfinite(figure):
                    pushes.append((push, figure_reason(name, figure, above=value > 0)))
        pushes.sort(key=lambda pushed: -pushed[0])  # stable: ties keep the model's order
        return probability, [reason for _push, reason in pushes[:3]]


_CACHE: dict[str, Loaded] = {}
_LOCK = threading.Lock()


def in_use() -> Select[tuple[str]]:
    """The version of the model in use, the newest trained, as a query: ``session.scalar``
    it, or ``.scalar_subquery()`` it inside a filter. None before any training."""
    return select(FlaggingModel.version).order_by(FlaggingModel.id.desc()).limit(1)


def current(session: Session) -> Loaded | None:
    """The model in use, unpickled once per process and version; None before any training.
    Loading unpickles: only ``qm flagging train`` writes a model, into this site's database."""
    version = session.scalar(in_use())
    if version is None:
        return None
    with _LOCK:
        loaded = _CACHE.get(version)
        if loaded is None:
            import joblib

            payload, report = session.execute(
                select(FlaggingModel.payload, FlaggingModel.report)
                .where(FlaggingModel.version == version)).one()
            bundle = joblib.load(io.BytesIO(payload))
            loaded = _CACHE[version] = Loaded(version, bundle["pipeline"],
                                              threshold_of(report))
    return loaded


def threshold_of(report: dict[str, Any] | None) -> float:
    """The threshold a stored model's report chose, else ``THRESHOLD`` (a model trained before
    training chose one, whose report lacks it)."""
    value = (report or {}).get("threshold")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return THRESHOLD


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
    found.flagged = probability >= model.threshold
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
    return session.scalar(_latest_flag_statement(), {"interaction_id": interaction.id})


@functools.cache
def _latest_flag_statement() -> Any:  # built once: every interaction and evaluation page reads it
    return (select(ReviewFlag).where(ReviewFlag.interaction_id == bindparam("interaction_id"))
            .order_by(ReviewFlag.id.desc()).limit(1))
