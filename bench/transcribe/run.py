"""Speed and accuracy of `qm transcribe` against a plain faster-whisper loop, in one run.

Usage::

    python bench/transcribe/run.py [--corpus DIR] [--runs 2] [--json results.json]

Without ``--corpus`` it generates the corpus (``make_corpus.py``) into a temp folder first.

What is compared, on the same files, with the same model (the bundled tiny.en), int8, on the
CPU, beam 1, English, Silero VAD on, ``cpu_threads`` = the CPUs this process may use:

* ``plain``: the honest baseline. ``WhisperModel(...)`` once, then for each file
  ``faster_whisper.decode_audio(path, split_stereo=True)`` and ``model.transcribe(channel,
  beam_size=1, language="en", vad_filter=True)`` for each channel, consuming the segments. That
  is what the pipeline does for a dual-channel call (one transcript per party), minus batching,
  word timestamps, redaction, metrics and the database.
* ``plain-mono``: the naive loop: ``decode_audio(path)`` downmixes to mono, one transcribe per
  file. Cheaper, but it loses who said what; shown for reference only.
* ``qm``: ``qm transcribe DIR --agent bench.agent --jsonl ...`` as a subprocess against a fresh
  SQLite database in a temp ``QM_DATA_DIR`` (``qm db upgrade`` and ``qm users create`` first,
  not timed), with ``QM_KEEP_RAW_TRANSCRIPTS=1`` so that the unredacted text is kept in
  ``transcripts.raw_text``, which is what is scored (the stored text has PII replaced by tags).
  Its default ``--workers auto`` runs one one-thread process per core when the batch has
  2 minutes of audio a process. Also ``qm-1proc`` (``--workers 1``: this process alone, with
  every core as a thread, like the plain loop), and, both with ``--workers 1``, ``qm-batched``
  on the calls (``--batch-size 8``: the batched pipeline for long channels too, instead of the
  sequential decoder "auto" picks on a CPU) and ``qm-unpacked`` on the clips
  (``--group-files 1``: every file on its own, no packing).

Every variant runs as a child process and its wall time covers the interpreter start, imports,
model load, decoding and (for qm) the database writes: end to end. The plain loops run in a
child of this script (``run.py plain ...``) for that reason.

WER: word-level edit distance over the whole corpus (sum of edits / sum of reference words).
Each variant is scored in the order its output has: ``qm`` and ``plain-mono`` give one timeline,
scored against the turns in time order; ``plain`` gives one text per channel, scored against
the agent's turns followed by the customer's. (Merging the plain loop's channels by segment
start is not fair to it: its sequential decoder with VAD returns segments that run across the
other party's turns, so a merge by start time scrambles the order and WER doubles.)
Both sides are normalised the same way: lower case, punctuation dropped, a few
contractions expanded, number words zero-nine as digits and every digit string split into
single digits ("47" and "four seven" both become "4 7"), "£35" as "35 pounds".

Quiet machine: before each round it waits (up to ``--quiet-wait`` s) until the rest of the
machine uses under ``--quiet-threshold`` CPUs, and every measurement records the CPUs the rest
of the machine used meanwhile (/proc/stat minus this script and its children).

A variant that hears no word at all in a set, or fails, makes the exit status 1.

``--smoke`` (what CI runs, see bench/README.md): every variant once, on ``make_corpus.py
--smoke``'s two short files (about 9 s of real speech), with no wait for a quiet machine and
the JSON written to a temp file, so that a change that breaks one of them fails CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
AGENT_USER = "bench.agent"


# --- CPU of the rest of the machine -----------------------------------------------------------

def machine_busy_ticks() -> int:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return user + nice + system + irq + softirq + steal


class CpuMeter:
    """CPUs used by this script and its (waited-for) children, and by everything else."""

    def start(self) -> None:
        t = os.times()
        self._t0 = (time.perf_counter(), machine_busy_ticks(),
                    t.user + t.system + t.children_user + t.children_system)

    def stop(self) -> tuple[float, float]:
        wall0, busy0, ours0 = self._t0
        t = os.times()
        wall = time.perf_counter() - wall0
        ours = (t.user + t.system + t.children_user + t.children_system - ours0) / wall
        other = (machine_busy_ticks() - busy0) / CLOCK_TICKS / wall - ours
        return ours, max(0.0, other)


def wait_for_quiet(threshold: float, limit_s: float, meter: Any = None) -> float:
    """Wait until the rest of the machine (as ``meter``, a CpuMeter by default, sees it) uses
    under ``threshold`` CPUs, or ``limit_s`` passed; the last measure of that load (NaN when
    ``limit_s`` is 0: no wait, no measure)."""
    if limit_s <= 0:
        return math.nan
    deadline = time.monotonic() + limit_s
    meter = meter or CpuMeter()
    while True:
        meter.start()
        time.sleep(2.0)
        _ours, other = meter.stop()
        if other < threshold or time.monotonic() >= deadline:
            return other


# --- WER ----------------------------------------------------------------------------------------

_CONTRACTIONS = {"it's": "it is", "i'm": "i am", "don't": "do not", "that's": "that is",
                 "i'll": "i will", "let's": "let us", "you're": "you are", "i've": "i have",
                 "what's": "what is", "there's": "there is", "we'll": "we will",
                 "can't": "cannot", "won't": "will not", "i'd": "i would", "we're": "we are",
                 "you'll": "you will", "didn't": "did not", "isn't": "is not",
                 "who's": "who is", "we've": "we have"}
_DIGITS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine".split())}


def normalise(text: str) -> list[str]:
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"£\s*([\d.,]+)", r"\1 pounds", text)
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,000 -> 1000
    words: list[str] = []
    for word in re.findall(r"[a-z0-9']+", text):
        word = _CONTRACTIONS.get(word, word).replace("'", "")
        for part in word.split():
            part = _DIGITS.get(part, part)
            words += re.findall(r"\d|[a-z]+", part)  # digits one by one: "47" -> "4 7"
    return words


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1]


def wer(refs: dict[str, str], hyps: dict[str, str]) -> float:
    edits = words = 0
    for name, ref in refs.items():
        r, h = normalise(ref), normalise(hyps.get(name, ""))
        edits += edit_distance(r, h)
        words += len(r)
    return edits / words if words else math.nan


# --- the plain loop (runs as a child: `run.py plain DIR MODE OUT`) ------------------------------

def plain_worker(folder: Path, mode: str, out: Path) -> None:
    from faster_whisper import WhisperModel, decode_audio

    from transcription.model_files import bundled_model_path

    threads = len(os.sched_getaffinity(0))
    model = WhisperModel(str(bundled_model_path()), device="cpu", compute_type="int8",
                         cpu_threads=threads, local_files_only=True)
    texts: dict[str, str] = {}
    for path in sorted(folder.glob("*.wav")):
        if mode == "mono":
            channels = [decode_audio(str(path))]
        else:
            with wave.open(str(path)) as w:
                stereo = w.getnchannels() == 2
            channels = (list(decode_audio(str(path), split_stereo=True)) if stereo
                        else [decode_audio(str(path))])
        heard: list[str] = []  # channel by channel: left (agent), then right (customer)
        for samples in channels:
            segments, _info = model.transcribe(samples, beam_size=1, language="en",
                                               vad_filter=True)
            heard += [s.text.strip() for s in segments if s.text.strip()]
        texts[path.name] = " ".join(heard)
    out.write_text(json.dumps(texts))


# --- measuring ----------------------------------------------------------------------------------

def child_env(data_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("QM_") and k != "OMP_NUM_THREADS"}
    env["PYTHONPATH"] = str(HERE.parents[1])
    env["HF_HUB_OFFLINE"] = "1"
    if data_dir is not None:
        env.update(QM_DATA_DIR=str(data_dir), QM_KEEP_RAW_TRANSCRIPTS="1")
    return env


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall s, our CPUs, other CPUs) of one child process that must succeed."""
    meter = CpuMeter()
    meter.start()
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    ours, other = meter.stop()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return wall, ours, other


