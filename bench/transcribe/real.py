"""`qm transcribe` against a plain faster-whisper loop on calls of real recorded speech (issue 15).

Usage::

    python bench/transcribe/real.py [--corpus DIR] [--runs 2] [--json results.json]

The synthetic corpus of ``run.py`` (continuous espeak speech) hid what real recordings showed:
talk, silence and overtalk measured from recogniser windows, redaction that swallowed whole
calls, and a speed far below the goal. This benchmark measures all of that on calls put together
by ``realcalls.py`` from real people saying digits (the Free Spoken Digit Dataset in
``../shared/speech/fsdd-dev``, CC BY-SA 4.0), whose truth is exact to the sample.

**The corpus** (``--seed``, default 15, so every run of the same version measures the same
audio): ``--stereo`` (16) calls, agent left and customer right, each two of the five clear
voices (``theo`` is too quiet for the builder's trimming rule), and ``--mono`` (4) calls, two
voices on one channel, planned at 45-100 s (45-75 s before a hold); with the defaults 20 calls
of 50-93 s, 23.4 minutes of audio. Turns are 1-4 digits (a few in two groups 0.5-1.2 s apart),
0.1-0.45 s between digits, 0.3-3 s between turns (between two turns of one party under 1 s or
over 2 s, never near the 1.5 s that makes them one spoken number); in some calls a hold of
12-40 s, one or two overlaps of 0.3-1.5 s (the other party starting before a 4-digit turn
ends), a Luhn-valid card number read in 4 groups, an 11-digit phone number in 3 groups. Holds
start at 12 s, not 10, so that "silences over 10 s" is not a coin toss at the threshold.
``--smoke``: one stereo call of about 45 s (card, hold, overlap) and one mono call of about
20 s. ``--corpus DIR`` keeps the corpus there (and reuses a corpus it finds there); otherwise
it is made in a temp folder and removed.

**The variants**, each end to end as a child process (interpreter start, imports, model load,
decoding, and for qm the database), with the same model (the bundled tiny.en), int8, on the CPU:

* ``plain``: ``run.py``'s plain loop (``run.run_plain``): per channel, ``model.transcribe(channel,
  beam_size=1, language="en", vad_filter=True)``.
* ``qm``: ``qm transcribe DIR`` with its defaults (``--workers auto``, the batched pipeline).
* ``qm-1proc``: ``--workers 1``: this process alone, every core as a thread.
* ``qm-sequential``: ``--workers 1 --batch-size 0``: the sequential decoder, the old CPU default.

The qm variants run as ``run.run_qm`` runs them (a fresh SQLite database in a temp
``QM_DATA_DIR``, set up untimed, ``QM_KEEP_RAW_TRANSCRIPTS=1``, ``run.child_env`` and
``run.timed``), but the stored transcripts are read back before the folder goes: the raw text,
the redacted segments with their word times, and the ``metrics`` JSON.

**What is reported**, per variant (median over ``--runs``):

* wall s, realtime factor (audio s / wall s), speed against ``plain`` (plain's wall / the
  variant's, from the same runs), the CPUs this benchmark and the rest of the machine used.
* WER, normalised and counted as ``run.py`` does (``run.wer``): ``plain`` against each file's
  reference per channel (agent's words, then the customer's), the qm variants' raw text against
  the whole call's words in time order.
* Metrics (qm variants), the stored ``metrics`` against the truth: the absolute error of each
  party's talk (``agent_talk_s``, ``customer_talk_s``; a mono call's ``talk_s``), of
  ``overtalk_s`` (stereo) and of ``longest_silence_s``, mean and max over the calls; the share
  within issue 15's tolerances (talk within 10 % or 1 s, whichever is larger; overtalk within
  1 s; longest silence within 0.5 s); the share of calls whose ``silences_over_10s`` and
  ``hold_like_gaps`` are exact.
* Redaction (qm variants), from the stored (redacted) segments' words and times: the truth's
  spoken numbers (``realcalls.spoken_runs``: one party's digits with no pause over 1.5 s and no
  word of the other party among them). A number of 6 digits or more counts as redacted when no
  stored word of that party whose midpoint lies within its span (widened by ``MARGIN_S`` each
  side) still holds a digit (a numeral, or zero-nine, "oh"); a run of 1-4 digits counts as kept
  when none of those words is a redaction tag (``[CARD]`` ...).
* Determinism: ``qm`` and ``qm-1proc`` must give the same transcript (each segment's speaker and
  text) for every file, in every run, and a second ``qm`` run the same as the first. Shown for
  every variant run to run as well.

Quiet machine, as ``run.py`` (``run.wait_for_quiet``): before each round it waits (up to
``--quiet-wait`` s) until the rest of the machine uses under ``--quiet-threshold`` CPUs, and each
measurement records the CPUs the rest of the machine used meanwhile.

Exit status 1 when a variant fails or hears not a word in a run, or when ``qm`` is not
deterministic as above (each listed under "problems"). Metric and redaction figures are
reported, never a failure: they are what is measured.

``--smoke`` (bench/smoke.sh): the two short calls, every variant once, no wait for a quiet
machine, the JSON to a temp file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import realcalls as rc
import run

VOICES = ("george", "jackson", "lucas", "nicolas", "yweweler")
"""The five FSDD voices the builder trims cleanly (not ``theo``: see tests/data/speech)."""
DEFAULT_SEED = 15
MARGIN_S = 0.25
"""How far outside a spoken number's truth span a recognised word may lie and still be its:
word timings are estimates, a few tens of ms off, more at the edge of a chunk."""
TALK_TOLERANCE = (0.10, 1.0)
"""Issue 15: talk within 10 % or 1 s of the truth (whichever is larger)."""
OVERTALK_TOLERANCE_S = 1.0
LONGEST_SILENCE_TOLERANCE_S = 0.5
VARIANTS: dict[str, list[str] | None] = {
    "plain": None,
    "qm": [],
    "qm-1proc": ["--workers", "1"],
    "qm-sequential": ["--workers", "1", "--batch-size", "0"],
}
"""name: ``qm transcribe`` options (None: the plain loop)."""
DIGITISH = re.compile(r"\d|\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b", re.I)
TAG = re.compile(r"\[[A-Z]+\]")


# --- the corpus ---------------------------------------------------------------------------------

def _u(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 3)


def _digits(rng: random.Random, n: int) -> list[str]:
    return [str(rng.randrange(10)) for _ in range(n)]


def _card(rng: random.Random) -> str:
    """16 digits starting 4 or 5, Luhn-valid, in 4 groups: ``"4 9 2 9 | 5 7 ..."``."""
    body = [rng.choice("45")] + _digits(rng, 14)
    total = 0
    for i, ch in enumerate(reversed(body)):  # the check digit will be at position 0
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    digits = body + [str((10 - total % 10) % 10)]
    return " | ".join(" ".join(digits[i:i + 4]) for i in range(0, 16, 4))


def _phone(rng: random.Random) -> str:
    """11 digits starting 07 or 020, in 3 groups (5-3-3 or 3-4-4)."""
    if rng.random() < 0.6:
        digits, cuts = ["0", "7"] + _digits(rng, 9), (5, 8)
    else:
        digits, cuts = ["0", "2", "0"] + _digits(rng, 8), (3, 7)
    groups = [digits[:cuts[0]], digits[cuts[0]:cuts[1]], digits[cuts[1]:]]
    return " | ".join(" ".join(g) for g in groups)


def _short(rng: random.Random, party: str, voice: str, n: int | None = None) -> rc.Say:
    """A turn of 1-4 digits; some of 3-4 in two groups 0.5-1.2 s apart."""
    n = n or rng.choices((1, 2, 3, 4), weights=(35, 30, 20, 15))[0]
    digits = _digits(rng, n)
    text = " ".join(digits)
    if n >= 3 and rng.random() < 0.3:
        cut = rng.randrange(1, n)
        text = " ".join(digits[:cut]) + " | " + " ".join(digits[cut:])
    return rc.Say(party, text, voice, gap_s=_u(rng, 0.1, 0.45),
                  group_gap_s=_u(rng, 0.5, 1.2), label="short")


def _length(say: rc.Say) -> float:
    """A rough length of an utterance (0.4 s a digit) to plan a call's duration."""
    groups = say.digits.split("|")
    n = sum(len(g.split()) for g in groups)
    group_gaps = say.group_gap_s if isinstance(say.group_gap_s, tuple) else (
        (say.group_gap_s,) * (len(groups) - 1))
    return 0.4 * n + say.gap_s * (n - len(groups)) + sum(group_gaps)


