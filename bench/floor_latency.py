"""qm's pages against the floor (issue 19): the least a Flask + SQLAlchemy page costs here.

Usage (after ``python bench/seed.py --interactions 100000 --agents 500
--evaluations-per-agent 165``)::

    python bench/floor_latency.py --json /tmp/floor_latency.json

In one run, with the same load generator (``wrk``), the same load and the same machine:

* **the floor**: ``../shared/bench/minimal_flask.py`` (``--floor``), one table of 100,000
  interactions and one page listing an agent's latest 50 with a count, under
  ``gunicorn -w 2`` (sync workers). Its table ``interaction`` goes into the benchmark database
  beside qm's tables (seeded with the floor's own ``seed()`` when missing; seed.py's schema
  reset removes it);
* **qm**, served by ``qm serve --workers 2`` (gunicorn, worker processes) and, for comparison,
  by ``qm serve --server waitress`` (one process of threads), each logged in through the real
  login form: ``/interactions?agent_id=`` and ``/scorecards/<agent>`` as the admin,
  ``/evaluations/<id>`` as the QA evaluator with the longest queue.

The floor is loaded first and again last; every page's p90 and req/s are given as a multiple
of the mean of the two floor runs (``p90 / floor``, ``req/s / floor``), since absolute times
move between machines and with what else runs beside the benchmark. Issue 19's goal: every page
within 2x the floor's p90 and at least 0.5x its throughput (column ``goal``).

Each URL gets one plain request first, with the cookie wrk will send: anything but HTTP 200
(a redirect to the login page included) or a page without its marker stops the run (exit 1)
before any load. Then ``wrk -t2 -c8 -dDURATION --latency`` (after an unmeasured warm-up);
p50 and p90 come from wrk's latency distribution, req/s from its ``Requests/sec``. Non-2xx/3xx
answers, socket timeouts or connect errors under load, or a page that no longer answers 200
after it, make the exit status 1 (the table is still printed).

Every row also carries the CPUs the rest of the machine used meanwhile (not wrk, the servers,
or their PostgreSQL backends): on a shared 2-core machine that moves every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import importlib.util
import json
import math
import os
import platform
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from list_latency import (  # noqa: E402
    CLOCK_TICKS,
    HOST,
    USER_AGENT,
    backend_pids,
    code_version,
    fmt,
    free_port,
    local_engine,
    login,
    machine_busy_ticks,
    process_ticks,
    qm_command,
)
from seed import ADMIN_USERNAME, BENCH_PASSWORD, DEFAULT_URL, add_smoke  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FLOOR = ROOT.parent / "shared" / "bench" / "minimal_flask.py"  # CI: ../shared/ beside
GOAL_P90 = 2.0  # issue 19: every page within 2x the floor's p90 ...
GOAL_RPS = 0.5  # ... and at least half its throughput
# What each page must hold: not the login page, not an error page, not an empty result.
FLOOR_MARKER = b" interactions</h1>"
LIST_MARKER = b'id="interactions"'
EVALUATION_MARKER = b"Evaluation #"
SCORECARD_MARKER = b'id="scorecard-n"'
LOGIN_MARKER = b'name="password"'
# --smoke: CI's run (bench/smoke.sh) on seed.py --smoke's data: every server and page, 2 s of
# load each from 2 connections, no warm-up, a small floor table.
SMOKE = {"duration": 2, "connections": 2, "warmup": 0, "startup": 90,
         "floor_interactions": 1000, "floor_agents": 10}
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


# --- wrk ---------------------------------------------------------------------------------

@dataclass
class Load:
    """What wrk reported for one URL."""
    requests: int
    seconds: float
    rps: float
    percentiles_ms: dict[str, float]  # "50", "75", "90", "99"
    non_2xx_3xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)  # connect, read, write, timeout

    @property
    def p50(self) -> float:
        return self.percentiles_ms.get("50", math.nan)

    @property
    def p90(self) -> float:
        return self.percentiles_ms.get("90", math.nan)

    def problem(self) -> str:
        """Why this load does not count ('' if it does). A read error alone is a connection
        the server closed, which wrk reopens; not an answer lost."""
        if self.non_2xx_3xx:
            return f"{self.non_2xx_3xx} answers not 2xx/3xx"
        bad = {k: v for k, v in self.socket_errors.items() if k != "read" and v}
        if bad:
            return "socket errors: " + ", ".join(f"{k} {v}" for k, v in bad.items())
        if not self.requests:
            return "no request completed"
        return ""


def to_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if match is None:
        raise ValueError(f"not a wrk duration: {value!r}")
    return float(match.group(1)) * UNITS_MS[match.group(2)]


def parse_wrk(out: str) -> Load:
    """wrk's report with --latency: the latency distribution, the totals and the errors."""
    percentiles = {m.group(1): to_ms(m.group(2))
                   for m in re.finditer(r"^\s+(\d+)%\s+([\d.]+(?:us|ms|s|m|h))\s*$", out, re.M)}
    total = re.search(r"^\s*(\d+) requests in ([\d.]+(?:us|ms|s|m|h)),", out, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    if total is None or rps is None or "90" not in percentiles:
        raise RuntimeError(f"could not read wrk's report:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    socket_errors = (dict(zip(("connect", "read", "write", "timeout"),
                              (int(g) for g in errors.groups()), strict=True))
                     if errors else {})
    return Load(int(total.group(1)), to_ms(total.group(2)) / 1000, float(rps.group(1)),
                percentiles, int(non_2xx.group(1)) if non_2xx else 0, socket_errors)