def run_plain(folder: Path, mode: str, work: Path) -> dict[str, Any]:
    out = work / f"plain-{mode}-{folder.name}.json"
    wall, ours, other = timed([sys.executable, str(Path(__file__).resolve()), "plain",
                               str(folder), mode, str(out)], child_env())
    return {"wall_s": wall, "cpus": ours, "other_cpus": other,
            "texts": json.loads(out.read_text())}


QM_VARIANTS = {"qm": [], "qm-1proc": ["--workers", "1"],
               "qm-batched": ["--batch-size", "8", "--workers", "1"],
               "qm-unpacked": ["--group-files", "1", "--workers", "1"]}
"""``qm transcribe`` with its defaults; with the batched pipeline for every channel (the
default before it was measured here); with every file on its own (no packing)."""


def run_qm(folder: Path, work: Path, extra: list[str] | None = None) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="qm-bench-data-", dir=work))
    env = child_env(data)
    qm = str(BIN / "qm")
    subprocess.run([qm, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([qm, "users", "create", AGENT_USER, "--role", "agent", "--name",
                    "Bench Agent", "--password-stdin"], env=env, check=True,
                   capture_output=True, input="bench-password-1\nbench-password-1\n", text=True)
    jsonl = data / "out.jsonl"
    wall, ours, other = timed([qm, "transcribe", str(folder), "--agent", AGENT_USER,
                               "--jsonl", str(jsonl), *(extra or [])], env)
    statuses = [json.loads(line)["status"] for line in jsonl.read_text().splitlines()]
    if any(s != "done" for s in statuses):
        raise SystemExit(f"qm transcribe: not all done: {statuses}")
    with sqlite3.connect(data / "qm.sqlite3") as db:
        rows = db.execute("SELECT j.path, t.raw_text FROM transcription_jobs j "
                          "JOIN transcripts t ON t.interaction_id = j.interaction_id").fetchall()
    texts = {Path(p).name: raw or "" for p, raw in rows}
    shutil.rmtree(data, ignore_errors=True)
    return {"wall_s": wall, "cpus": ours, "other_cpus": other, "texts": texts}


def corpus_or_make(corpus: Path | None, work: Path, smoke: bool = False) -> Path:
    """The corpus given, or a new one made by make_corpus.py under ``work`` (its smoke corpus,
    two short files, with ``smoke``)."""
    if corpus is None:
        corpus = work / "corpus"
        subprocess.run([sys.executable, str(HERE / "make_corpus.py"), str(corpus),
                        *(["--smoke"] if smoke else [])], check=True)
    return corpus


def audio_seconds(folder: Path) -> float:
    total = 0.0
    for path in folder.glob("*.wav"):
        with wave.open(str(path)) as w:
            total += w.getnframes() / w.getframerate()
    return total


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["plain"]:
        plain_worker(Path(argv[1]), argv[2], Path(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="made by make_corpus.py (default: make one)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-mono", action="store_true", help="leave out plain-mono")
    parser.add_argument("--quiet-threshold", type=float, default=0.3)
    parser.add_argument("--quiet-wait", type=float, default=120.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--sets", default="calls,clips",
                        help="which sets to run, comma-separated (default: calls,clips)")
    parser.add_argument("--smoke", action="store_true",
                        help="CI's smoke run: make_corpus.py --smoke's two short files (unless "
                             "--corpus), --runs 1, --quiet-wait 0, the JSON to a temp file")
    if "--smoke" in argv:
        parser.set_defaults(runs=1, quiet_wait=0.0)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="qm-bench-transcribe-"))
    if args.smoke and args.json is None:
        args.json = work / "results.json"
    try:
        corpus = corpus_or_make(args.corpus, work, args.smoke)
        refs = json.loads((corpus / "references.json").read_text())
        sets = {"calls": corpus / "calls", "clips": corpus / "clips"}
        variants = [("calls", "plain"), ("calls", "qm"), ("calls", "qm-1proc"),
                    ("calls", "qm-batched")]
        if not args.no_mono:
            variants.append(("calls", "plain-mono"))
        variants += [("clips", "plain"), ("clips", "qm"), ("clips", "qm-1proc"),
                     ("clips", "qm-unpacked")]
        wanted = {name.strip() for name in args.sets.split(",")}
        sets = {name: folder for name, folder in sets.items() if name in wanted}
        variants = [(s, v) for s, v in variants if s in wanted]
        results: dict[str, list[dict[str, Any]]] = {f"{s}/{v}": [] for s, v in variants}
        for run in range(1, args.runs + 1):
            quiet = wait_for_quiet(args.quiet_threshold, args.quiet_wait)
            print(f"run {run}: other load before start {quiet:.2f} CPUs", flush=True)
            for set_name, variant in variants:
                folder = sets[set_name]
                if variant in QM_VARIANTS:
                    r = run_qm(folder, work, QM_VARIANTS[variant])
                else:
                    r = run_plain(folder, "mono" if variant == "plain-mono" else "stereo", work)
                if variant == "plain":  # channel by channel, as it transcribed them
                    ref = {name: v.get("agent", "") + " " + v.get("customer", v["whole"])
                           for name, v in refs[set_name].items()}
                else:  # one timeline, in time order
                    ref = {name: v["whole"] for name, v in refs[set_name].items()}
                r["wer"] = wer(ref, r["texts"])
                results[f"{set_name}/{variant}"].append(r)
                print(f"  {set_name}/{variant}: {r['wall_s']:.1f} s wall, WER {r['wer']:.3f}, "
                      f"cpus {r['cpus']:.2f}, other {r['other_cpus']:.2f}", flush=True)

        summary: dict[str, Any] = {
            "date": dt.date.today().isoformat(), "machine": platform.platform(),
            "cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "runs": args.runs, "sets": {}}
        for set_name, folder in sets.items():
            secs = audio_seconds(folder)
            summary["sets"][set_name] = {"files": len(list(folder.glob("*.wav"))),
                                         "audio_s": secs, "variants": {}}
        print(f"\n{'set/variant':<18}{'files':>6}{'audio s':>9}{'wall s':>9}{'RTF':>8}"
              f"{'WER':>8}{'other':>7}  walls")
        for key, runs in results.items():
            set_name, variant = key.split("/")
            s = summary["sets"][set_name]
            wall = statistics.median(r["wall_s"] for r in runs)
            row = {"wall_s": wall, "rtf": s["audio_s"] / wall,
                   "wer": statistics.median(r["wer"] for r in runs),
                   "walls": [round(r["wall_s"], 2) for r in runs],
                   "other_cpus": [round(r["other_cpus"], 2) for r in runs],
                   "cpus": [round(r["cpus"], 2) for r in runs],
                   "texts": runs[-1]["texts"]}
            s["variants"][variant] = row
            print(f"{key:<18}{s['files']:>6}{s['audio_s']:>9.1f}{wall:>9.1f}{row['rtf']:>8.1f}"
                  f"{row['wer']:>8.3f}{max(row['other_cpus']):>7.2f}  {row['walls']}")
        for set_name, s in summary["sets"].items():
            v = s["variants"]
            for name in QM_VARIANTS:
                if name in v:
                    ratio = s[f"{name}_over_plain_speed"] = v["plain"]["wall_s"] / v[name]["wall_s"]
                    print(f"{set_name}: {name} speed / plain loop speed = {ratio:.2f}")
        deaf = [key for key, runs in results.items()
                if not any(normalise(text) for r in runs for text in r["texts"].values())]
        summary["problems"] = [f"{key}: not a word heard" for key in deaf]
        for problem in summary["problems"]:
            print(f"- {problem}")
        if args.json:
            args.json.write_text(json.dumps(summary, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if summary["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