def script(rng: random.Random, target_s: float, *, mono: bool, card: bool, phone: bool,
           hold: bool, overlaps: int) -> list[rc.Event]:
    """A call of short turns with pauses, about ``target_s`` long, with the events asked for
    placed at random points between 10 % and 85 % of it.

    A pause between two turns of the same party (every pause of a mono call) is under 1 s or
    over 2 s, never near the 1.5 s that decides whether they are one spoken number: a word
    timing a few tenths off must not change what the truth says should be redacted."""
    voices = rng.sample(VOICES, 2)
    parties = (rc.SPEAKER, rc.SPEAKER) if mono else (rc.AGENT, rc.CUSTOMER)
    events: list[rc.Event] = []
    elapsed = 0.0
    last: int | None = None  # who spoke last: 0 the agent (in mono the first voice), 1 the other

    def add(item: rc.Event, seconds: float) -> None:
        nonlocal elapsed
        events.append(item)
        elapsed += seconds

    def turn_of(index: int) -> None:
        """The pause before a turn of ``index``: see the docstring."""
        if last is None:
            pause = _u(rng, 0.3, 1.5)
        elif parties[index] != parties[last]:
            pause = _u(rng, 0.3, 3.0)
        else:
            pause = _u(rng, 0.3, 1.0) if rng.random() < 0.3 else _u(rng, 2.0, 3.0)
        add(rc.Pause(pause), pause)

    def short(index: int, n: int | None = None) -> rc.Say:
        item = _short(rng, parties[index], voices[index], n)
        add(item, _length(item))
        return item

    planned = ["card"] * card + ["phone"] * phone + ["hold"] * hold + ["overlap"] * overlaps
    rng.shuffle(planned)
    at = sorted(_u(rng, 0.1, 0.85) * target_s for _ in planned)
    while elapsed < target_s or planned:
        kind = "turn"
        if planned and elapsed >= at[0]:
            kind = planned.pop(0)
            at.pop(0)
        if kind in ("card", "phone"):  # the customer (the second voice) reads it out
            turn_of(1)
            digits = _card(rng) if kind == "card" else _phone(rng)
            item = rc.Say(parties[1], digits, voices[1], gap_s=_u(rng, 0.1, 0.25),
                          group_gap_s=tuple(_u(rng, 0.5, 1.2) for _ in range(digits.count("|"))),
                          label=kind)
            add(item, _length(item))
            last = 1
        elif kind == "hold":  # the agent puts the customer on hold and comes back
            turn_of(0)
            short(0)
            hold_s = _u(rng, 12.0, 40.0)
            add(rc.Hold(hold_s), hold_s)
            short(0)
            last = 0
        else:
            who = 0 if last is None else (1 - last if rng.random() < 0.85 else last)
            turn_of(who)
            if kind == "overlap":  # the other party starts before a 4-digit turn ends
                long_turn = rc.Say(parties[who], " ".join(_digits(rng, 4)), voices[who],
                                   gap_s=_u(rng, 0.15, 0.3), label="short")
                add(long_turn, _length(long_turn))
                who = 1 - who
                reply = _short(rng, parties[who], voices[who], rng.choice((1, 2)))
                add(rc.Overlap(_u(rng, 0.3, 1.5), reply), _length(reply) - 0.9)
            else:
                short(who)
            last = who
    end = _u(rng, 0.3, 1.5)
    add(rc.Pause(end), end)
    return events


