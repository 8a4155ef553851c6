"""Scaling of `qm transcribe --queue` with Celery workers (`qm worker`), in one run.

Usage::

    python bench/transcribe/scale.py [--corpus DIR] [--limit N] [--runs 3] [--json FILE]
        [--database-url URL | --database-url sqlite] [--workers 2]

Without ``--corpus`` it generates the corpus (``make_corpus.py``) into a temp folder first; the
files transcribed are its ``calls/`` folder (``--limit N``: only the first N of them, by name).

The variants, on the same files, with the same model and settings (the defaults of
``qm transcribe``; ``QM_WHISPER_CPU_THREADS`` set as below, in the workers' environment and in
the client's, because the client's settings travel with each task):

* ``1 worker x 1 thread``: one ``qm worker --concurrency 1``, ``QM_WHISPER_CPU_THREADS=1``.
  The baseline: one core.
* ``N workers x 1 thread``: N separate ``qm worker --concurrency 1`` processes (``--workers``,
  default 2), one thread each. The goal is near-linear scaling: N times the baseline's speed.
* ``1 worker x N threads``: one worker using N cores in one process, for reference.
* ``local --workers N``: ``qm transcribe --workers N`` (N spawned local processes, one thread
  each, no Celery), for reference. Its wall time includes starting the processes and loading
  N models, which the Celery variants do before the clock starts.

For each variant: a fresh database (the PostgreSQL database of ``--database-url``, whose name
must start with ``qm_bench``: created if missing, its ``public`` schema dropped and made again,
then ``qm db upgrade``; or ``--database-url sqlite``: a new SQLite file), a temp
``QM_DATA_DIR``, a queue of its own (``QM_TRANSCRIBE_QUEUE=qm-bench-<uuid>``, so no other queue
on the broker is touched) and ``qm users create bench.agent --password-stdin``, none of it
timed. The workers are started and the script waits until each one is ready, model loaded:

1. its log says ``<node> ready.``, and the node answers a ``ping`` addressed to it alone;
2. a probe (Celery's built-in ``celery.accumulate`` task, which does nothing) sent on a queue
   that only this node consumes (``add_consumer``) comes back. A pool process runs tasks only
   after its start-up hook, which is where ``qm worker`` loads the model, so "ready" in the log
   is not enough: it comes before the model is loaded.

Then it waits for a quiet machine and times ``qm transcribe --queue DIR --agent bench.agent
--jsonl out.jsonl`` as a child process, end to end: start, enqueue, last result written. The
workers are stopped with SIGTERM (Celery's warm shutdown), and their process group is killed
after ``--stop-grace`` seconds or once the worker has gone, so nothing is left behind.

Checks, reported and turned into exit status 1 if they fail: every file is "done" in the
jsonl; the transcripts (``text`` of each jsonl line) are the same in every variant and run as in
the baseline's first run; the database says how many worker processes did the work and with how
many threads (``transcription_jobs.worker``, ``transcripts.settings.cpu_threads_used``).

The speed-up of a variant is the baseline's wall time divided by its own, in the same run (the
median over ``--runs``); the ideal for N workers is N. The variants run in this order in odd
runs and in reverse order in even runs, so that a drift in the machine's speed does not favour
one side.

Quiet machine, as ``run.py``: before each timed variant it waits (up to ``--quiet-wait`` s) until
the rest of the machine uses under ``--quiet-threshold`` CPUs, and each measurement records the
CPUs the rest of the machine used meanwhile (/proc/stat minus this script, its children and the
workers' process trees).

``--smoke`` (what CI runs, see bench/README.md): ``make_corpus.py --smoke``'s call (one file
of about 8 s, unless ``--corpus``), one run of two variants, the baseline (one Celery worker:
start, readiness probe, queue, warm shutdown) and ``local --workers N``, with no wait for a
quiet machine, shorter time limits and the JSON written to a temp file; every check above
still applies. ``--only`` picks variants by key for any run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from run import AGENT_USER, CLOCK_TICKS, audio_seconds, corpus_or_make, machine_busy_ticks
from run import wait_for_quiet as run_wait_for_quiet

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
QM = str(BIN / "qm")
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/qm_bench"
READY_LINE = re.compile(r"(\S+@\S+) ready\.")


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    kind: str  # "celery" or "local"
    workers: int  # worker processes (celery) or local processes
    threads: int  # QM_WHISPER_CPU_THREADS of each


def variants(n: int) -> list[Variant]:
    return [Variant("w1t1", "1 worker x 1 thread", "celery", 1, 1),
            Variant(f"w{n}t1", f"{n} workers x 1 thread", "celery", n, 1),
            Variant(f"w1t{n}", f"1 worker x {n} threads", "celery", 1, n),
            Variant(f"local{n}", f"local --workers {n}", "local", n, 1)]


# --- CPU: this script, its children, the workers' trees, and the rest of the machine ----------

def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def descendants(roots: list[int]) -> set[int]:
    """The roots and every live process below them."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parent[int(entry.name)] = int(fields[1])
    found = {pid for pid in roots if pid in parent}
    grew = True
    while grew:
        more = {pid for pid, ppid in parent.items() if ppid in found} - found
        found |= more
        grew = bool(more)
    return found


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (a worker's pool processes outlive it if it dies)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def tree_ticks(roots: list[int]) -> dict[int, int]:
    """utime + stime + cutime + cstime of each process in the roots' trees."""
    ticks: dict[int, int] = {}
    for pid in descendants(roots):
        fields = _stat_fields(pid)
        if fields is not None:
            ticks[pid] = sum(int(v) for v in fields[11:15])
    return ticks


class Meter:
    """CPUs used by this script, its waited-for children and the trees of ``roots`` (the
    workers, which are not waited for until they stop), and by everything else."""

    def __init__(self, roots: list[int] | None = None) -> None:
        self.roots = roots or []

    def start(self) -> None:
        t = os.times()
        self._t0 = (time.perf_counter(), machine_busy_ticks(),
                    t.user + t.system + t.children_user + t.children_system,
                    tree_ticks(self.roots))

    def stop(self) -> tuple[float, float]:
        wall0, busy0, own0, trees0 = self._t0
        t = os.times()
        wall = time.perf_counter() - wall0
        trees = tree_ticks(self.roots)
        tree_s = sum(v - trees0.get(pid, 0) for pid, v in trees.items()) / CLOCK_TICKS
        ours = (t.user + t.system + t.children_user + t.children_system - own0 + tree_s) / wall
        other = (machine_busy_ticks() - busy0) / CLOCK_TICKS / wall - ours
        return ours, max(0.0, other)


def wait_for_quiet(threshold: float, limit_s: float, roots: list[int]) -> float:
    return run_wait_for_quiet(threshold, limit_s, Meter(roots))


# --- database ------------------------------------------------------------------------------------

def check_url(url: str) -> None:
    """Refuse anything but a local benchmark database: each variant wipes it."""
    if url == "sqlite":
        return
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        sys.exit(f"--database-url: a PostgreSQL URL or 'sqlite', not {parsed.drivername!r}")
    if parsed.host not in ("127.0.0.1", "localhost"):
        sys.exit(f"refusing: {parsed.host!r} is not this machine; the benchmark stays local")
    if not (parsed.database or "").startswith("qm_bench"):
        sys.exit(f"refusing to wipe {parsed.database!r}: its name does not start with 'qm_bench'")


def fresh_database(url: str, data_dir: Path) -> str:
    """An empty database for one variant; returns its URL (``qm db upgrade`` comes next)."""
    if url == "sqlite":
        return f"sqlite:///{data_dir / 'qm.sqlite3'}"  # data_dir is new: so is the file
    from sqlalchemy import create_engine, make_url, text

    parsed = make_url(url)
    name = parsed.database
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    return url


def stored_facts(url: str) -> dict[str, Any]:
    """What the database says about who transcribed and with how many threads."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT j.status, j.worker, t.settings FROM transcription_jobs j "
                "LEFT JOIN transcripts t ON t.interaction_id = j.interaction_id")).all()
    finally:
        engine.dispose()
    workers: dict[str, int] = {}
    threads: set[int] = set()
    for _status, worker, settings in rows:
        workers[worker or "?"] = workers.get(worker or "?", 0) + 1
        if isinstance(settings, str):
            settings = json.loads(settings)
        if settings and settings.get("cpu_threads_used") is not None:
            threads.add(int(settings["cpu_threads_used"]))
    return {"jobs": len(rows), "files_per_worker": sorted(workers.values(), reverse=True),
            "cpu_threads_used": sorted(threads)}


# --- workers ---------------------------------------------------------------------------------

def celery_client() -> Any:
    """A Celery app on qm's broker and result backend, for control commands and probes only."""
    from celery import Celery

    from qm.config import Settings
    from transcription.settings import TranscriptionSettings

    site = TranscriptionSettings.from_settings(Settings(secret_key="not used here"))
    app = Celery("qm-bench", broker=site.broker_url, backend=site.result_backend)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                    result_accept_content=["json"])
    return app


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [QM, "worker", "--concurrency", "1", "--loglevel", "INFO"], env=env,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)  # its own process group: see stop()
        self.started = time.perf_counter()
        self.node = ""
        self.ready_s = 0.0

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, app: Any, queue: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout

        def left() -> float:
            if self.proc.poll() is not None:
                raise SystemExit(f"qm worker exited ({self.proc.returncode}) before it was "
                                 f"ready:\n{self.log_tail()}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SystemExit(f"qm worker not ready within {timeout:g} s:\n{self.log_tail()}")
            return remaining

        while not self.node:  # 1. the log's "ready" line, which names the node
            left()
            found = READY_LINE.search(self.log.read_text(errors="replace"))
            if found:
                self.node = found.group(1)
            else:
                time.sleep(0.1)
        while not app.control.ping(destination=[self.node], timeout=min(1.0, left())):
            pass
        # 2. a task through its pool process, which runs tasks only after loading the model
        probe = f"{queue}.probe.{self.proc.pid}"
        app.control.add_consumer(probe, destination=[self.node], reply=True,
                                 timeout=min(5.0, left()))
        try:
            result = app.send_task("celery.accumulate", args=[1], queue=probe)
            while not result.ready():
                left()
                time.sleep(0.1)
            result.forget()
        finally:
            app.control.cancel_consumer(probe, destination=[self.node], reply=True,
                                        timeout=5.0)
            delete_queue(app, probe)
        self.ready_s = time.perf_counter() - self.started

    def stop(self, grace: float) -> dict[str, Any]:
        """SIGTERM (warm shutdown), up to ``grace`` s for it to exit, then SIGKILL to its group
        whatever happened, for any pool process left behind. Call ``signal_stop`` first to stop
        several at once."""
        self.signal_stop()
        clean = True
        try:
            self.proc.wait(timeout=max(0.0, grace - (time.perf_counter() - self._term_at)))
        except subprocess.TimeoutExpired:
            clean = False
        exit_s = time.perf_counter() - self._term_at
        leftovers = len(group_members(self.proc.pid))  # after a clean exit: should be 0
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group made by start_new_session
        except ProcessLookupError:
            pass
        self.proc.wait()
        return {"clean": clean, "exit_s": round(exit_s, 2), "returncode": self.proc.returncode,
                "leftover_processes": leftovers}

    def signal_stop(self) -> None:
        if not hasattr(self, "_term_at"):
            self._term_at = time.perf_counter()
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)


