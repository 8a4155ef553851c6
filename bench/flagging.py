"""Throughput of the named flags (issue 16) and the time to train one, against baselines
measured in the same run.

Usage::

    python bench/flagging.py [--transcripts 10000] [--train 10000] [--markdown FILE] [--json FILE]
    python bench/flagging.py --smoke        # what CI runs: small sizes, every code path

What is measured, in this one process (one core: scikit-learn's sparse linear models predict
on one thread, and nothing here starts another):

* **Flagging**: the whole flag set on ``--transcripts`` generated calls, as the next step will
  run it on stored transcripts: for each, ``TranscriptView.from_stored`` on its stored text,
  segments (with word times) and metrics, every rule of ``rules.STARTER_RULES`` (escalation
  and cancellation phrases, a missing recording disclosure, long silence, long hold,
  overtalk, customer talk share, repeat contact, with the customer's earlier contacts found
  beforehand: that is a database query, not flagging), then four classifiers: complaint,
  escalation and churn (``classify``, trained on ``tests/data/flags``; probabilities in
  batches of 500, ``classify.check`` with its evidence for the fired ones only) and the
  existing "found a problem" model (``flagging.features.build_pipeline``, trained on 2,000
  generated rows, batched). Transcripts per second of wall time and per CPU-second of this
  process (= per core).
* **Baselines**, the same transcripts: the existing model alone, batched
  (``predict_proba`` on all rows: the cheapest thing a flag could be), and as
  ``verdicts.flag`` runs it today, one transcript at a time with its three reasons
  (``Loaded.verdict``).
* **Training** on ``--train`` labelled texts (``tests/data/flags/make.py`` at that size,
  complaint): one fit of ``classify.build()``; ``classify.fit`` (5-fold cross-validation,
  threshold, final fit: what ``qm flagging train`` will run); baseline, a plain
  ``TfidfVectorizer(ngram_range=(1, 2))`` + ``LogisticRegression`` fit on the same texts.

The generated calls: 8 to 40 turns, agent and customer in turn, words every 0.25-0.45 s; the
customer's turns are everyday lines (the labelled sets' neutral families), one in ten any line
of the three labelled sets, and in one call in eight two lines a turn; the agent's from a short
list (the recording disclosure in four calls of five); one call in six with a long silence
(35-200 s), one in five with the customer talking over the agent; metrics from
``metrics.measure`` on the segments; a quarter as many customers as calls, their contacts
spread over 90 days.

Results go to stdout, and with ``--markdown FILE`` as a bench/README.md section (date, machine,
load meanwhile).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transcription.flagging import classify, rules  # noqa: E402
from transcription.flagging.features import build_pipeline  # noqa: E402
from transcription.flagging.verdicts import Loaded  # noqa: E402
from transcription.metrics import measure  # noqa: E402
from transcription.timeline import AGENT, CUSTOMER, Segment, Word  # noqa: E402

FLAGS = ROOT / "tests" / "data" / "flags"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BATCH = 500
AGENT_LINES = (
    "thanks for calling how can i help you today", "can i take your account number please",
    "let me just check that for you", "bear with me one moment",
    "i understand that's frustrating", "i've put a note on the account",
    "is there anything else i can help with", "i'm sorry about that let me see what i can do",
    "the engineer can come on tuesday morning", "that's all sorted for you now",
    "i'll just put you on hold for a moment", "can you confirm your date of birth [DOB]",
)
DISCLOSURE = "this call may be recorded for training and quality purposes"


def _load_make() -> Any:
    spec = importlib.util.spec_from_file_location("flags_make", FLAGS / "make.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _load_make()


# --- CPU of this process and of the rest of the machine -------------------------------------

def _busy_ticks() -> int:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return user + nice + system + irq + softirq + steal


class Meter:
    """Wall seconds, CPU-seconds of this process, CPUs the rest of the machine used."""

    def __enter__(self) -> Meter:
        self._start = (time.perf_counter(), time.process_time(), _busy_ticks())
        return self

    def __exit__(self, *_exc: object) -> None:
        wall0, cpu0, busy0 = self._start
        self.wall = time.perf_counter() - wall0
        self.cpu = time.process_time() - cpu0
        other = (_busy_ticks() - busy0) / CLOCK_TICKS - self.cpu
        self.other = max(0.0, other / self.wall) if self.wall > 0 else 0.0


# --- generated calls ----------------------------------------------------------------------

def _words(start: float, text: str, rng: random.Random) -> tuple[list[Word], float]:
    words, at = [], start
    for token in text.split():
        length = rng.uniform(0.2, 0.4)
        words.append(Word(round(at, 3), round(at + length, 3), " " + token, 0.9))
        at += length + rng.uniform(0.03, 0.08)
    return words, at


def generate(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` stored calls: text, segments (JSON as stored), metrics, when, customer."""
    rng = random.Random(seed)
    rows = [r for flag in make.FLAGS for r in make.rows(flag)]
    neutral = sorted({r.text for r in rows if r.family in {f.name for f in make.NEUTRAL}})
    said = [r.text for r in rows]
    start_of_period = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    calls = []
    for n in range(count):
        segments: list[Segment] = []
        at = rng.uniform(0.5, 3.0)
        turns = rng.randint(8, 40)
        long_silence = rng.random() < 1 / 6
        overtalk = rng.random() < 1 / 5
        talkative = rng.random() < 1 / 8
        for turn in range(turns):
            agent = turn % 2 == 0
            if agent:
                text = DISCLOSURE if turn == 0 and rng.random() < 0.8 else rng.choice(AGENT_LINES)
            else:  # mostly everyday talk; now and then a line of the labelled sets
                text = rng.choice(said if rng.random() < 0.1 else neutral)
                if talkative:
                    text += " " + rng.choice(neutral)
            if long_silence and turn == turns // 2:
                at += rng.uniform(35, 200)
            if overtalk and not agent and segments:  # starts before the agent has finished
                at = max(segments[-1].start, at - rng.uniform(1.0, 4.0))
            words, end = _words(at, text, rng)
            segments.append(Segment(words[0].start, words[-1].end, text,
                                    AGENT if agent else CUSTOMER, tuple(words)))
            at = end + rng.uniform(0.2, 2.0)
        duration = at + rng.uniform(0.5, 3.0)
        metrics = measure(segments, duration).as_dict()
        stored = [{"start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text,
                   "confidence": None,
                   "words": [[w.start, w.end, w.text, w.probability] for w in s.words]}
                  for s in sorted(segments, key=lambda s: (s.start, s.end, s.speaker))]
        calls.append({"text": " ".join(s["text"] for s in stored), "segments": stored,
                      "metrics": metrics, "duration_s": duration,
                      "at": start_of_period + dt.timedelta(minutes=rng.randint(0, 90 * 24 * 60)),
                      "customer": rng.randrange(max(1, count // 4)), "id": n + 1})
    by_customer: dict[int, list[dict[str, Any]]] = {}
    for call in calls:
        by_customer.setdefault(call["customer"], []).append(call)
    for call in calls:  # what the caller looks up in the database before flagging
        call["earlier"] = [rules.Contact(c["at"], c["id"]) for c in by_customer[call["customer"]]
                           if c["at"] < call["at"]]
    return calls


def row_of(call: dict[str, Any]) -> dict[str, Any]:
    """What the existing model reads of a transcript (``features.row_of`` without the
    database object)."""
    metrics = dict(call["metrics"])
    metrics.update(redactions=call["text"].count("["), is_text=0.0)
    return {"text": call["text"], "metrics": metrics}


# --- the flag set ---------------------------------------------------------------------------

def train_classifiers() -> dict[str, classify.TrainedFlag]:
    trained = {}
    for flag in make.FLAGS:
        rows = make.rows(flag)
        trained[flag] = classify.fit([r.text for r in rows], [r.label for r in rows])
    return trained


def train_existing(calls: list[dict[str, Any]], size: int = 2000) -> Any:
    rng = random.Random(1)
    rows = [row_of(c) for c in calls[:size]]
    angry = ("disgrace", "manager", "cancel", "ridiculous", "complaint", "unacceptable")
    labels = [1 if any(w in r["text"] for w in angry) and rng.random() < 0.8
              else int(rng.random() < 0.1) for r in rows]
    return build_pipeline().fit(rows, labels)


def flag_all(calls: list[dict[str, Any]], trained: dict[str, classify.TrainedFlag],
             existing: Any) -> dict[str, Any]:
    """The whole flag set on every call; counts of what fired, and the time of each part."""
    fired: dict[str, int] = {}
    parts = {"rules": 0.0, "classifiers": 0.0, "existing": 0.0}
    for start in range(0, len(calls), BATCH):
        chunk = calls[start:start + BATCH]
        t0 = time.process_time()
        views = [rules.TranscriptView.from_stored(c["text"], c["segments"], c["metrics"],
                                                  "audio", duration_s=c["duration_s"],
                                                  at=c["at"], earlier=c["earlier"])
                 for c in chunk]
        for view in views:
            for name, finding in rules.check_all(rules.STARTER_RULES, view).items():
                fired[name] = fired.get(name, 0) + finding.fired
        t1 = time.process_time()
        for flag, model in trained.items():
            for finding in classify.check_many(model, views):
                fired[flag] = fired.get(flag, 0) + finding.fired
        t2 = time.process_time()
        probabilities = existing.predict_proba([row_of(c) for c in chunk])[:, 1]
        fired["found a problem"] = fired.get("found a problem", 0) + int(
            (probabilities >= 0.5).sum())
        t3 = time.process_time()
        parts["rules"] += t1 - t0
        parts["classifiers"] += t2 - t1
        parts["existing"] += t3 - t2
    return {"fired": fired, "cpu_s": parts}


def _timed(label: str, run: Callable[[], Any], results: dict[str, Any], count: int) -> Any:
    with Meter() as meter:
        out = run()
    results[label] = {"items": count, "wall_s": round(meter.wall, 3),
                      "cpu_s": round(meter.cpu, 3), "other_cpus": round(meter.other, 2),
                      "per_s": round(count / meter.wall, 1) if meter.wall else math.inf,
                      "per_cpu_s": round(count / meter.cpu, 1) if meter.cpu else math.inf}
    print(f"{label}: {results[label]}", flush=True)
    return out


def training_texts(size: int) -> tuple[list[str], list[int]]:
    families = len(make.SETS["complaint"])
    rows = make.rows("complaint", per_family=math.ceil(size / families))[:size]
    return [r.text for r in rows], [r.label for r in rows]


def plain_fit(texts: list[str], labels: list[int]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2)),
                         LogisticRegression(max_iter=2000)).fit(texts, labels)


# --- report ---------------------------------------------------------------------------------

def markdown(results: dict[str, Any], args: argparse.Namespace) -> str:
    r = results
    n = r["flag set"]["items"]

    def ratio(a: str, b: str, key: str = "per_cpu_s") -> str:
        return f"{r[a][key] / r[b][key]:.2f}"

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    import sklearn

    fired = r["fired"]
    lines = [
        "# Benchmark: named flags (issue 16)",
        "",
        f"`bench/flagging.py`, measured {r['date']} on {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}; load "
        f"average {r['load_before']} before, {r['load_after']} after (other sessions' work "
        "on the same machine). One process, one core. Per core = items per CPU-second of "
        "this process.",
        "",
        f"**Flagging {n:,} generated calls** (8-40 turns, word times, metrics; the rules of "
        "`STARTER_RULES`, three text classifiers with evidence for what fired, and the "
        "existing model):",
        "",
        "| what | wall s | CPU s | calls/s | calls/s per core | vs existing model batched |",
        "|---|---|---|---|---|---|",
    ]
    for label in ("existing model, batched (baseline)", "existing model, one by one (today)",
                  "flag set"):
        row = r[label]
        lines.append(f"| {label} | {row['wall_s']} | {row['cpu_s']} | {row['per_s']:,} | "
                     f"{row['per_cpu_s']:,} | "
                     f"{ratio(label, 'existing model, batched (baseline)')}x |")
    parts = r["flag set parts"]["cpu_s"]
    lines += [
        "",
        f"Of the flag set's CPU time: views and rules {parts['rules']:.1f} s, the three "
        f"classifiers (batched probabilities, evidence for the fired) "
        f"{parts['classifiers']:.1f} s, the existing model {parts['existing']:.1f} s. "
        "Fired: " + ", ".join(f"{k} {v:,}" for k, v in sorted(fired.items())) + ".",
        "",
        f"**Training on {r['train']['texts']:,} labelled texts** (complaint, generated at "
        "that size):",
        "",
        "| what | wall s | vs plain TF-IDF + LR |",
        "|---|---|---|",
    ]
    for label in ("plain TF-IDF words + LR fit (baseline)", "classify.build() fit once",
                  "classify.fit (5-fold CV + threshold + fit)"):
        base = r["plain TF-IDF words + LR fit (baseline)"]["wall_s"]
        lines.append(f"| {label} | {r[label]['wall_s']} | {r[label]['wall_s'] / base:.1f}x |")
    lines += ["", f"Command: `python bench/flagging.py --transcripts {args.transcripts} "
                  f"--train {args.train}`.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transcripts", type=int, default=None, help="calls to flag (10000)")
    parser.add_argument("--train", type=int, default=None, help="texts to train on (10000)")
    parser.add_argument("--one-by-one", type=int, default=None,
                        help="calls for the one-at-a-time baseline (2000; it is slow)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true",
                        help="CI's run: 200 calls, 600 texts, every code path")
    parser.add_argument("--markdown", type=Path, help="write the results as a README section")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)
    smoke = args.smoke
    args.transcripts = args.transcripts or (200 if smoke else 10_000)
    args.train = args.train or (600 if smoke else 10_000)
    args.one_by_one = min(args.transcripts, args.one_by_one or (100 if smoke else 2_000))

    results: dict[str, Any] = {"date": dt.date.today().isoformat(),
                               "load_before": " / ".join(f"{v:.2f}" for v in os.getloadavg())}
    t = time.perf_counter()
    calls = generate(args.transcripts, args.seed)
    print(f"generated {len(calls)} calls in {time.perf_counter() - t:.1f} s", flush=True)
    trained = train_classifiers()
    existing = train_existing(calls)

    rows = [row_of(c) for c in calls]
    _timed("existing model, batched (baseline)",
           lambda: [existing.predict_proba(rows[i:i + BATCH]) for i in
                    range(0, len(rows), BATCH)], results, len(rows))
    loaded = Loaded("bench", existing)
    _timed("existing model, one by one (today)",
           lambda: [loaded.verdict(row) for row in rows[:args.one_by_one]], results,
           args.one_by_one)
    results["flag set parts"] = _timed("flag set", lambda: flag_all(calls, trained, existing),
                                       results, len(calls))
    results["fired"] = results["flag set parts"]["fired"]

    texts, labels = training_texts(args.train)
    results["train"] = {"texts": len(texts), "positives": sum(labels)}
    _timed("plain TF-IDF words + LR fit (baseline)", lambda: plain_fit(texts, labels), results,
           len(texts))
    _timed("classify.build() fit once", lambda: classify.build().fit(texts, labels), results,
           len(texts))
    _timed("classify.fit (5-fold CV + threshold + fit)", lambda: classify.fit(texts, labels),
           results, len(texts))
    results["load_after"] = " / ".join(f"{v:.2f}" for v in os.getloadavg())

    if smoke:  # every path ran; a flag set that fires nothing means the generator broke
        assert results["fired"].get("long silence", 0) > 0, results["fired"]
        assert sum(results["fired"].get(f, 0) for f in make.FLAGS) > 0, results["fired"]
    text = markdown(results, args)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, "utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