def plan(seed: int, stereo: int, mono: int, smoke: bool) -> list[dict[str, Any]]:
    """Each call's name, seed and what its script holds, drawn from ``seed``."""
    rng = random.Random(f"real-calls:{seed}")
    if smoke:
        return [{"name": "stereo_01", "mono": False, "target_s": 30.0, "card": True,
                 "phone": False, "hold": True, "overlaps": 1, "seed": seed * 1000 + 1},
                {"name": "mono_01", "mono": True, "target_s": 18.0, "card": False,
                 "phone": False, "hold": False, "overlaps": 0, "seed": seed * 1000 + 2}]
    calls = []
    for i in range(stereo):  # a hold (up to 40 s) may come late: shorter calls around it
        hold = rng.random() < 0.4
        calls.append({"name": f"stereo_{i + 1:02d}", "mono": False,
                      "target_s": _u(rng, 45.0, 75.0 if hold else 100.0),
                      "card": rng.random() < 0.6, "phone": rng.random() < 0.5, "hold": hold,
                      "overlaps": rng.choice((0, 0, 1, 2)), "seed": seed * 1000 + i + 1})
    for i in range(mono):
        calls.append({"name": f"mono_{i + 1:02d}", "mono": True,
                      "target_s": _u(rng, 45.0, 75.0), "card": i % 2 == 0, "phone": i == 1,
                      "hold": i == 3, "overlaps": 0, "seed": seed * 1000 + 100 + i + 1})
    return calls