def wrk_command(args: argparse.Namespace, url: str, headers: dict[str, str],
                seconds: float) -> list[str]:
    threads = max(1, min(args.threads, args.connections))  # wrk wants connections >= threads
    command = [args.wrk, f"-t{threads}", f"-c{args.connections}", f"-d{seconds:g}s",
               "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    return [*command, url]


# --- CPU: ours and everyone else's -------------------------------------------------------

def process_tree(pid: int) -> set[int]:
    """``pid`` and its descendants (gunicorn's master and workers)."""
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


class Meter:
    """CPUs used by the benchmark (wrk, the server's processes, the database's backends) and by
    everything else on the machine, between ``start`` and ``stop``."""

    def __init__(self, ours: Callable[[], set[int]]) -> None:
        self.ours = ours
        self._start: tuple[float, int | None, dict[int, int], float] = (0.0, None, {}, 0.0)

    @staticmethod
    def _children_s() -> float:  # wrk, once waited for
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def start(self) -> None:
        self._start = (time.perf_counter(), machine_busy_ticks(),
                       {pid: process_ticks(pid) for pid in self.ours()}, self._children_s())

    def stop(self) -> tuple[float, float]:
        t0, busy0, ours0, children0 = self._start
        busy1 = machine_busy_ticks()
        ours1 = {pid: process_ticks(pid) for pid in self.ours() | set(ours0)}
        wall = time.perf_counter() - t0
        if busy0 is None or busy1 is None or wall <= 0:
            return math.nan, math.nan
        ticks = sum(max(0, t - ours0.get(pid, 0)) for pid, t in ours1.items())
        ours = (ticks / CLOCK_TICKS + self._children_s() - children0) / wall
        return ours, max(0.0, (busy1 - busy0) / CLOCK_TICKS / wall - ours)


# --- the servers -------------------------------------------------------------------------

@dataclass
class Server:
    name: str  # "floor", "qm-gunicorn", "qm-waitress"
    label: str  # for the table
    port: int
    pid: int


def answers(port: int, path: str) -> int | None:
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            conn.request("GET", path, headers={"User-Agent": USER_AGENT})
            return conn.getresponse().status
        finally:
            conn.close()
    except OSError:
        return None


@contextlib.contextmanager
def started(name: str, label: str, command: list[str], env: dict[str, str], ready_path: str,
            port: int, startup_s: float, logs: Path) -> Iterator[Server]:
    """A server started as a subprocess, waited for (HTTP 200 on ``ready_path``), and stopped
    (SIGTERM, then SIGKILL after 15 s) whatever happens."""
    log_path = logs / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                cwd=ROOT)
        try:
            deadline = time.monotonic() + startup_s
            while answers(port, ready_path) != 200:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n"
                                       f"{log_path.read_text(errors='replace')[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer {ready_path} within "
                                       f"{startup_s:.0f} s:\n"
                                       f"{log_path.read_text(errors='replace')[-3000:]}")
                time.sleep(0.2)
            yield Server(name, label, port, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    problems = [line for line in log_path.read_text(errors="replace").splitlines()
                if "Traceback" in line or "ERROR" in line]
    if problems:
        print(f"  {name}'s log had {len(problems)} error lines; first: {problems[0]}")


def qm_env(database_url: str, data_dir: str) -> dict[str, str]:
    return {**os.environ, "QM_DATABASE_URL": database_url, "QM_DATA_DIR": data_dir,
            "QM_SECRET_KEY": secrets.token_urlsafe(32), "QM_SECURE_COOKIES": "0",
            "QM_LOGIN_RATE_LIMIT": "1000 per minute"}


def qm_serve(args: argparse.Namespace, server: str, port: int) -> list[str]:
    command = [*qm_command(), "serve", "--host", HOST, "--port", str(port)]
    if server == "waitress":
        command += ["--server", "waitress"]
    else:
        command += ["--server", "gunicorn", "--workers", str(args.workers)]
    if args.qm_threads:
        command += ["--threads", str(args.qm_threads)]
    return command


# --- the floor's table and the ids the pages ask for -------------------------------------

def load_floor(path: Path, database_url: str) -> Any:
    """The floor's module, imported from its file (its engine points at the benchmark DB)."""
    if not path.is_file():
        raise SystemExit(f"no floor app at {path}: pass --floor PATH/minimal_flask.py")
    os.environ["QM_ANCHOR_DB"] = database_url
    spec = importlib.util.spec_from_file_location("minimal_flask", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def floor_rows(engine: Engine) -> int:
    if not inspect(engine).has_table("interaction"):
        return 0
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM interaction")) or 0


def ensure_floor_table(args: argparse.Namespace, engine: Engine) -> int:
    """The floor's table in the benchmark database, seeded by the floor's own ``seed()`` if
    missing or empty. Returns its row count."""
    rows = floor_rows(engine)
    if rows:
        return rows
    module = load_floor(args.floor, args.database_url)
    t0 = time.perf_counter()
    module.seed(args.database_url, n=args.floor_interactions, agents=args.floor_agents)
    module.engine.dispose()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE interaction"))
    rows = floor_rows(engine)
    print(f"seeded the floor's table: {rows:,} rows in {time.perf_counter() - t0:.1f} s")
    return rows


def middle(rows: list[Any]) -> Any:
    """The row at the median of a list sorted by count (the typical one, not the heaviest)."""
    if not rows:
        raise SystemExit("no rows to choose from: was the database seeded with bench/seed.py "
                         "--evaluations-per-agent N?")
    return rows[(len(rows) - 1) // 2]


@dataclass
class Ids:
    floor_agent: int
    floor_agent_rows: int
    agent_id: int  # /interactions?agent_id= : the agent with the median number of contacts
    agent_interactions: int
    scorecard_agent: int  # /scorecards/<agent>: the median number of released evaluations
    scorecard_evaluations: int
    evaluator: str  # the QA evaluator with the longest queue (evaluation_latency.py's choice)
    evaluation_id: int  # one of the released evaluations (the commonest kind)
    counts: dict[str, int]


def choose_ids(engine: Engine) -> Ids:
    with engine.connect() as conn:
        counts = {name: conn.scalar(text(f"SELECT count(*) FROM {name}")) or 0  # noqa: S608
                  for name in ("interaction", "interactions", "evaluations",
                               "evaluation_answers", "users")}
        floor = middle(conn.execute(text(
            "SELECT agent_id, count(*) FROM interaction GROUP BY agent_id "
            "ORDER BY 2, 1")).all())
        agent = middle(conn.execute(text(
            "SELECT agent_id, count(*) FROM interactions WHERE agent_id IS NOT NULL "
            "GROUP BY agent_id ORDER BY 2, 1")).all())
        released = "status IN ('released', 'acknowledged', 'disputed')"
        scorecard = middle(conn.execute(text(
            f"SELECT agent_id, count(*) FROM evaluations WHERE {released} "  # noqa: S608
            "GROUP BY agent_id ORDER BY 2, 1")).all())
        evaluator = conn.execute(text(
            "SELECT u.username FROM evaluations e JOIN users u ON u.id = e.evaluator_id "
            "GROUP BY u.id, u.username ORDER BY sum(CASE WHEN e.status IN ('assigned', "
            "'draft') THEN 1 ELSE 0 END) DESC, u.id LIMIT 1")).scalar_one()
        evaluation = conn.scalar(text(
            "SELECT id FROM evaluations WHERE status IN ('released', 'acknowledged') "
            "AND revision = 1 ORDER BY (id * 7919) % 1009, id LIMIT 1"))  # spread, portable
    if evaluation is None:
        raise SystemExit("no released evaluation: run bench/seed.py --evaluations-per-agent N")
    return Ids(floor[0], floor[1], agent[0], agent[1], scorecard[0], scorecard[1], evaluator,
               evaluation, counts)


# --- one run -----------------------------------------------------------------------------

@dataclass
class Page:
    name: str  # for the table
    server: Server
    path: str
    marker: bytes
    cookie: str = ""  # the session cookie of the user who opens it

    def headers(self) -> dict[str, str]:
        # The user agent the login used: Flask-Login ties the session to it.
        headers = {"User-Agent": USER_AGENT, "Accept": "text/html"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        return headers

    def url(self) -> str:
        return f"http://{HOST}:{self.server.port}{self.path}"


@dataclass
class Row:
    page: str
    server: str
    path: str
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    rps: float
    bench_cpus: float
    other_cpus: float
    loadavg: float
    problem: str = ""
    p90_ratio: float = math.nan  # against the mean of the two floor runs
    rps_ratio: float = math.nan

    @property
    def goal(self) -> bool:
        return self.p90_ratio <= GOAL_P90 and self.rps_ratio >= GOAL_RPS


def check(page: Page) -> str:
    """One plain request with wrk's headers: why it is not the page ('' if it is)."""
    conn = http.client.HTTPConnection(HOST, page.server.port, timeout=60)
    try:
        conn.request("GET", page.path, headers=page.headers())
        response = conn.getresponse()
        body = response.read()
    except OSError as exc:
        return f"no answer: {exc}"
    finally:
        conn.close()
    if response.status in (301, 302, 303, 307, 308):
        where = response.getheader("Location", "")
        login = " (to the login page: the session was refused)" if "/login" in where else ""
        return f"HTTP {response.status} to {where}{login}"
    if response.status != 200:
        return f"HTTP {response.status}"
    if LOGIN_MARKER in body and page.marker != FLOOR_MARKER:
        return "the login page"
    if page.marker not in body:
        return f"no {page.marker.decode()!r} in the page"
    return ""


def load(args: argparse.Namespace, page: Page, meter: Meter) -> Row:
    if args.warmup > 0:
        subprocess.run(wrk_command(args, page.url(), page.headers(), args.warmup),
                       capture_output=True, text=True, check=True)
    command = wrk_command(args, page.url(), page.headers(), args.duration)
    meter.start()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    bench_cpus, other_cpus = meter.stop()
    if done.returncode:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr or done.stdout}")
    result = parse_wrk(done.stdout)
    problem = result.problem() or (f"after the load: {after}" if (after := check(page)) else "")
    return Row(page.name, page.server.label, page.path, result.requests, result.seconds,
               result.p50, result.p90, result.percentiles_ms.get("99", math.nan), result.rps,
               bench_cpus, other_cpus, os.getloadavg()[0], problem)


def with_ratios(rows: list[Row]) -> tuple[float, float]:
    """Every row's p90 and req/s against the mean of the floor's runs (first and last)."""
    floors = [r for r in rows if r.page == "floor"]
    p90 = statistics.fmean(r.p90_ms for r in floors)
    rps = statistics.fmean(r.rps for r in floors)
    for r in rows:
        r.p90_ratio = r.p90_ms / p90
        r.rps_ratio = r.rps / rps
    return p90, rps


def table(rows: list[Row]) -> str:
    lines = ["| page | server | p50 ms | p90 ms | req/s | p90 / floor | req/s / floor | goal "
             "| other CPUs |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        goal = "-" if r.page == "floor" else ("met" if r.goal else "not met")
        if r.problem:
            goal = f"FAILED: {r.problem}"
        lines.append(f"| {r.page} | {r.server} | {fmt(r.p50_ms)} | {fmt(r.p90_ms)} "
                     f"| {fmt(r.rps, 0)} | {fmt(r.p90_ratio)}x | {fmt(r.rps_ratio, 2)} "
                     f"| {goal} | {fmt(r.other_cpus, 2)} |")
    return "\n".join(lines)


def measure(args: argparse.Namespace) -> int:
    engine = local_engine(args.database_url)
    floor_count = ensure_floor_table(args, engine)
    ids = choose_ids(engine)
    print(f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}  qm {code_version()}  "
          f"{os.cpu_count()} CPUs  {engine.url.render_as_string(hide_password=True)}  "
          + ", ".join(f"{v:,} {k}" for k, v in ids.counts.items()))
    print(f"load: {' '.join(wrk_command(args, 'URL', {}, args.duration))} per URL, after "
          f"{args.warmup:g} s unmeasured; loadavg {os.getloadavg()[0]:.2f}")
    servers: dict[str, Server] = {}
    with contextlib.ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="qm-bench-floor-"))
        logs = Path(data_dir)
        floor_port = free_port()
        servers["floor"] = stack.enter_context(started(
            "floor", f"gunicorn -w {args.workers} (sync)",
            [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b",
             f"{HOST}:{floor_port}", "--chdir", str(args.floor.resolve().parent),
             "minimal_flask:app"],
            {**os.environ, "QM_ANCHOR_DB": args.database_url}, f"/agents/{ids.floor_agent}",
            floor_port, args.startup, logs))
        for server in args.servers:
            port = free_port()
            qm_data = logs / f"qm-{server}"
            qm_data.mkdir()
            label = ("qm serve --server waitress" if server == "waitress"
                     else f"qm serve --workers {args.workers}")
            servers[server] = stack.enter_context(started(
                f"qm-{server}", label, qm_serve(args, server, port),
                qm_env(args.database_url, str(qm_data)), "/healthz", port, args.startup, logs))

        floor = Page("floor", servers["floor"], f"/agents/{ids.floor_agent}", FLOOR_MARKER)
        plan = [floor]
        for server in args.servers:
            s = servers[server]
            admin = cookie_header(login(s.port, args.username, args.password))
            evaluator = cookie_header(login(s.port, ids.evaluator, args.password))
            plan += [
                Page("`/interactions?agent_id=`", s, f"/interactions?agent_id={ids.agent_id}",
                     LIST_MARKER, admin),
                Page("`/scorecards/<agent>`", s, f"/scorecards/{ids.scorecard_agent}",
                     SCORECARD_MARKER, admin),
                Page("`/evaluations/<id>` (evaluator)", s, f"/evaluations/{ids.evaluation_id}",
                     EVALUATION_MARKER, evaluator),
            ]
        plan.append(floor)
        failed = [f"{p.url()}: {why}" for p in plan[:-1] if (why := check(p))]
        if failed:
            print("not the pages asked for, nothing loaded:\n  " + "\n  ".join(failed))
            return 1
        pids = {s.pid for s in servers.values()}
        meter = Meter(lambda: {pid for p in pids for pid in process_tree(p)} | backend_pids(engine))
        rows = []
        for page in plan:
            row = load(args, page, meter)
            rows.append(row)
            note = f"  FAILED: {row.problem}" if row.problem else ""
            print(f"  {row.page:<34} {row.server:<28} p50 {fmt(row.p50_ms):>7} ms  "
                  f"p90 {fmt(row.p90_ms):>7} ms  {fmt(row.rps):>7} req/s  other CPUs "
                  f"{fmt(row.other_cpus, 2)}  load {row.loadavg:.2f}{note}", flush=True)
    engine.dispose()
    p90, rps = with_ratios(rows)
    print(f"\n## Against the floor (mean of its two runs: p90 {p90:.1f} ms, {rps:.0f} req/s)\n")
    print(table(rows))
    print(f"\nfloor agent {ids.floor_agent} ({ids.floor_agent_rows} of {floor_count:,} rows); "
          f"interactions of agent {ids.agent_id} ({ids.agent_interactions}); scorecard of "
          f"agent {ids.scorecard_agent} ({ids.scorecard_evaluations} released evaluations); "
          f"evaluation {ids.evaluation_id} as {ids.evaluator}")
    if args.json:
        args.json.write_text(json.dumps({
            "meta": {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                     "machine": f"{platform.machine()} {platform.system()} "
                                f"{platform.release()}",
                     "cpus": os.cpu_count(), "python": platform.python_version(),
                     "code": code_version(), "wrk": wrk_version(args.wrk),
                     "duration_s": args.duration, "warmup_s": args.warmup,
                     "connections": args.connections, "threads": args.threads,
                     "workers": args.workers, "floor": str(args.floor), **asdict(ids)},
            "floor_p90_ms": p90, "floor_rps": rps,
            "rows": [asdict(r) | {"goal": r.goal} for r in rows]}, indent=2, default=str))
        print(f"written to {args.json}")
    return 1 if any(r.problem for r in rows) else 0


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0] if (done.stdout or done.stderr) else ""


