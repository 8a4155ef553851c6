"""Flagging: which interactions an evaluator should look at first, learnt from evaluators.

A centre evaluates a few percent of its contacts. A model that has read the transcripts and
metrics of the evaluated ones, and what the evaluators found, can point at the unevaluated
contacts most likely to hold a problem.

The model is deliberately simple, so that it can be trained on a few hundred evaluations and
explained: a scikit-learn ``Pipeline`` of TF-IDF word and word-pair features of the redacted
transcript (never the raw text) and the scaled call or text metrics, into a balanced logistic
regression, kept whole in the database (``models.FlaggingModel``).

* ``features``: what the model reads of a transcript, and the untrained pipeline;
* ``training``: the examples evaluators gave, training and measuring, ``FlaggingError``;
* ``verdicts``: the model in use, a verdict per interaction (``flag``, ``apply``).

The named flags (issue 16) are built from pure parts, with no database:

* ``evidence``: what a flag points at, in words a person can check (``Evidence``);
* ``rules``: rule detectors on a ``TranscriptView`` (phrases, silence, hold, overtalk, talk
  share, repeat contact, a missing disclosure), each giving a ``Finding`` with its evidence;
* ``classify``: text classifiers (complaint, escalation, churn ...): build, cross-validate,
  choose a threshold, train, store with a verified digest, explain.

The names other code uses are re-exported here (``flagging.train``, ``flagging.in_use``, ...),
and so are the feature functions at the paths the models stored before this was a package
name (``transcription.flagging.texts_of``, ``numbers_of``): those must keep loading.

Never imports Flask; scikit-learn is imported only when a model is trained or first used.
"""

from transcription.flagging import classify, evidence, rules
from transcription.flagging.classify import ClassifierError, TrainedFlag
from transcription.flagging.evidence import Evidence
from transcription.flagging.features import (
    NUMBERS,
    build_pipeline,
    numbers_of,
    row_of,
    texts_of,
)
from transcription.flagging.rules import Contact, Finding, RuleError, TranscriptView
from transcription.flagging.training import (
    ACTOR,
    MIN_AUC,
    MIN_EXAMPLES,
    MIN_PER_CLASS,
    FlaggingError,
    TrainReport,
    train,
    training_set,
)
from transcription.flagging.verdicts import (
    THRESHOLD,
    Loaded,
    apply,
    current,
    flag,
    in_use,
    latest_flag,
)

__all__ = [
    "ACTOR", "MIN_AUC", "MIN_EXAMPLES", "MIN_PER_CLASS", "NUMBERS", "THRESHOLD", "FlaggingError",
    "Loaded", "TrainReport", "apply", "build_pipeline", "current", "flag", "in_use",
    "latest_flag", "numbers_of", "row_of", "texts_of", "train", "training_set",
    # named flags (issue 16)
    "ClassifierError", "Contact", "Evidence", "Finding", "RuleError", "TrainedFlag",
    "TranscriptView", "classify", "evidence", "rules",
]