def make_corpus(out: Path, *, seed: int, stereo: int, mono: int, smoke: bool,
                speech: Path = rc.FSDD) -> dict[str, Any]:
    """Write ``out/calls/NAME.wav`` (only audio there: it is what the variants transcribe) and
    ``out/truth/NAME.truth.json``, and ``out/corpus.json`` saying what was made."""
    (out / "calls").mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)
    made = []
    for call in plan(seed, stereo, mono, smoke):
        built = None
        for attempt in range(50):  # an overlap longer than the turn it overlaps: draw again
            rng = random.Random(f"{call['seed']}:{attempt}")
            events = script(rng, call["target_s"], mono=call["mono"], card=call["card"],
                            phone=call["phone"], hold=call["hold"], overlaps=call["overlaps"])
            try:
                built = rc.build(events, seed=call["seed"], speech=speech, name=call["name"])
                break
            except ValueError:
                continue
        if built is None:
            raise SystemExit(f"could not build {call['name']} in 50 attempts")
        rc.write_wav(out / "calls" / f"{call['name']}.wav", built)
        (out / "truth" / f"{call['name']}.truth.json").write_text(rc.truth_json(built.truth))
        made.append({**call, "duration_s": built.truth["duration_s"]})
    corpus = {"seed": seed, "smoke": smoke, "source": rc.ATTRIBUTION, "calls": made,
              "audio_s": round(sum(c["duration_s"] for c in made), 3)}
    (out / "corpus.json").write_text(json.dumps(corpus, indent=1) + "\n")
    return corpus


def corpus_or_make(corpus: Path | None, work: Path, args: argparse.Namespace) -> Path:
    """The corpus in ``corpus`` (made there first unless it has one), or a new one in ``work``."""
    folder = corpus or work / "corpus"
    if not (folder / "corpus.json").exists():
        made = make_corpus(folder, seed=args.seed, stereo=args.stereo, mono=args.mono,
                           smoke=args.smoke, speech=args.speech)
        print(f"corpus: {len(made['calls'])} calls, {made['audio_s']:.1f} s of audio "
              f"in {folder}", flush=True)
    return folder


def load_truths(folder: Path) -> dict[str, dict[str, Any]]:
    """Truth by audio file name (``stereo_01.wav``)."""
    return {p.name.removesuffix(".truth.json") + ".wav": json.loads(p.read_text())
            for p in sorted((folder / "truth").glob("*.truth.json"))}


# --- running the variants -----------------------------------------------------------------------