# --- main --------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url",
                        default=os.environ.get("QM_BENCH_DATABASE_URL", DEFAULT_URL),
                        help="A database seeded by bench/seed.py (default: %(default)s)")
    parser.add_argument("--floor", type=Path, default=DEFAULT_FLOOR,
                        help="The floor app, minimal_flask.py (default: %(default)s)")
    parser.add_argument("--duration", type=float, default=10,
                        help="Seconds of load per URL (wrk -d)")
    parser.add_argument("--connections", type=int, default=8, help="wrk -c")
    parser.add_argument("--threads", type=int, default=2,
                        help="wrk -t (at most --connections)")
    parser.add_argument("--warmup", type=float, default=2,
                        help="Seconds of unmeasured load per URL first (0: none)")
    parser.add_argument("--workers", type=int, default=2,
                        help="Worker processes of the floor's gunicorn and of qm serve")
    parser.add_argument("--qm-threads", type=int, default=0,
                        help="qm serve --threads (0: its default, 4 with gunicorn, 8 with "
                             "waitress)")
    parser.add_argument("--servers", default="gunicorn,waitress",
                        help="qm's servers to measure, in this order")
    parser.add_argument("--startup", type=float, default=60,
                        help="Seconds a server may take to answer")
    parser.add_argument("--floor-interactions", type=int, default=100_000,
                        help="Rows of the floor's table, when it must be seeded")
    parser.add_argument("--floor-agents", type=int, default=500)
    parser.add_argument("--username", default=ADMIN_USERNAME)
    parser.add_argument("--password", default=BENCH_PASSWORD)
    parser.add_argument("--wrk", default="wrk", help="The wrk program")
    parser.add_argument("--json", type=Path, help="Also write every figure to this file")
    add_smoke(parser, SMOKE, argv)
    args = parser.parse_args(argv)
    args.servers = [s for s in args.servers.split(",") if s]
    if not args.servers or set(args.servers) - {"gunicorn", "waitress"}:
        parser.error("--servers: gunicorn, waitress or both")
    if min(args.duration, args.connections, args.threads, args.workers) <= 0:
        parser.error("--duration, --connections, --threads and --workers must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    found = shutil.which(args.wrk)
    if found is None:
        sys.exit(f"wrk is not installed ({args.wrk!r} not found): apt-get install wrk")
    args.wrk = found
    if args.smoke and args.json is None:
        with tempfile.TemporaryDirectory(prefix="qm-bench-smoke-") as folder:
            args.json = Path(folder) / "floor.json"
            return measure(args)
    return measure(args)


if __name__ == "__main__":
    sys.exit(main())
