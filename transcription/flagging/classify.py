"""Text classifiers for named flags (complaint, escalation request, churn intent ...), measured
honestly and stored safely.

One shape of model for every such flag, small enough to train on a few hundred labelled texts
and to explain: a scikit-learn ``Pipeline`` of TF-IDF word (1-2) and character (3-5, inside
word boundaries, which forgive a recogniser's "manger" for "manager") n-grams into a linear
model whose classes are weighted to balance (``build``). Measured on the labelled sets in
``tests/data/flags`` (F1 at 0.5 and ROC AUC, 5 folds holding whole templates out, seed 0;
complaint / escalation / churn; see that folder's README):

* ``tfidf-lr`` (the default): logistic regression, ``class_weight="balanced"``, C=10:
  F1 0.75 / 0.77 / 0.77, AUC 0.85 / 0.89 / 0.88.
* ``tfidf-svc``: a linear SVM calibrated by 3-fold sigmoid (``CalibratedClassifierCV``):
  F1 0.75 / 0.78 / 0.76, AUC 0.84 / 0.89 / 0.88, three to four times slower to train.
* ``tfidf-nb``: complement naive Bayes on the same features: F1 0.72 / 0.77 / 0.73, AUC
  0.81 / 0.87 / 0.85.

Over three seeds, C from 0.3 to 30 moved the mean F1 from 0.73 to 0.76, nearly flat from 3;
without the character n-grams F1 moved by +0.01 / -0.01 / -0.05 (churn, with its misheard
"cancer" and "council", most). Character 2-grams measured the same as 3-5 (F1 within 0.01)
and cost a third more time flagging calls, so they are left out.

``cross_validate`` measures a kind on labelled texts (stratified folds, or grouped ones that
keep a family of paraphrases together) and keeps every text's out-of-fold probability, from
which ``choose_threshold`` picks where a flag fires for a target precision or recall. ``fit``
does both and trains the model on everything: a ``TrainedFlag`` with its threshold, its
report and a version derived from what it learnt from. ``dumps`` / ``loads`` keep it as bytes
with their SHA-256, and ``loads`` refuses bytes whose digest is not the one ``dumps`` gave,
before unpickling anything. ``explain`` names the phrases of a text that pushed it up most, and
``check`` turns a model's reading of a transcript into a ``Finding`` with evidence a person can
check ("customer said 'speak to your manager' at 1:42").

The text is normalised before the model sees it (``normalise``): lower case, apostrophes
dropped ("dont" is "don't"), redaction tags removed (a hidden card number says nothing about a
complaint, and a tag must never be named as a reason). ``normalise`` is at module level
because a pickled pipeline names it: moving or renaming it breaks every stored model.

scikit-learn is imported only when a model is built, trained or loaded; never at import.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qm.errors import QMError
from transcription.flagging.evidence import Evidence
from transcription.flagging.rules import (
    Finding,
    TranscriptView,
    find_phrases,
    phrase_evidence,
    said,
)
from transcription.timeline import CUSTOMER

KINDS = ("tfidf-lr", "tfidf-svc", "tfidf-nb")
UNITS = ("turn", "contact")
DEFAULT_KIND = "tfidf-lr"
MIN_PER_CLASS = 5
"""Fewer labelled texts of either class than this and nothing is trained: five folds need one
of each class in every test fold, and a model learnt from a handful would flag noise."""
FORMAT = 1
"""The layout of what ``dumps`` writes; ``loads`` refuses another."""
STRONG = 0.25
"""In ``explain``, a word belongs to a phrase when its push is at least this share of the
strongest word's: "cancel" and "contract" yes, the "um" a bigram happened to lift, no."""

SPOKEN_STOP_WORDS = frozenset({
    "um", "uh", "erm", "er", "ah", "oh", "yeah", "yes", "ok", "okay", "hi", "hello", "hiya",
    "right", "so", "well", "like", "just", "mean", "know", "please", "thanks", "thank", "mate",
    "look", "im", "ive", "id", "ill", "youre", "youve", "youd", "youll", "hes", "shes", "its",
    "were", "weve", "theyre", "theyve", "thats", "whats", "theres", "dont", "doesnt", "didnt",
    "cant", "wont", "isnt", "arent", "wasnt", "werent", "havent", "hasnt", "wouldnt",
    "couldnt", "shouldnt", "wanna", "gonna"})
