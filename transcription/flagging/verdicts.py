"""The current flagging model's verdicts: which interactions an evaluator should look at first.

The model in use is the newest trained (``in_use``), unpickled once per process and version
(``current``). Calls are flagged as their transcript is stored (``pipeline``), texts as they are
created or corrected (``texts``), and ``qm flagging apply`` scores what is left. Every verdict
(``ReviewFlag``) names the model version that made it, with the words and figures that pushed it
up most. Without a trained model nothing is flagged and nothing fails; a model that cannot be
used is logged and loses no transcript.
"""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from qm.interactions.models import Interaction
from transcription.flagging.features import NUMBERS, row_of
from transcription.flagging.training import FlaggingError
from transcription.models import FlaggingModel, ReviewFlag, Transcript

log = logging.getLogger(__name__)
THRESHOLD = 0.5
"""Flagged from this probability up. The classes are weighted to balance, so 0.5 is where the
model thinks a problem as likely as not whatever the centre's share of problems."""


@dataclass(frozen=True)
class Loaded:
    version: str
    pipeline: Any

    def verdict(self, row: dict[str, Any]) -> tuple[float, list[str]]:
        """(probability of a problem, up to three features that pushed it up most)."""
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        probability = float(self.pipeline.predict_proba([row])[0, 1])
        features = self.pipeline.named_steps["features"]
        weights = self.pipeline.named_steps["model"].coef_[0]
        values = features.transform([row])
        values = values.toarray()[0] if hasattr(values, "toarray") else values[0]
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
    """The model in use, unpickled once per process and version; None before any training.
    Loading unpickles: only ``qm flagging train`` writes a model, into this site's database."""
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
