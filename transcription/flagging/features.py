"""What a flagging model reads of a transcript, and the untrained model that reads it.

The functions here are at module level for a reason: a trained pipeline is pickled whole into the
database, and the pickle names them by module and name. Models pickled before flagging became a
package name them ``transcription.flagging.texts_of`` and ``numbers_of``, which the package
re-exports; newer ones name ``transcription.flagging.features``. Moving or renaming them
breaks every model a site has stored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from transcription.models import Transcript

NUMBERS = ("duration_s", "talk_ratio", "overtalk_s", "longest_silence_s", "silences_over_10s",
           "hold_like_gaps", "agent_wpm", "customer_wpm", "messages", "agent_messages",
           "customer_messages", "words", "redactions", "is_text")
"""The figures the model reads besides the words; a figure a transcript lacks (a chat has no
silences) is filled with the training median, and ``is_text`` tells the two kinds apart."""

FIGURE_WORDS: dict[str, tuple[str, str, str]] = {
    "duration_s": ("longer than usual", "shorter than usual", "clock"),
    "talk_ratio": ("agent talks a lot", "agent talks little", "talk share"),
    "overtalk_s": ("much overtalk", "little overtalk", "seconds"),
    "longest_silence_s": ("long silence", "short silences only", "seconds"),
    "silences_over_10s": ("many silences over 10 s", "few silences over 10 s", "count"),
    "hold_like_gaps": ("many hold-like gaps", "few hold-like gaps", "count"),
    "agent_wpm": ("fast agent speech", "slow agent speech", "pace"),
    "customer_wpm": ("fast customer speech", "slow customer speech", "pace"),
    "messages": ("more messages than usual", "fewer messages than usual", "count"),
    "agent_messages": ("more agent messages than usual", "fewer agent messages than usual",
                       "count"),
    "customer_messages": ("more customer messages than usual",
                          "fewer customer messages than usual", "count"),
    "words": ("more words than usual", "fewer words than usual", "count"),
    "redactions": ("many redactions", "few redactions", "count"),
    "is_text": ("a chat or e-mail", "a call", "none"),
}
"""How a figure of ``NUMBERS`` reads as a verdict's reason, for an evaluator rather than for the
model: (words when it is above the training mean, words when below, how its value is shown).
Which of the two follows the sign of the scaled value, so a reason never says "long" of a
figure the model saw as short."""


def figure_reason(name: str, value: float, above: bool) -> str:
    """A figure in words, with its value in the figure's unit: ``long silence (48 s)``,
    ``longer than usual (6:40)``, ``agent talks a lot (80% of the talk)``. ``above``: the
    figure is above the training mean (its scaled value is positive)."""
    spoken = name.replace("_", " ")  # a figure added to NUMBERS without its words here
    high, low, unit = FIGURE_WORDS.get(name, (f"high {spoken}", f"low {spoken}", "count"))
    words = high if above else low
    if unit == "none":
        return words
    if unit == "clock":
        minutes, seconds = divmod(round(value), 60)
        hours, minutes = divmod(minutes, 60)
        shown = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    elif unit == "seconds":
        shown = f"{round(value)} s"
    elif unit == "talk share":
        shown = f"{round(value * 100)}% of the talk"
    elif unit == "pace":
        shown = f"{round(value)} words a minute"
    else:
        shown = f"{round(value):d}"
    return f"{words} ({shown})"


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