"""Words of speech and chat that, alone, are no reason a person can act on (on top of
scikit-learn's English stop words): fillers, greetings, contractions as the model sees them
(apostrophes dropped). Inside a phrase they stay: "dont want to renew"."""

WORD = r"(?u)\b\w+\b"
"""A word for the word n-grams: one letter is one ("i want"), unlike scikit-learn's default."""
_TAG = re.compile(r"\[[A-Z][A-Z_]*\]")
_APOSTROPHES = re.compile(r"['\u2019\u02bc`]")


class ClassifierError(QMError):
    """A classifier cannot be trained, measured or loaded as asked; the message says why."""


def normalise(text: str) -> str:
    """What the model reads of a text: lower case, no apostrophes, no redaction tags."""
    return _APOSTROPHES.sub("", _TAG.sub(" ", text or "")).lower()


def build(kind: str = DEFAULT_KIND) -> Any:
    """The untrained pipeline of a kind (``KINDS``); deterministic (fixed seeds)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if kind not in KINDS:
        raise ClassifierError(f"Unknown classifier {kind!r}; the kinds are {', '.join(KINDS)}.")
    features = FeatureUnion([
        ("words", TfidfVectorizer(preprocessor=normalise, analyzer="word", ngram_range=(1, 2),
                                  token_pattern=WORD, sublinear_tf=True, min_df=1,
                                  dtype=_float32())),
        ("chars", TfidfVectorizer(preprocessor=normalise, analyzer="char_wb",
                                  ngram_range=(3, 5), sublinear_tf=True, min_df=2,
                                  dtype=_float32())),
    ])
    return Pipeline([("features", features), ("model", _model(kind))])


def _float32() -> Any:
    import numpy as np

    return np.float32


def _model(kind: str) -> Any:
    if kind == "tfidf-lr":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=10.0, class_weight="balanced", max_iter=5000,
                                  solver="liblinear", random_state=0)
    if kind == "tfidf-svc":
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import LinearSVC

        return CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced", random_state=0),
                                      method="sigmoid", cv=3)
    from sklearn.naive_bayes import ComplementNB

    return ComplementNB(alpha=0.3)


# ---------------------------------------------------------------------------------------------
# Measuring


def _check_labels(texts: Sequence[str], labels: Sequence[int]) -> list[int]:
    if len(texts) != len(labels):
        raise ClassifierError(f"{len(texts)} texts but {len(labels)} labels: each text needs "
                              "its label.")
    clean: list[int] = []
    for n, label in enumerate(labels, start=1):
        if label not in (0, 1) or isinstance(label, float) and not label.is_integer():
            raise ClassifierError(f"Label {n} is {label!r}; a label is 1 (the flag applies) "
                                  "or 0 (it does not).")
        clean.append(int(label))
    positives = sum(clean)
    if min(positives, len(clean) - positives) < MIN_PER_CLASS:
        raise ClassifierError(
            f"Not enough to learn from: {positives} text(s) labelled 1 and "
            f"{len(clean) - positives} labelled 0; at least {MIN_PER_CLASS} of each are needed.")
    return clean


def measures(labels: Sequence[int], probabilities: Sequence[float],
             threshold: float) -> dict[str, float | int]:
    """Precision, recall and F1 of the positive class when flagging from ``threshold`` up,
    with how many texts that flags; 0.0 (not NaN) where a measure has nothing to count."""
    flagged = [p >= threshold for p in probabilities]
    hits = sum(1 for f, y in zip(flagged, labels, strict=True) if f and y)
    flags = sum(flagged)
    positives = sum(labels)
    precision = hits / flags if flags else 0.0
    recall = hits / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "flagged": flags}


def cross_validate(texts: Sequence[str], labels: Sequence[int], folds: int = 5, seed: int = 0,
                   *, kind: str = DEFAULT_KIND, groups: Sequence[Any] | None = None,
                   threshold: float = 0.5) -> dict[str, Any]:
    """Cross-validated measures of the pipeline ``build(kind)`` on labelled texts, as JSON.

    Every text is scored by a model trained without it: stratified folds (shuffled with
    ``seed``), or, with ``groups``, stratified *grouped* folds, which keep a group (a family of
    paraphrases, one customer's texts) in one fold, so that the test fold holds no near-copy of
    a training text. ``precision``, ``recall`` and ``f1`` are of the positive class at
    ``threshold`` (0.5, where the balanced model finds a flag as likely as not); ``support``
    is the number of positive texts, ``roc_auc`` how well the probabilities rank (0.5 is
    chance). ``probabilities`` are the out-of-fold probabilities, in the order of the texts,
    for ``choose_threshold``. Fewer folds than asked when a class (or the groups) has fewer
    members than folds; ``folds`` says how many ran.
    """
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_predict

    y = np.array(_check_labels(texts, labels))
    positives = int(y.sum())
    count = min(int(folds), positives, len(y) - positives)
    if groups is not None:
        if len(groups) != len(y):
            raise ClassifierError(f"{len(groups)} groups for {len(y)} texts.")
        per_class = [len({g for g, label in zip(groups, y, strict=True) if label == c})
                     for c in (0, 1)]
        count = min(count, *per_class)
    if count < 2:
        raise ClassifierError("Too few texts (or groups) of a class for two folds.")
    if groups is None:
        splitter: Any = StratifiedKFold(n_splits=count, shuffle=True, random_state=seed)
        split_groups = None
    else:
        splitter = StratifiedGroupKFold(n_splits=count, shuffle=True, random_state=seed)
        split_groups = list(groups)
    probabilities = cross_val_predict(build(kind), list(texts), y, groups=split_groups,
                                      cv=splitter, method="predict_proba")[:, 1]
    report: dict[str, Any] = dict(measures(y.tolist(), probabilities.tolist(), threshold))
    report.pop("flagged")
    report.update({
        "support": positives,
        "roc_auc": round(float(roc_auc_score(y, probabilities)), 4),
        "examples": len(y), "folds": count, "grouped": groups is not None, "seed": seed,
        "kind": kind, "threshold": threshold,
        "probabilities": [round(float(p), 4) for p in probabilities],
    })
    return report


@dataclass(frozen=True)
class ThresholdChoice:
    """Where a flag fires (``value``: flagged from this probability up), what that gave on
    the texts it was chosen on, and whether it met the target asked for."""

    value: float
    precision: float
    recall: float
    f1: float
    flagged: int
    target: str
    met: bool

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "precision": self.precision, "recall": self.recall,
                "f1": self.f1, "flagged": self.flagged, "target": self.target,
                "met": self.met}


def choose_threshold(labels: Sequence[int], probabilities: Sequence[float],
                     target_precision: float | None = None,
                     target_recall: float | None = None) -> ThresholdChoice:
    """The threshold meeting a target with the best other measure.

    The candidates are the cuts between distinct probabilities (flag the texts above a cut):
    each candidate's value is halfway between the lowest probability it flags and the next
    lower one, so a new text scored a little differently from the out-of-fold ones falls on
    the same side. The rule:

    * ``target_precision``: among the cuts whose precision reaches it, the one with the highest
      recall (then the highest F1, then the higher threshold);
    * ``target_recall``: among the cuts whose recall reaches it, the one with the highest
      precision (then the highest F1, then the higher threshold: fewer flags for the same
      result);
    * neither: the cut with the best F1 (then the higher threshold).

    When no cut reaches the target, the one closest to it (best of the targeted measure, then
    the best F1) is returned with ``met=False``: the caller says so rather than pretend. Both
    targets at once is a ``ClassifierError``: one measure is traded for the other.
    """
    if target_precision is not None and target_recall is not None:
        raise ClassifierError("Give a target precision or a target recall, not both: a "
                              "threshold trades one for the other.")
    for name, target in (("precision", target_precision), ("recall", target_recall)):
        if target is not None and not (isinstance(target, int | float) and 0 < target <= 1):
            raise ClassifierError(f"The target {name} must be a share between 0 and 1 "
                                  f"(0.8 is 80%), not {target!r}.")
    if len(labels) != len(probabilities) or not labels:
        raise ClassifierError("Labels and probabilities must be two lists of the same length.")
    ys = [int(y) for y in labels]
    ordered = sorted(set(float(p) for p in probabilities), reverse=True)
    cuts = []
    for n, lowest in enumerate(ordered):
        below = ordered[n + 1] if n + 1 < len(ordered) else None
        value = lowest if below is None else (lowest + below) / 2
        got = measures(ys, probabilities, value)
        cuts.append((round(value, 6), got))
    if target_precision is not None:
        target, name, other = float(target_precision), "precision", "recall"
    elif target_recall is not None:
        target, name, other = float(target_recall), "recall", "precision"
    else:
        target, name, other = math.nan, "f1", "f1"
    meeting = [c for c in cuts if name == "f1" or c[1][name] >= target]
    met = bool(meeting)
    if meeting:
        value, got = max(meeting, key=lambda c: (c[1][other], c[1]["f1"], c[0]))
    else:
        value, got = max(cuts, key=lambda c: (c[1][name], c[1]["f1"], c[0]))
    described = "best F1" if name == "f1" else f"{name} >= {target:g}"
    return ThresholdChoice(value, float(got["precision"]), float(got["recall"]),
                           float(got["f1"]), int(got["flagged"]), described, met)


# ---------------------------------------------------------------------------------------------
# Training, storing, loading


@dataclass
class TrainedFlag:
    """A classifier trained on labelled texts: the pipeline, where it fires, what it measured.

    ``version`` names what it learnt from (the texts, labels, kind, target, seed, folds and the
    scikit-learn version): the same inputs give the same version, so a retrain on unchanged
    labels is recognisably the same model."""

    pipeline: Any
    threshold: float
    report: dict[str, Any]
    version: str
    kind: str = DEFAULT_KIND
    sklearn: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """The probability of the flag for each text, in one batch."""
        if not texts:
            return []
        return [float(p) for p in self.pipeline.predict_proba(list(texts))[:, 1]]

    def probability(self, text: str) -> float:
        return self.probabilities([text])[0]

    def flags(self, texts: Sequence[str]) -> list[bool]:
        return [p >= self.threshold for p in self.probabilities(texts)]


def version_of(texts: Sequence[str], labels: Sequence[int], **inputs: Any) -> str:
    """``c-`` and 16 hex digits of the SHA-256 of the inputs and the scikit-learn version."""
    import sklearn

    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(f"{int(label)}\t{text}\n".encode())
    digest.update(repr(sorted(inputs.items())).encode())
    digest.update(sklearn.__version__.encode())
    return f"c-{digest.hexdigest()[:16]}"


def fit(texts: Sequence[str], labels: Sequence[int], *, kind: str = DEFAULT_KIND,
        folds: int = 5, seed: int = 0, groups: Sequence[Any] | None = None,
        target_precision: float | None = None, target_recall: float | None = None,
        min_threshold: float = 0.0) -> TrainedFlag:
    """Measure ``build(kind)`` by cross-validation, choose the threshold on its out-of-fold
    probabilities (``choose_threshold``, for the target given, else the best F1; never under
    ``min_threshold``), then train it on every text. The report is ``cross_validate``'s at the
    threshold used, without the per-text probabilities, plus the ``threshold`` choice (with
    ``floored`` when ``min_threshold`` raised it). Deterministic."""
    import sklearn

    ys = _check_labels(texts, labels)
    measured = cross_validate(texts, ys, folds, seed, kind=kind, groups=groups)
    probabilities = measured.pop("probabilities")
    choice = choose_threshold(ys, probabilities, target_precision, target_recall)
    threshold = max(choice.value, min_threshold)
    at_choice = measures(ys, probabilities, threshold)
    measured.update(precision=at_choice["precision"], recall=at_choice["recall"],
                    f1=at_choice["f1"], threshold=threshold)
    measured["choice"] = {**choice.as_dict(), "floored": threshold > choice.value}
    pipeline = build(kind).fit(list(texts), ys)
    version = version_of(texts, ys, kind=kind, folds=folds, seed=seed,
                         grouped=groups is not None, target_precision=target_precision,
                         target_recall=target_recall,
                         **({"min_threshold": min_threshold} if min_threshold else {}))
    return TrainedFlag(pipeline, threshold, measured, version, kind, sklearn.__version__,
                       {"examples": len(ys), "positives": sum(ys)})


def dumps(trained: TrainedFlag) -> tuple[bytes, str]:
    """The model as bytes (joblib, compressed) and their SHA-256 in hex: store both, and give
    the digest back to ``loads``."""
    import joblib

    buffer = io.BytesIO()
    joblib.dump({"format": FORMAT, "pipeline": trained.pipeline,
                 "threshold": trained.threshold, "report": trained.report,
                 "version": trained.version, "kind": trained.kind,
                 "sklearn": trained.sklearn, "meta": trained.meta}, buffer, compress=3)
    payload = buffer.getvalue()
    return payload, hashlib.sha256(payload).hexdigest()


def loads(payload: bytes, expected_sha256: str) -> TrainedFlag:
    """A model back from ``dumps``'s bytes, only if their SHA-256 is ``expected_sha256``.

    Unpickling runs code, so bytes changed after ``dumps`` wrote them (in the database, on the
    way) are refused before anything of them is read: a ``ClassifierError`` saying so."""
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise ClassifierError("A stored model is bytes; this is not one.")
    actual = hashlib.sha256(payload).hexdigest()
    if not (isinstance(expected_sha256, str)
            and hmac.compare_digest(actual, expected_sha256.strip().lower())):
        raise ClassifierError(
            "Refusing to load a stored model: its SHA-256 is not the one recorded when it was "
            "trained, so it was changed or damaged since. Train the flag again.")
    import joblib

    bundle = joblib.load(io.BytesIO(bytes(payload)))
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise ClassifierError("The stored model is in a layout this version cannot read; train "
                              "the flag again.")
    return TrainedFlag(bundle["pipeline"], float(bundle["threshold"]), bundle["report"],
                       bundle["version"], bundle["kind"], bundle["sklearn"], bundle["meta"])


# ---------------------------------------------------------------------------------------------
# Explaining


def _word_weights(pipeline: Any) -> tuple[Any, Any]:
    """(the word vectoriser, each word feature's weight towards the flag)."""
    import numpy as np

    union = pipeline.named_steps["features"]
    words = dict(union.transformer_list)["words"]
    size = len(words.vocabulary_)
    model = pipeline.named_steps["model"]
    if hasattr(model, "coef_"):
        weights = np.asarray(model.coef_)[0]
    elif hasattr(model, "calibrated_classifiers_"):
        weights = np.mean([np.asarray(c.estimator.coef_)[0]
                           for c in model.calibrated_classifiers_], axis=0)
    else:  # naive Bayes: how much more a feature speaks for the flag's class than the other
        log = np.asarray(model.feature_log_prob_)
        weights = log[1] - log[0]
    return words, weights[:size]


def explain(trained: TrainedFlag, text: str, top: int = 3) -> list[tuple[str, float]]:
    """The phrases of ``text`` that pushed it towards the flag most, strongest first, as
    ``(phrase, weight)``: for a reason like "said 'speak to your manager'".

    Only word n-grams count (never a fragment of characters, which reads as nothing), and an
    n-gram made only of stop words ("to your", "yeah hi": ``SPOKEN_STOP_WORDS`` too) is no
    reason of its own. Each counted n-gram's
    push (its TF-IDF value times its weight) is spread over its words; the words pushed at
    least ``STRONG`` times as hard as the strongest are the phrases' words, and neighbouring
    ones form one phrase (one or two pushed stop words between two of them join them; stop
    words at a phrase's ends are dropped). A phrase weighs the pushes of the n-grams inside it.
    Deterministic: ties go to the earlier phrase.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    stop = ENGLISH_STOP_WORDS | SPOKEN_STOP_WORDS
    words, weights = _word_weights(trained.pipeline)
    vocabulary = words.vocabulary_
    values = words.transform([text])
    present = dict(zip(values.indices.tolist(), values.data.tolist(), strict=True))
    tokens = words.build_tokenizer()(words.build_preprocessor()(text))
    low, high = words.ngram_range
    per_token = [0.0] * len(tokens)
    pushed: list[tuple[int, int, float]] = []
    occurrences: dict[int, int] = {}
    for n in range(low, high + 1):
        for i in range(len(tokens) - n + 1):
            gram = tokens[i:i + n]
            index = vocabulary.get(" ".join(gram))
            if index is not None:
                occurrences[index] = occurrences.get(index, 0) + 1
    for n in range(low, high + 1):
        for i in range(len(tokens) - n + 1):
            gram = tokens[i:i + n]
            index = vocabulary.get(" ".join(gram))
            if index is None or index not in present:
                continue
            if all(token in stop for token in gram):
                continue
            push = present[index] * float(weights[index]) / occurrences[index]
            if push <= 0:
                continue
            pushed.append((i, i + n, push))
            for j in range(i, i + n):
                per_token[j] += push / n
    if not pushed:
        return []
    strong = [p >= STRONG * max(per_token) for p in per_token]
    # a stop word or two that an n-gram pushed, between two strong words, joins them:
    # "speak to your manager" is one phrase, not "speak" and "manager"
    for i, token in enumerate(tokens):
        if strong[i] or per_token[i] <= 0 or token not in stop:
            continue
        left = next((j for j in range(i - 1, max(-1, i - 3), -1) if strong[j]), None)
        right = next((j for j in range(i + 1, min(len(tokens), i + 3)) if strong[j]), None)
        if left is not None and right is not None and right - left <= 3 and all(
                per_token[k] > 0 and tokens[k] in stop
                for k in range(left + 1, right)):
            strong[i] = True
    phrases: list[tuple[float, int, str]] = []
    i = 0
    while i < len(tokens):
        if not strong[i]:
            i += 1
            continue
        j = i
        while j < len(tokens) and strong[j]:
            j += 1
        start, end = i, j
        while start < end and tokens[start] in stop:
            start += 1
        while end > start and tokens[end - 1] in stop:
            end -= 1
        if start < end:
            weight = sum(p for a, b, p in pushed if a >= i and b <= j)
            phrases.append((weight, start, " ".join(tokens[start:end])))
        i = j
    phrases.sort(key=lambda item: (-item[0], item[1]))
    return [(phrase, round(weight, 4)) for weight, _start, phrase in phrases[:top]]


def units(view: TranscriptView, speakers: Sequence[str] | None = (CUSTOMER,),
          unit: str = "turn") -> list[str]:
    """What a classifier reads of a transcript: each turn of the speakers (``unit="turn"``:
    what the labelled sets hold, a customer's utterance or consecutive messages), or all they
    said as one text (``"contact"``: for a flag trained on whole contacts' texts). Never
    empty: a transcript where they said nothing gives one empty text."""
    if unit not in UNITS:
        raise ClassifierError(f"Unknown unit {unit!r}; a classifier reads a "
                              f"{' or a '.join(UNITS)}.")
    if unit == "contact":
        return [view.said_by(*(speakers or ()))]
    texts = [" ".join(p.text.strip() for p in turn if p.text.strip())
             for turn in view.turns(speakers)]
    return [t for t in texts if t] or [""]


def check_many(trained: TrainedFlag, views: Sequence[TranscriptView],
               speakers: Sequence[str] | None = (CUSTOMER,), *, unit: str = "turn",
               top: int = 2) -> list[Finding]:
    """A classifier's reading of each transcript as a ``Finding``, the probabilities in one
    batch: fired at the model's threshold, scored by the highest probability of a unit (a
    contact where one turn asks for a manager is an escalation, however long the rest), with
    the phrases of that unit that pushed it up, found in the transcript ("customer said
    'speak to your manager' at 1:42"). Only the fired ones are explained."""
    per_view = [units(view, speakers, unit) for view in views]
    flat = [text for texts in per_view for text in texts]
    probabilities = trained.probabilities(flat)
    findings: list[Finding] = []
    position = 0
    for view, texts in zip(views, per_view, strict=True):
        mine = probabilities[position:position + len(texts)]
        position += len(texts)
        best = max(range(len(mine)), key=lambda n: (mine[n], -n))
        probability = mine[best]
        if probability < trained.threshold:
            findings.append(Finding(False, round(probability, 4)))
            continue
        turn = view.turns(speakers)[best] if unit == "turn" and view.turns(speakers) else ()
        inside = {part.index for part in turn}
        evidence: list[Evidence] = []
        for phrase, _weight in explain(trained, texts[best], top=top):
            matches = find_phrases(view, (phrase,), speakers)
            match = next((m for m in matches if m.segment in inside), None) or next(
                iter(matches), None)
            if match is not None:
                evidence.append(phrase_evidence(view, match, "model", said(view, match)))
            else:  # the model's words run across a tag or a pause: said, not in one place
                who = "the customer" if tuple(speakers or ()) == (CUSTOMER,) else "someone"
                evidence.append(Evidence("model", f"{who} said '{phrase}'"))
        if not evidence:
            evidence.append(Evidence("model", "the words as a whole, no single phrase"))
        findings.append(Finding(True, round(probability, 4), tuple(evidence)))
    return findings


def check(trained: TrainedFlag, view: TranscriptView,
          speakers: Sequence[str] | None = (CUSTOMER,), *, unit: str = "turn",
          top: int = 2) -> Finding:
    """``check_many`` for one transcript."""
    return check_many(trained, [view], speakers, unit=unit, top=top)[0]


__all__ = [
    "DEFAULT_KIND", "KINDS", "MIN_PER_CLASS", "UNITS", "ClassifierError", "ThresholdChoice",
    "TrainedFlag", "build", "check", "check_many", "choose_threshold", "cross_validate",
    "dumps", "explain", "fit", "loads", "measures", "normalise", "units", "version_of",
]