def run_qm_stored(folder: Path, work: Path, extra: list[str]) -> dict[str, Any]:
    """``run.run_qm``, keeping what qm stored: it times the same command in the same setting,
    then reads each file's raw text (``texts``, scored like run.py's) and its stored, redacted
    segments and metrics (``stored``) before the data folder goes."""
    data = Path(tempfile.mkdtemp(prefix="qm-bench-real-", dir=work))
    env = run.child_env(data)
    qm = str(run.BIN / "qm")
    subprocess.run([qm, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([qm, "users", "create", run.AGENT_USER, "--role", "agent", "--name",
                    "Bench Agent", "--password-stdin"], env=env, check=True,
                   capture_output=True, input="bench-password-1\nbench-password-1\n", text=True)
    jsonl = data / "out.jsonl"
    wall, ours, other = run.timed([qm, "transcribe", str(folder), "--agent", run.AGENT_USER,
                                   "--jsonl", str(jsonl), *extra], env)
    statuses = [json.loads(line)["status"] for line in jsonl.read_text().splitlines()]
    if any(s != "done" for s in statuses):
        raise SystemExit(f"qm transcribe {extra}: not all done: {statuses}")
    with sqlite3.connect(data / "qm.sqlite3") as db:
        rows = db.execute("SELECT j.path, t.raw_text, t.segments, t.metrics, t.duration_s "
                          "FROM transcription_jobs j JOIN transcripts t "
                          "ON t.interaction_id = j.interaction_id").fetchall()
    shutil.rmtree(data, ignore_errors=True)
    return {"wall_s": wall, "cpus": ours, "other_cpus": other,
            "texts": {Path(p).name: raw or "" for p, raw, *_ in rows},
            "stored": {Path(p).name: {"segments": json.loads(segments or "[]"),
                                      "metrics": json.loads(metrics or "{}"),
                                      "duration_s": duration}
                       for p, _raw, segments, metrics, duration in rows}}


def references(truths: dict[str, dict[str, Any]], variant: str) -> dict[str, str]:
    """The plain loop's text is per channel (left, then right); qm's is one timeline."""
    if variant == "plain":
        return {name: " ".join(t["reference"][p] for p in t["parties"])
                for name, t in truths.items()}
    return {name: t["reference"]["whole"] for name, t in truths.items()}


# --- scoring what qm stored ---------------------------------------------------------------------

def _stats(errors: Sequence[float]) -> dict[str, float | None]:
    return {"mean": round(statistics.fmean(errors), 3) if errors else None,
            "max": round(max(errors), 3) if errors else None}


def score_metrics(stored: dict[str, dict[str, Any]],
                  truths: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The stored ``metrics`` against the truth (see the module docstring)."""
    talk: list[float] = []
    talk_ok: list[bool] = []
    overtalk: list[float] = []
    silence: list[float] = []
    over10: list[bool] = []
    holds: list[bool] = []
    calls_ok: list[bool] = []
    per_call: dict[str, dict[str, Any]] = {}
    share_pct = 100 * TALK_TOLERANCE[0]
    for name, truth in truths.items():
        m = stored[name]["metrics"]
        pairs = ([(m["agent_talk_s"], truth["parties"][rc.AGENT]["talk_s"]),
                  (m["customer_talk_s"], truth["parties"][rc.CUSTOMER]["talk_s"])]
                 if truth["channels"] == 2 else [(m["talk_s"], truth["talk_s"])])
        call_ok = True
        row: dict[str, Any] = {"talk": [[got, want] for got, want in pairs]}
        for got, want in pairs:
            error = abs(got - want)
            talk.append(error)
            ok = error <= max(TALK_TOLERANCE[1], TALK_TOLERANCE[0] * want) + 1e-9
            talk_ok.append(ok)
            call_ok &= ok
        if truth["channels"] == 2:
            error = abs(m["overtalk_s"] - truth["overtalk_s"])
            overtalk.append(error)
            call_ok &= error <= OVERTALK_TOLERANCE_S + 1e-9
            row["overtalk"] = [m["overtalk_s"], truth["overtalk_s"]]
        error = abs(m["longest_silence_s"] - truth["longest_silence_s"])
        silence.append(error)
        call_ok &= error <= LONGEST_SILENCE_TOLERANCE_S + 1e-9
        over10.append(m["silences_over_10s"] == truth["silences_over_10s"])
        holds.append(m["hold_like_gaps"] == truth["hold_like_gaps"])
        call_ok &= over10[-1]
        calls_ok.append(call_ok)
        row.update(longest_silence=[m["longest_silence_s"], truth["longest_silence_s"]],
                   silences_over_10s=[m["silences_over_10s"], truth["silences_over_10s"]],
                   hold_like_gaps=[m["hold_like_gaps"], truth["hold_like_gaps"]],
                   within_tolerances=call_ok)
        per_call[name] = row
    return {
        "talk_error_s": _stats(talk),
        f"talk_within_{share_pct:.0f}pct_or_{TALK_TOLERANCE[1]:g}s": _share(talk_ok),
        "overtalk_error_s": _stats(overtalk),
        f"overtalk_within_{OVERTALK_TOLERANCE_S:g}s": _share(
            [e <= OVERTALK_TOLERANCE_S + 1e-9 for e in overtalk]),
        "longest_silence_error_s": _stats(silence),
        f"longest_silence_within_{LONGEST_SILENCE_TOLERANCE_S:g}s": _share(
            [e <= LONGEST_SILENCE_TOLERANCE_S + 1e-9 for e in silence]),
        "silences_over_10s_exact": _share(over10),
        "hold_like_gaps_exact": _share(holds),
        "calls_within_every_tolerance": _share(calls_ok),
        "per_call": per_call,
    }


def _share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def stored_words(segments: Sequence[dict[str, Any]]) -> list[tuple[float, float, str, str]]:
    """(start, end, speaker, text) of every stored word; a segment without words is one."""
    words = []
    for s in segments:
        if s.get("words"):
            words += [(float(w[0]), float(w[1]), s["speaker"], str(w[2])) for w in s["words"]]
        elif s.get("text"):
            words.append((float(s["start"]), float(s["end"]), s["speaker"], s["text"]))
    return words


def score_redaction(stored: dict[str, dict[str, Any]],
                    truths: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Long numbers redacted, short runs kept, by time (see the module docstring)."""
    long_ok: list[bool] = []
    short_kept: list[bool] = []
    missed: list[str] = []
    over: list[str] = []
    for name, truth in truths.items():
        words = stored_words(stored[name]["segments"])
        for number in rc.spoken_runs(truth):
            inside = [text for start, end, speaker, text in words
                      if speaker == number["party"]
                      and number["start"] - MARGIN_S <= (start + end) / 2
                      <= number["end"] + MARGIN_S]
            where = f"{name} {number['start']:.1f}-{number['end']:.1f} s"
            if len(number["digits"]) >= 6:
                ok = not any(DIGITISH.search(t) for t in inside)
                long_ok.append(ok)
                if not ok:
                    missed.append(f"{where}: {len(number['digits'])} digits, "
                                  f"{sum(bool(DIGITISH.search(t)) for t in inside)} words with "
                                  f"digits left")
            elif len(number["digits"]) <= 4:
                kept = not any(TAG.search(t) for t in inside)
                short_kept.append(kept)
                if not kept:
                    over.append(f"{where}: {len(number['digits'])} digits redacted")
    return {"long_numbers": len(long_ok), "long_redacted": _share(long_ok),
            "short_runs": len(short_kept), "short_left_unredacted": _share(short_kept),
            "long_missed": missed, "short_redacted": over}


def transcript(stored_file: dict[str, Any]) -> list[tuple[str, str]]:
    """What "the same transcript" compares: each segment's speaker and text."""
    return [(s["speaker"], s["text"]) for s in stored_file["segments"]]


def differing(a: dict[str, Any], b: dict[str, Any],
              key: Callable[[Any], Any] = transcript) -> list[str]:
    """Files whose transcript differs between two results (or is missing from one)."""
    return sorted(name for name in a.keys() | b.keys()
                  if name not in a or name not in b or key(a[name]) != key(b[name]))


# --- the run ------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path,
                        help="keep the corpus in DIR (and reuse one found there)")
    parser.add_argument("--speech", type=Path, default=rc.FSDD,
                        help="the FSDD recordings (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--stereo", type=int, default=16)
    parser.add_argument("--mono", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--only", default=",".join(VARIANTS),
                        help="variants, comma-separated (default: all; plain is always run)")
    parser.add_argument("--quiet-threshold", type=float, default=0.3)
    parser.add_argument("--quiet-wait", type=float, default=60.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--smoke", action="store_true",
                        help="CI's smoke run: two short calls, --runs 1, --quiet-wait 0, the "
                             "JSON to a temp file")
    if "--smoke" in argv:
        parser.set_defaults(runs=1, quiet_wait=0.0)
    args = parser.parse_args(argv)
    if not args.speech.is_dir():
        parser.error(f"no recordings in {args.speech}: pass --speech DIR")
    wanted = {v.strip() for v in args.only.split(",")} | {"plain"}
    if wanted - VARIANTS.keys():
        parser.error(f"unknown variants {sorted(wanted - VARIANTS.keys())}")
    variants = [v for v in VARIANTS if v in wanted]

    work = Path(tempfile.mkdtemp(prefix="qm-bench-real-"))
    if args.smoke and args.json is None:
        args.json = work / "results.json"
    try:
        corpus = corpus_or_make(args.corpus, work, args)
        summary = measure(corpus, variants, args, work)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if summary["problems"] else 0


def measure(corpus: Path, variants: list[str], args: argparse.Namespace,
            work: Path) -> dict[str, Any]:
    folder = corpus / "calls"
    truths = load_truths(corpus)
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    quiet_before: list[float] = []
    for round_no in range(1, args.runs + 1):
        quiet = run.wait_for_quiet(args.quiet_threshold, args.quiet_wait)
        quiet_before.append(round(quiet, 2) if math.isfinite(quiet) else quiet)
        print(f"run {round_no}: other load before start {quiet:.2f} CPUs", flush=True)
        for variant in variants:
            extra = VARIANTS[variant]
            r = (run.run_plain(folder, "stereo", work) if extra is None
                 else run_qm_stored(folder, work, extra))
            r["wer"] = run.wer(references(truths, variant), r["texts"])
            results[variant].append(r)
            print(f"  {variant}: {r['wall_s']:.1f} s wall, WER {r['wer']:.3f}, "
                  f"cpus {r['cpus']:.2f}, other {r['other_cpus']:.2f}", flush=True)

    audio_s = run.audio_seconds(folder)
    meta = json.loads((corpus / "corpus.json").read_text())
    summary: dict[str, Any] = {
        "date": dt.date.today().isoformat(), "machine": platform.platform(),
        "cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
        "runs": args.runs, "other_cpus_before_runs": quiet_before,
        "corpus": {"seed": meta["seed"], "smoke": meta["smoke"], "files": len(truths),
                   "stereo": sum(t["channels"] == 2 for t in truths.values()),
                   "mono": sum(t["channels"] == 1 for t in truths.values()),
                   "audio_s": round(audio_s, 3),
                   "spoken_numbers_6plus": sum(len(n["digits"]) >= 6 for t in truths.values()
                                               for n in rc.spoken_runs(t)),
                   "source": rc.ATTRIBUTION},
        "variants": {}, "problems": []}
    plain_walls = [r["wall_s"] for r in results["plain"]]
    plain_wer = statistics.median(r["wer"] for r in results["plain"])
    print(f"\n{len(truths)} calls, {audio_s:.1f} s of audio, {args.runs} run(s)")
    print(f"{'variant':<15}{'wall s':>8}{'RTF':>7}{'x plain':>9}{'WER':>8}{'/plain':>8}"
          f"{'other':>7}  walls")
    for variant, runs in results.items():
        wall = statistics.median(r["wall_s"] for r in runs)
        wer = statistics.median(r["wer"] for r in runs)
        row: dict[str, Any] = {
            "wall_s": round(wall, 2), "rtf": round(audio_s / wall, 2),
            "speed_over_plain": round(statistics.median(plain_walls) / wall, 3),
            "speed_over_plain_per_run": [round(p / r["wall_s"], 3)
                                         for p, r in zip(plain_walls, runs, strict=True)],
            "wer": round(wer, 4),
            "wer_over_plain": round(wer / plain_wer, 3) if plain_wer else None,
            "walls": [round(r["wall_s"], 2) for r in runs],
            "wers": [round(r["wer"], 4) for r in runs],
            "cpus": [round(r["cpus"], 2) for r in runs],
            "other_cpus": [round(r["other_cpus"], 2) for r in runs],
        }
        if "stored" in runs[0]:
            last = runs[-1]["stored"]
            row["metrics"] = score_metrics(last, truths)
            row["redaction"] = score_redaction(last, truths)
            row["identical_across_runs"] = all(
                not differing(runs[0]["stored"], r["stored"]) for r in runs[1:])
        else:
            row["identical_across_runs"] = all(
                not differing(runs[0]["texts"], r["texts"], key=lambda t: t) for r in runs[1:])
        row["texts"] = runs[-1]["texts"]
        summary["variants"][variant] = row
        print(f"{variant:<15}{wall:>8.1f}{row['rtf']:>7.1f}{row['speed_over_plain']:>9.2f}"
              f"{wer:>8.3f}{row['wer_over_plain'] or math.nan:>8.2f}"
              f"{max(row['other_cpus']):>7.2f}  {row['walls']}")
        for i, r in enumerate(runs, start=1):
            if not any(run.normalise(text) for text in r["texts"].values()):
                summary["problems"].append(f"{variant}: not a word heard in run {i}")

    scored = [v for v in variants if "metrics" in summary["variants"][v]]
    if scored:
        print(f"\n{'metrics vs truth':<15}{'talk err':>14}{'ok':>6}{'overtalk err':>14}"
              f"{'ok':>6}{'longest sil err':>17}{'ok':>6}{'>10s':>6}{'holds':>6}{'calls':>7}")
    for variant in scored:
        m = summary["variants"][variant]["metrics"]
        ok = [value for key, value in m.items() if "_within_" in key]
        print(f"{variant:<15}{_pair(m['talk_error_s']):>14}{_pct(ok[0]):>6}"
              f"{_pair(m['overtalk_error_s']):>14}{_pct(ok[1]):>6}"
              f"{_pair(m['longest_silence_error_s']):>17}{_pct(ok[2]):>6}"
              f"{_pct(m['silences_over_10s_exact']):>6}{_pct(m['hold_like_gaps_exact']):>6}"
              f"{_pct(m['calls_within_every_tolerance']):>7}")
    print("  (errors in s, mean/max; ok: share within issue 15's tolerance; >10s, holds: "
          "share of calls with the count exact; calls: share within every tolerance)")
    for variant in scored:
        red = summary["variants"][variant]["redaction"]
        print(f"redaction {variant}: {_pct(red['long_redacted'])} of {red['long_numbers']} "
              f"numbers of 6+ digits redacted, {_pct(red['short_left_unredacted'])} of "
              f"{red['short_runs']} runs of 1-4 digits left as they were")
        for line in red["long_missed"] + red["short_redacted"]:
            print(f"    {line}")

    determinism: dict[str, Any] = {}
    if "qm" in results and "qm-1proc" in results:
        diff = sorted({name for a, b in zip(results["qm"], results["qm-1proc"], strict=True)
                       for name in differing(a["stored"], b["stored"])})
        determinism["qm_vs_qm-1proc_differing_files"] = diff
        if diff:
            summary["problems"].append(f"qm and qm-1proc transcribed {len(diff)} file(s) "
                                       f"differently: {', '.join(diff)}")
    for variant in variants:
        runs = results[variant]
        if len(runs) < 2:
            continue
        stored = "stored" in runs[0]
        diff = sorted({name for r in runs[1:] for name in (
            differing(runs[0]["stored"], r["stored"]) if stored
            else differing(runs[0]["texts"], r["texts"], key=lambda t: t))})
        determinism[f"{variant}_runs_differing_files"] = diff
        if diff and variant == "qm":
            summary["problems"].append(f"qm transcribed {len(diff)} file(s) differently from "
                                       f"one run to the next: {', '.join(diff)}")
    summary["determinism"] = determinism
    print()
    for key, files in determinism.items():
        print(f"determinism {key}: {len(files)}" + (f" ({', '.join(files)})" if files else ""))
    if "qm" in results:
        summary["variants"]["qm"]["wer_per_party"] = round(qm_per_party(corpus / "calls",
                                                                        truths), 4)
        print(f"qm, party by party as the plain loop is scored: WER "
              f"{summary['variants']['qm']['wer_per_party']:.3f}")
        summary["goals"] = goals(summary["variants"], determinism)
        print("\nissue 15, for qm (defaults):")
        for goal, (met, value) in summary["goals"].items():
            print(f"  {'yes' if met else 'NO ':<4}{goal}: {value}")
    for problem in summary["problems"]:
        print(f"- {problem}")
    return summary


PER_PARTY = """
import json, sys
from pathlib import Path
from transcription.audio import decode
from transcription.decoding import Transcriber
transcriber = Transcriber()
out = {}
for path in sorted(Path(sys.argv[1]).iterdir()):
    call = transcriber.transcribe(decode(path))
    parties = {}
    for segment in call.segments:
        parties.setdefault(segment.speaker, []).append(segment.text)
    out[path.name] = {party: " ".join(texts) for party, texts in parties.items()}
print(json.dumps(out))
"""


def qm_per_party(folder: Path, truths: dict[str, dict[str, Any]]) -> float:
    """qm's words scored as the plain loop's are, party by party: the same decoder (the
    defaults, in a child process) without redaction, which replaces the very digits the
    references hold. The stored timeline interleaves the parties by time, and where qm cuts an
    utterance at a pause the other party's turn can fall between its halves, which costs the
    timeline WER words that were heard right."""
    child = subprocess.run([sys.executable, "-c", PER_PARTY, str(folder)], env=run.child_env(),
                           capture_output=True, text=True, check=True)
    heard = json.loads(child.stdout)
    hyps = {name: " ".join(heard.get(name, {}).get(p, "") for p in t["parties"])
            for name, t in truths.items()}
    return run.wer(references(truths, "plain"), hyps)


def goals(rows: dict[str, dict[str, Any]],
          determinism: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    """Issue 15's goals for ``qm`` with its defaults: met, and the figure that says so."""
    qm, plain = rows["qm"], rows["plain"]
    m, red = qm["metrics"], qm["redaction"]
    same = (not determinism.get("qm_vs_qm-1proc_differing_files")
            and not determinism.get("qm_runs_differing_files"))
    checked = [k for k in ("qm_vs_qm-1proc_differing_files", "qm_runs_differing_files")
               if k in determinism]
    return {
        "at least 25x realtime end to end": (qm["rtf"] >= 25.0, f"{qm['rtf']:.1f}x"),
        "WER at most the plain loop's, party by party (same runs)": (
            qm["wer_per_party"] <= plain["wer"],
            f"{qm['wer_per_party']:.3f} vs {plain['wer']:.3f} (timeline {qm['wer']:.3f})"),
        "metrics within tolerance in every call": (
            m["calls_within_every_tolerance"] == 1.0,
            f"{_pct(m['calls_within_every_tolerance'])} of calls"),
        "every number of 6+ digits redacted": (
            red["long_redacted"] in (None, 1.0),
            f"{_pct(red['long_redacted'])} of {red['long_numbers']}"),
        "every run of 1-4 digits left as it was": (
            red["short_left_unredacted"] in (None, 1.0),
            f"{_pct(red['short_left_unredacted'])} of {red['short_runs']}"),
        "the same transcript in every run and variant": (
            same and bool(checked), ", ".join(checked) or "not checked (one variant, one run)"),
    }


def _pair(stats: dict[str, float | None]) -> str:
    if stats["mean"] is None:
        return "-"
    return f"{stats['mean']:.2f}/{stats['max']:.2f}"


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"


if __name__ == "__main__":
    sys.exit(main())