def delete_queue(app: Any, queue: str) -> None:
    """Remove a queue of ours and its binding to the exchange of the same name (how Celery
    declares a queue named on a worker's command line) from the broker."""
    from kombu import Exchange, Queue

    try:
        with app.connection_for_write() as conn:
            bound = Queue(queue, Exchange(queue, "direct"), routing_key=queue)(conn.default_channel)
            bound.declare()  # so that this channel knows the binding that delete() removes
            bound.delete()
    except Exception as exc:  # best effort: an empty queue left behind harms nobody
        print(f"  (could not delete queue {queue}: {exc})", flush=True)


# --- one variant -----------------------------------------------------------------------------

def base_env() -> dict[str, str]:
    """This environment without qm's settings, except where the broker is."""
    keep = {"QM_BROKER_URL", "QM_RESULT_BACKEND"}
    env = {k: v for k, v in os.environ.items()
           if (not k.startswith("QM_") or k in keep) and k != "OMP_NUM_THREADS"}
    env["PYTHONPATH"] = str(ROOT)
    env["HF_HUB_OFFLINE"] = "1"
    return env


def run_variant(variant: Variant, folder: Path, work: Path, args: argparse.Namespace,
                app: Any) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix=f"data-{variant.key}-", dir=work))
    queue = f"qm-bench-{uuid.uuid4()}"
    env = base_env()
    env.update(QM_DATA_DIR=str(data), QM_TRANSCRIBE_QUEUE=queue,
               QM_WHISPER_CPU_THREADS=str(variant.threads))
    env["QM_DATABASE_URL"] = url = fresh_database(args.database_url, data)
    subprocess.run([QM, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([QM, "users", "create", AGENT_USER, "--role", "agent", "--name",
                    "Bench Agent", "--password-stdin"], env=env, check=True,
                   capture_output=True, input="bench-password-1\n", text=True)
    jsonl = data / "out.jsonl"
    workers: list[Worker] = []
    stops: list[dict[str, Any]] = []
    try:
        if variant.kind == "celery":
            worker_env = dict(env, QM_WORKER_CPU_THREADS=str(variant.threads))
            workers = [Worker(worker_env, work / f"worker-{variant.key}-{i}.log")
                       for i in range(variant.workers)]
            for w in workers:
                w.wait_ready(app, queue, args.ready_timeout)
            cmd = [QM, "transcribe", str(folder), "--queue", "--timeout",
                   str(args.file_timeout)]
        else:
            cmd = [QM, "transcribe", str(folder), "--workers", str(variant.workers)]
        cmd += ["--agent", AGENT_USER, "--jsonl", str(jsonl)]
        roots = [w.proc.pid for w in workers]
        quiet = wait_for_quiet(args.quiet_threshold, args.quiet_wait, roots)
        meter = Meter(roots)
        meter.start()
        started = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        ours, other = meter.stop()
    finally:
        for w in workers:
            w.signal_stop()
        stops = [w.stop(args.stop_grace) for w in workers]
        if variant.kind == "celery":
            delete_queue(app, queue)
    if proc.returncode != 0:
        print(f"  {variant.label}: qm transcribe exited {proc.returncode}:\n"
              f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}", flush=True)
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()] if jsonl.exists() else []
    texts = {Path(line["path"]).name: line.get("text") or "" for line in lines}
    not_done = sorted(Path(line["path"]).name for line in lines if line["status"] != "done")
    missing = sorted({p.name for p in folder.glob("*.wav")} - set(texts))
    facts = stored_facts(url)
    shutil.rmtree(data, ignore_errors=True)
    return {"wall_s": wall, "cpus": ours, "other_cpus": other, "quiet_before": quiet,
            "returncode": proc.returncode, "not_done": not_done + missing, "texts": texts,
            "audio_s_jsonl": sum(float(line.get("duration_s") or 0) for line in lines),
            "ready_s": [round(w.ready_s, 2) for w in workers], "stops": stops, **facts}


# --- main ------------------------------------------------------------------------------------

def pick_files(corpus: Path, limit: int | None, work: Path) -> Path:
    calls = corpus / "calls"
    if not calls.is_dir():
        sys.exit(f"{calls} is missing: --corpus takes the folder make_corpus.py wrote")
    if limit is None:
        return calls
    folder = work / f"calls-first-{limit}"
    folder.mkdir()
    for path in sorted(calls.glob("*.wav"))[:limit]:
        shutil.copy2(path, folder / path.name)
    return folder


def versions() -> dict[str, str]:
    found = {}
    for name in ("faster-whisper", "ctranslate2", "celery", "kombu", "redis", "SQLAlchemy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="made by make_corpus.py (default: make one)")
    parser.add_argument("--limit", type=int, help="only the first N files of calls/ (smoke run)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2,
                        help="N: the scaled variant's workers, the reference's threads")
    parser.add_argument("--database-url",
                        default=os.environ.get("QM_BENCH_DATABASE_URL") or DEFAULT_URL,
                        help="PostgreSQL, database name starting with qm_bench (wiped for each "
                             "variant), or 'sqlite' for a new SQLite file per variant")
    parser.add_argument("--quiet-threshold", type=float, default=0.3)
    parser.add_argument("--quiet-wait", type=float, default=120.0)
    parser.add_argument("--ready-timeout", type=float, default=300.0,
                        help="s for a worker to start and load its model")
    parser.add_argument("--file-timeout", type=float, default=900.0,
                        help="qm transcribe --timeout: s to wait for one result")
    parser.add_argument("--stop-grace", type=float, default=60.0,
                        help="s after SIGTERM before a worker's process group is killed")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", default="",
                        help="comma-separated variant keys (w1t1, wNt1, w1tN, localN; "
                             "default: all); the baseline w1t1 always runs")
    parser.add_argument("--smoke", action="store_true",
                        help="CI's smoke run: make_corpus.py --smoke's call (unless --corpus), "
                             "--runs 1, the variants w1t1 and localN (unless --only), "
                             "--quiet-wait 0, shorter time limits, the JSON to a temp file")
    if "--smoke" in (sys.argv[1:] if argv is None else argv):
        parser.set_defaults(runs=1, quiet_wait=0.0, ready_timeout=120.0, file_timeout=120.0,
                            stop_grace=30.0)
    args = parser.parse_args(argv)
    check_url(args.database_url)
    if args.runs < 1 or args.workers < 2 or (args.limit is not None and args.limit < 1):
        parser.error("--runs must be 1 or more, --workers 2 or more, --limit 1 or more")
    order = variants(args.workers)
    wanted = [k for k in args.only.split(",") if k] or (
        [order[0].key, order[-1].key] if args.smoke else [v.key for v in order])
    unknown = set(wanted) - {v.key for v in order}
    if unknown:
        parser.error(f"--only: no variant {', '.join(sorted(unknown))}; with --workers "
                     f"{args.workers} they are {', '.join(v.key for v in order)}")
    order = [v for v in order if v.key in wanted or v is order[0]]  # the baseline always runs
    cpus = len(os.sched_getaffinity(0))
    if args.workers > cpus:
        print(f"warning: {args.workers} workers on {cpus} CPUs cannot scale linearly",
              flush=True)
    sys.path.insert(0, str(ROOT))  # qm and transcription, for the broker's address
    app = celery_client()

    work = Path(tempfile.mkdtemp(prefix="qm-bench-scale-"))
    if args.smoke and args.json is None:
        args.json = work / "results.json"
    try:
        folder = pick_files(corpus_or_make(args.corpus, work, args.smoke), args.limit, work)
        files = sorted(p.name for p in folder.glob("*.wav"))
        audio_s = audio_seconds(folder)
        print(f"{len(files)} files, {audio_s:.1f} s of audio, {cpus} CPUs, database "
              f"{args.database_url.split('://')[0]}", flush=True)
        results: dict[str, list[dict[str, Any]]] = {v.key: [] for v in order}
        for run in range(1, args.runs + 1):
            print(f"run {run}:", flush=True)
            for variant in (order if run % 2 else order[::-1]):
                r = run_variant(variant, folder, work, args, app)
                results[variant.key].append(r)
                print(f"  {variant.label}: {r['wall_s']:.1f} s wall, {audio_s / r['wall_s']:.1f}x"
                      f" realtime, cpus {r['cpus']:.2f}, other {r['other_cpus']:.2f} (before "
                      f"{r['quiet_before']:.2f}), files per worker {r['files_per_worker']}, "
                      f"threads {r['cpu_threads_used']}, ready {r['ready_s']} s, "
                      f"stop {[(s['exit_s'], s['clean']) for s in r['stops']]}", flush=True)

        base_key = order[0].key
        reference = results[base_key][0]["texts"]
        problems: list[str] = []
        summary: dict[str, Any] = {
            "date": dt.date.today().isoformat(), "machine": platform.platform(), "cpus": cpus,
            "python": platform.python_version(), "versions": versions(), "runs": args.runs,
            "database": args.database_url.split("://")[0], "files": len(files),
            "audio_s": audio_s, "baseline": base_key, "variants": {},
            "baseline_texts": reference}
        for v in order:
            runs = results[v.key]
            speedups = [b["wall_s"] / r["wall_s"] for b, r in zip(results[base_key], runs,
                                                                 strict=True)]
            differ = sorted({name for r in runs for name in files
                             if r["texts"].get(name) != reference.get(name)})
            not_done = sorted({name for r in runs for name in r["not_done"]})
            if not_done:
                problems.append(f"{v.label}: not done: {', '.join(not_done)}")
            if differ:
                problems.append(f"{v.label}: transcripts differ from the baseline's: "
                                f"{', '.join(differ)}")
            if any(r["returncode"] for r in runs):
                problems.append(f"{v.label}: qm transcribe exit status "
                                f"{[r['returncode'] for r in runs]}")
            used = sorted({t for r in runs for t in r["cpu_threads_used"]})
            if used != [v.threads]:
                problems.append(f"{v.label}: threads used {used}, expected {v.threads}")
            spread = [len(r["files_per_worker"]) for r in runs]
            if min(spread) < min(v.workers, len(files)):
                problems.append(f"{v.label}: only {min(spread)} of {v.workers} processes got "
                                "files in some run")
            unclean = [s for r in runs for s in r["stops"] if not s["clean"]]
            if unclean:
                problems.append(f"{v.label}: {len(unclean)} worker(s) did not exit within "
                                f"{args.stop_grace:g} s of SIGTERM; killed")
            orphans = sum(s["leftover_processes"] for r in runs for s in r["stops"] if s["clean"])
            if orphans:
                problems.append(f"{v.label}: {orphans} process(es) outlived their worker; killed")
            wall = statistics.median(r["wall_s"] for r in runs)
            summary["variants"][v.key] = {
                "label": v.label, "kind": v.kind, "workers": v.workers, "threads": v.threads,
                "wall_s": wall, "rtf": audio_s / wall, "speedup": statistics.median(speedups),
                "speedups": [round(s, 3) for s in speedups],
                "walls": [round(r["wall_s"], 2) for r in runs],
                "cpus": [round(r["cpus"], 2) for r in runs],
                "other_cpus": [round(r["other_cpus"], 2) for r in runs],
                "files_per_worker": [r["files_per_worker"] for r in runs],
                "cpu_threads_used": used, "ready_s": [r["ready_s"] for r in runs],
                "stops": [r["stops"] for r in runs], "texts_differ": differ,
                "not_done": not_done}
        summary["problems"] = problems

        print(f"\n{len(files)} files, {audio_s:.1f} s of audio; median of {args.runs} run(s); "
              f"speed-up = the baseline's wall time / the variant's, in the same run.\n")
        print("| variant | wall s | realtime | speed-up vs 1 worker x 1 thread | ideal | "
              "CPUs used | other load (CPUs) | walls |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for v in order:
            s = summary["variants"][v.key]
            ideal = "1" if v.key == base_key else str(args.workers)
            print(f"| {s['label']} | {s['wall_s']:.1f} | {s['rtf']:.1f}x | "
                  f"{s['speedup']:.2f} | {ideal} | {statistics.median(s['cpus']):.2f} | "
                  f"{' / '.join(f'{c:.2f}' for c in s['other_cpus'])} | "
                  f"{', '.join(str(w) for w in s['walls'])} |")
        print()
        print("all files done, same transcripts in every variant: "
              + ("yes" if not problems else "NO"))
        for problem in problems:
            print(f"- {problem}")
        if args.json:
            args.json.write_text(json.dumps(summary, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
