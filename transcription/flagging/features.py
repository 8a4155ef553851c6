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
