"""Latency of the interactions list and search pages, served for real, against a seeded database.

Usage (after ``python bench/seed.py``)::

    python bench/list_latency.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/qm_bench

What it does, and why:

* It starts ``qm serve`` (waitress) as a subprocess on a free 127.0.0.1 port, so that what is
  measured is what a browser gets: WSGI server, session cookie, login check, query, template.
* Every figure is also given as a ratio to ``/healthz`` (one ``SELECT 1``) measured in the same
  run, under the same load. Absolute milliseconds depend on the machine; the ratio says how much
  a page costs over the server's floor, and travels better between machines.
* N client threads (default 4) share one logged-in session cookie and keep their connections
  alive, as browser tabs would. Each scenario sends a bounded number of requests (and stops at a
  time limit), rotating over several filter values so that one cached answer is not measured.
* A second pass drops the four list indexes named in ``scoring/models.py``, runs the list and
  search scenarios again and recreates the indexes (always, in a ``finally``): it shows what the
  indexes buy. ``--skip-no-index`` leaves that pass out.

The load client and the server share the machine's cores: on a small machine the client's own
CPU use is part of every figure, which the /healthz baseline also carries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import http.client
import json
import math
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect, select, text
from sqlalchemy.orm import Session

from qm.auth.models import User
from qm.db import make_engine
from qm.interactions.models import Interaction
from scoring.interactions.queries import InteractionFilters, list_interactions

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import ADMIN_USERNAME, BENCH_PASSWORD, DEFAULT_URL  # noqa: E402

HOST = "127.0.0.1"  # the benchmark never talks to anything but this machine
USER_AGENT = "qm-bench/1"  # one value throughout: Flask-Login ties the session to it
LIST_INDEXES = ("ix_interactions_started", "ix_interactions_agent_started",
                "ix_interactions_team_started", "ix_interactions_customer_ref")
LIST_MARKER = b'id="interactions"'  # the results table: not the login page, not an error page
EMPTY_MARKER = b"No interactions"
PAGE_SIZE = int(os.environ.get("QM_PAGE_SIZE") or 50)  # what the server's Settings will use
# --smoke: CI's run (bench/smoke.sh) on seed.py --smoke's database: every scenario and both
# passes, but a couple of seconds of load, no wait for a quiet machine, and the JSON written to
# a temp file (and removed) so that its writing is exercised too.
LOAD_SMOKE = {"requests": 20, "warmup": 2, "concurrency": 2, "threads": 2, "max_seconds": 10.0,
              "samples": 5, "quiet_wait": 0.0}


# --- the HTTP client -----------------------------------------------------------------------

class Client:
    """One keep-alive connection with a cookie jar: what one browser tab does."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None,
                 timeout: float = 60.0) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies = dict(cookies or {})
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, *,
                keep_cookies: bool = True) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body). Retries once on a connection the server closed meanwhile."""
        all_headers = {"User-Agent": USER_AGENT, "Accept": "text/html", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=all_headers)
                response = conn.getresponse()
                data = response.read()
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue
            if keep_cookies:
                for raw in response.msg.get_all("Set-Cookie") or []:
                    jar: SimpleCookie = SimpleCookie()
                    jar.load(raw)
                    for name, morsel in jar.items():
                        self.cookies[name] = morsel.value
            if response.will_close:
                self.close()
            return response.status, dict(response.getheaders()), data
        raise AssertionError("unreachable")

    def get(self, path: str, *, keep_cookies: bool = True) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, keep_cookies=keep_cookies)


def login(port: int, username: str, password: str) -> dict[str, str]:
    """Log in through the real form (CSRF token and all) and return the session cookies."""
    client = Client(port)
    try:
        status, _h, page = client.get("/login")
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        if status != 200 or match is None:
            raise RuntimeError(f"GET /login answered {status} without a csrf_token field")
        form = urllib.parse.urlencode({"csrf_token": html.unescape(match.group(1).decode()),
                                       "username": username, "password": password}).encode()
        status, headers, _b = client.request(
            "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"logging in as {username!r} answered {status}, not a redirect; "
                               "was the database seeded with bench/seed.py?")
        # The first page after login stores the CSRF token in the session; a browser keeps the
        # cookie it then gets, so the measured requests must not re-issue it every time.
        status, _h, _b = client.get("/interactions")
        if status != 200:
            raise RuntimeError(f"/interactions as {username!r} answered {status}")
        return dict(client.cookies)
    finally:
        client.close()


# --- who else uses the CPU ----------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy_ticks() -> int | None:
    """CPU ticks spent busy by the whole machine so far (Linux /proc/stat), None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return user + nice + system + irq + softirq + steal


def process_ticks(pid: int) -> int:
    """utime + stime of one process, all its threads included (0 if it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = raw.rsplit(")", 1)[1].split()  # the command name may hold spaces
    return int(fields[11]) + int(fields[12])


class CpuMeter:
    """CPU used during a scenario by the benchmark (client, server, its PostgreSQL backends) and
    by everything else on the machine.

    On a small shared machine another process's burst moves latencies more than any index does,
    so every result carries how busy the rest of the machine was while it was measured.
    Short-lived processes cannot be attributed: PostgreSQL's parallel workers (which a
    sequential scan of the whole table starts) count as "other".
    """

    def __init__(self, server_pid: int, backend_pids: Callable[[], set[int]]) -> None:
        self.server_pid = server_pid
        self.backend_pids = backend_pids
        self._start: tuple[float, int | None, dict[int, int]] = (0.0, None, {})

    def _ours(self) -> dict[int, int]:
        pids = {os.getpid(), self.server_pid, *self.backend_pids()}
        return {pid: process_ticks(pid) for pid in pids}

    def start(self) -> None:
        self._start = (time.perf_counter(), machine_busy_ticks(), self._ours())

    def stop(self) -> tuple[float, float]:
        """(our cores, other cores): average CPUs busy since ``start``."""
        t0, busy0, ours0 = self._start
        busy1, ours1 = machine_busy_ticks(), self._ours()
        wall = time.perf_counter() - t0
        if busy0 is None or busy1 is None or wall <= 0:
            return math.nan, math.nan
        # A backend that appeared meanwhile counts whole; one that left counts to its last read.
        ours = sum(ticks - ours0.get(pid, 0) for pid, ticks in ours1.items())
        ours_cores = ours / CLOCK_TICKS / wall
        other = (busy1 - busy0) / CLOCK_TICKS / wall - ours_cores
        return ours_cores, max(0.0, other)


def wait_for_quiet(meter: CpuMeter, threshold: float, limit_s: float) -> float:
    """Wait (at most ``limit_s``) until the rest of the machine uses under ``threshold`` cores;
    returns the last reading (NaN when ``limit_s`` is 0: no wait, no reading)."""
    if limit_s <= 0:
        return math.nan
    deadline = time.monotonic() + limit_s
    while True:
        meter.start()
        time.sleep(1.0)
        _ours, other = meter.stop()
        if math.isnan(other) or other < threshold or time.monotonic() >= deadline:
            return other


# --- scenarios and their results -----------------------------------------------------------

@dataclass
class Scenario:
    name: str
    description: str
    paths: list[str]  # rotated over, request i gets paths[i % len(paths)]
    who: str = "admin"  # "admin", "lead" or "anonymous"
    html_list: bool = True  # the body must be the interactions table, with rows
    in_index_pass: bool = True
    marker: bytes = b""  # other pages: the body must hold this (not the login page, an error)
    absent: bytes = b""  # ... and must not hold this (e.g. an empty result)


@dataclass
class Result:
    scenario: str
    phase: str
    requests: int
    errors: int
    wall_s: float
    latencies_ms: list[float] = field(repr=False)
    mean_bytes: float
    first_error: str = ""
    bench_cores: float = math.nan  # CPUs busy with the client, the server and its backends
    other_cores: float = math.nan  # CPUs busy with anything else on the machine meanwhile

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile: a latency some request really had."""
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    @property
    def mean(self) -> float:
        return sum(self.latencies_ms) / len(self.latencies_ms) if self.latencies_ms else math.nan

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s if self.wall_s > 0 else math.nan

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("latencies_ms")
        data.update(p50_ms=self.p50, p95_ms=self.p95, mean_ms=self.mean, rps=self.rps)
        return data


def check_response(scenario: Scenario, status: int, body: bytes) -> str:
    """Why this response is not the page the scenario asked for ('' if it is)."""
    if status != 200:
        return f"HTTP {status}"
    if scenario.html_list:
        if LIST_MARKER not in body:
            return "not the interactions list (logged out?)"
        if EMPTY_MARKER in body:
            return "the list is empty: the filter values do not match the seeded data"
    if scenario.marker and scenario.marker not in body:
        return f"no {scenario.marker.decode()!r} in the page (logged out? an error page?)"
    if scenario.absent and scenario.absent in body:
        return f"{scenario.absent.decode()!r} in the page: not the data the scenario expects"
    return ""


def run_scenario(port: int, scenario: Scenario, cookies: dict[str, str], phase: str,
                 args: argparse.Namespace, meter: CpuMeter) -> Result:
    """``args.requests`` requests from ``args.concurrency`` threads, stopping at the time limit."""
    warm = Client(port, cookies)
    try:  # warm-up: connection pools, plan caches, Jinja's compiled template
        for i in range(min(args.warmup, 1000)):
            warm.get(scenario.paths[i % len(scenario.paths)], keep_cookies=False)
    finally:
        warm.close()

    wait_for_quiet(meter, args.quiet_threshold, args.quiet_wait)
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    sizes: list[int] = []
    errors: list[str] = []
    meter.start()
    start = time.perf_counter()
    deadline = start + args.max_seconds

    def worker() -> None:
        nonlocal issued
        client = Client(port, cookies)
        try:
            while True:
                with lock:
                    if issued >= args.requests or time.perf_counter() > deadline:
                        return
                    index = issued
                    issued += 1
                path = scenario.paths[index % len(scenario.paths)]
                t0 = time.perf_counter()
                try:
                    status, _h, body = client.get(path, keep_cookies=False)
                    problem = check_response(scenario, status, body)
                except (OSError, http.client.HTTPException) as exc:
                    status, body, problem = 0, b"", f"{type(exc).__name__}: {exc}"
                elapsed_ms = (time.perf_counter() - t0) * 1000
                with lock:
                    if problem:
                        errors.append(f"{path}: {problem}")
                    else:
                        latencies.append(elapsed_ms)
                        sizes.append(len(body))
        finally:
            client.close()

    threads = [threading.Thread(target=worker, name=f"load-{n}", daemon=True)
               for n in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args.max_seconds + 120)  # bounded: a request itself times out at 60 s
    wall = time.perf_counter() - start
    bench_cores, other_cores = meter.stop()
    return Result(scenario.name, phase, len(latencies) + len(errors), len(errors), wall,
                  latencies, sum(sizes) / len(sizes) if sizes else 0.0,
                  errors[0] if errors else "", bench_cores, other_cores)


# --- the server ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def qm_command() -> list[str]:
    """The ``qm`` script of the interpreter running this file (the project's virtualenv)."""
    script = Path(sys.executable).with_name("qm")
    if script.exists():
        return [str(script)]
    found = shutil.which("qm")
    if found:
        return [found]
    return [sys.executable, "-c", "from qm.cli import main; main()"]


@contextmanager
def served(database_url: str, threads: int, startup_s: float) -> Iterator[tuple[int, int]]:
    """``qm serve`` on a free port, stopped (and its temp dir removed) whatever happens."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="qm-bench-") as data_dir:
        env = {**os.environ,
               "QM_DATABASE_URL": database_url,
               "QM_DATA_DIR": data_dir,
               "QM_SECRET_KEY": secrets.token_urlsafe(32),
               "QM_SECURE_COOKIES": "0",  # plain HTTP on 127.0.0.1
               "QM_LOGIN_RATE_LIMIT": "1000 per minute"}
        log_path = Path(data_dir) / "server.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                # waitress, one process: what these benchmarks measured from the start (their
                # results compare with it); floor_latency.py measures the worker processes
                [*qm_command(), "serve", "--host", HOST, "--port", str(port),
                 "--server", "waitress", "--threads", str(threads)],
                env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_healthy(proc, port, startup_s, log_path)
                yield port, proc.pid
            finally:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        tail = log_path.read_text(errors="replace").splitlines()
        problems = [line for line in tail if "Traceback" in line or "ERROR" in line]
        if problems:
            print(f"server log had {len(problems)} error lines; first: {problems[0]}")


def wait_healthy(proc: subprocess.Popen[bytes], port: int, startup_s: float,
                 log_path: Path) -> None:
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"qm serve exited with {proc.returncode}:\n"
                               f"{log_path.read_text(errors='replace')[-3000:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"qm serve did not answer /healthz within {startup_s:.0f} s")


# --- the data the scenarios ask for --------------------------------------------------------

@dataclass
class Samples:
    customer_refs: list[str]
    agent_ids: list[int]
    team_ids: list[int]
    queues: list[str]
    channel_windows: list[tuple[str, dt.date, dt.date]]
    lead_username: str
    interactions: int
    users: int


def samples(engine: Engine, count: int) -> Samples:
    """Filter values that exist in the seeded database, spread over its whole range."""
    with engine.connect() as conn:
        total = conn.scalar(text("SELECT count(*) FROM interactions")) or 0
        users = conn.scalar(text("SELECT count(*) FROM users")) or 0
        if total == 0:
            raise SystemExit("the database has no interactions: run bench/seed.py first")
        refs = list(conn.scalars(text(
            "SELECT customer_ref FROM interactions WHERE customer_ref IS NOT NULL "
            "GROUP BY customer_ref HAVING count(*) >= 2 ORDER BY md5(customer_ref) LIMIT :n"),
            {"n": count}))
        agents = list(conn.scalars(text(
            "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id "
            "WHERE r.role = 'agent' ORDER BY md5(u.id::text) LIMIT :n"), {"n": count}))
        teams = list(conn.scalars(text("SELECT id FROM teams ORDER BY id")))
        queues = list(conn.scalars(text("SELECT DISTINCT queue FROM interactions ORDER BY 1")))
        newest = conn.scalar(text("SELECT max(started_at) FROM interactions"))
        lead = conn.scalar(text(
            "SELECT u.username FROM team_leads t JOIN users u ON u.id = t.user_id "
            "ORDER BY t.team_id LIMIT 1"))
    if not refs or not agents or not teams or lead is None:
        raise SystemExit("the database does not look like bench/seed.py's: rerun the seed")
    newest_day = newest.date()
    windows = []
    # 30-day windows ending 1, 2.5, 4, 5.5, 7 and 8.5 months back, three channels twice each.
    for n, channel in enumerate(["chat", "email", "voice", "chat", "voice", "email"]):
        end = newest_day - dt.timedelta(days=30 + 45 * n)
        windows.append((channel, end - dt.timedelta(days=30), end))
    return Samples(refs, agents, teams, queues, windows, lead, total, users)


def page_path(port: int, cookies: dict[str, str], page: int) -> str:
    """The URL of list page ``page``, found by following the "Older" link like a user."""
    client = Client(port, cookies)
    path = "/interactions"
    try:
        for _ in range(page - 1):
            status, _h, body = client.get(path, keep_cookies=False)
            match = re.search(rb'href="([^"]+)">Older</a>', body)
            if status != 200 or match is None:
                raise RuntimeError(f"no 'Older' link on {path} (HTTP {status})")
            path = html.unescape(match.group(1).decode())
    finally:
        client.close()
    return path


def scenarios(s: Samples, page20: str) -> list[Scenario]:
    def q(**params: Any) -> str:
        return "/interactions?" + urllib.parse.urlencode(params)

    return [
        Scenario("healthz", "GET /healthz: WSGI + one SELECT 1, the server's floor",
                 ["/healthz"], who="anonymous", html_list=False),
        Scenario("list_first", "/interactions, newest first, first page (admin: all rows)",
                 ["/interactions"]),
        Scenario("list_page20", "/interactions page 20 via the keyset cursor of 'Older'",
                 [page20]),
        Scenario("search_customer", "q=<existing customer_ref> (external_id OR customer_ref)",
                 [q(q=ref) for ref in s.customer_refs]),
        Scenario("filter_agent", "agent_id=<one of 500 agents>",
                 [q(agent_id=a) for a in s.agent_ids]),
        Scenario("filter_team", "team_id=<one of 25 teams>",
                 [q(team_id=t) for t in s.team_ids]),
        Scenario("filter_queue", "queue=<one queue> (no index of its own)",
                 [q(queue=name) for name in s.queues]),
        Scenario("filter_channel_dates", "channel + a 30-day date_from/date_to window",
                 [q(channel=c, date_from=f.isoformat(), date_to=t.isoformat())
                  for c, f, t in s.channel_windows]),
        Scenario("lead_list", f"/interactions as team lead {s.lead_username} (scoped to team)",
                 ["/interactions"], who="lead"),
    ]


# --- the database's share: EXPLAIN ANALYZE of the very query the page runs -----------------

def filters_of(path: str) -> tuple[InteractionFilters, str | None]:
    """The filters and cursor a scenario's URL gives the view (as scoring.views parses them)."""
    args = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))

    def day(name: str) -> dt.date | None:
        return dt.date.fromisoformat(args[name]) if args.get(name) else None

    filters = InteractionFilters(
        q=args.get("q", "").strip(),
        agent_id=int(args["agent_id"]) if args.get("agent_id") else None,
        team_id=int(args["team_id"]) if args.get("team_id") else None,
        channel=args.get("channel", ""), queue=args.get("queue", ""),
        date_from=day("date_from"), date_to=day("date_to"), timezone="UTC")
    return filters, args.get("cursor")


def explain(engine: Engine, username: str, path: str, repeats: int) -> tuple[float, str]:
    """(median execution ms, the plan's access path) of the list query ``username`` runs for
    ``path``.

    The SQL is captured from ``scoring.interactions.queries.list_interactions`` itself,
    parameters included, so this is the statement the page runs, not a copy of it that could
    drift.
    """
    filters, cursor = filters_of(path)
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
             _executemany: bool) -> None:
        if not captured and "FROM interactions" in statement:
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with Session(engine) as session:
            actor = session.scalar(select(User).where(User.username == username))
            captured.clear()  # only the list query itself
            list_interactions(session, actor, filters, cursor=cursor, limit=PAGE_SIZE)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    statement, parameters = captured[0]
    with engine.connect() as conn:
        ms, _planning, plan = explain_analyze(conn, statement, parameters, repeats)
    return ms, access_path(plan["Plan"])


def explain_analyze(conn: Any, statement: str, parameters: Any,
                    repeats: int) -> tuple[float, float, dict[str, Any]]:
    """(median execution ms, median planning ms, the last plan) of ``repeats`` runs of
    ``EXPLAIN (ANALYZE, FORMAT JSON)``; one more run first warms the cache and is not counted."""
    execution, planning, plan = [], [], {}
    for _ in range(repeats + 1):
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement,
                                    parameters).scalar()[0]
        execution.append(float(plan["Execution Time"]))
        planning.append(float(plan.get("Planning Time", 0.0)))
    return statistics.median(execution[1:]), statistics.median(planning[1:]), plan


def access_path(node: dict[str, Any]) -> str:
    """How the plan reaches the interactions rows, e.g. 'Index Scan Backward ix_..._started'."""
    found: list[str] = []

    def walk(n: dict[str, Any]) -> None:
        if n.get("Relation Name") == "interactions" or (
                n.get("Index Name") or "").startswith("ix_interactions"):
            label = n["Node Type"] + (" Backward" if n.get("Scan Direction") == "Backward"
                                      else "")
            found.append(f"{label} {n['Index Name']}" if n.get("Index Name") else label)
        for child in n.get("Plans", []):
            walk(child)

    walk(node)
    sort = " + Sort" if _has_sort(node) else ""
    return " / ".join(dict.fromkeys(found)) + sort


def _has_sort(node: dict[str, Any]) -> bool:
    return node["Node Type"] in ("Sort", "Incremental Sort") or any(
        _has_sort(child) for child in node.get("Plans", []))


def explain_pass(engine: Engine, plan: list[Scenario], actors: dict[str, str],
                 repeats: int, values: int) -> dict[str, tuple[float, str]]:
    """Per scenario: median execution time over its first ``values`` filter values."""
    out = {}
    for scenario in plan:
        if not scenario.html_list:
            continue
        runs = [explain(engine, actors[scenario.who], path, repeats)
                for path in scenario.paths[:values]]
        out[scenario.name] = (statistics.median(ms for ms, _p in runs),
                              " | ".join(dict.fromkeys(p for _ms, p in runs)))
    return out


# --- the indexes ---------------------------------------------------------------------------

def analyze(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE interactions"))


def drop_list_indexes(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL lock_timeout = '15s'"))
        for name in LIST_INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    analyze(engine)


def create_list_indexes(engine: Engine) -> None:
    """Recreate them from the model's own definitions, so they match what migrations made."""
    with engine.begin() as conn:
        for index in Interaction.__table__.indexes:
            if index.name in LIST_INDEXES:
                index.create(conn, checkfirst=True)
    analyze(engine)


def present_indexes(engine: Engine) -> set[str]:
    return {ix["name"] for ix in inspect(engine).get_indexes("interactions") if ix["name"]}


def backend_pids(engine: Engine) -> set[int]:
    """The PostgreSQL backends serving this database (the server's pool), for the CPU meter."""
    if engine.dialect.name != "postgresql":
        return set()
    with engine.connect() as conn:
        return set(conn.scalars(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")))


# --- reporting -----------------------------------------------------------------------------

def fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def table(results: Sequence[Result], baseline: Result) -> str:
    lines = ["| scenario | requests | errors | p50 ms | p95 ms | mean ms | req/s "
             "| p50 / healthz | p95 / healthz | KiB | bench CPUs | other CPUs |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r.scenario} | {r.requests} | {r.errors} | {fmt(r.p50)} | {fmt(r.p95)} "
            f"| {fmt(r.mean)} | {fmt(r.rps)} | {fmt(r.p50 / baseline.p50)}x "
            f"| {fmt(r.p95 / baseline.p95)}x | {fmt(r.mean_bytes / 1024)} "
            f"| {fmt(r.bench_cores, 2)} | {fmt(r.other_cores, 2)} |")
    return "\n".join(lines)


def comparison(with_ix: Sequence[Result], without: Sequence[Result],
               base_with: Result, base_without: Result) -> str:
    by_name = {r.scenario: r for r in with_ix}
    lines = ["| scenario | p50 ms with | p50 ms without | p95 ms with | p95 ms without "
             "| p50 / healthz with | p50 / healthz without | without / with (p50) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in without:
        w = by_name.get(r.scenario)
        if w is None or r.scenario == "healthz":
            continue
        lines.append(
            f"| {r.scenario} | {fmt(w.p50)} | {fmt(r.p50)} | {fmt(w.p95)} | {fmt(r.p95)} "
            f"| {fmt(w.p50 / base_with.p50)}x | {fmt(r.p50 / base_without.p50)}x "
            f"| {fmt(r.p50 / w.p50)}x |")
    return "\n".join(lines)


def explain_table(explained: dict[str, dict[str, tuple[float, str]]]) -> str:
    with_ix = explained["with_indexes"]
    without = explained.get("without_list_indexes", {})
    lines = ["| scenario | ms with | plan with | ms without | plan without |",
             "|---|---:|---|---:|---|"]
    for name, (ms, plan) in with_ix.items():
        ms_wo, plan_wo = without.get(name, (math.nan, "-"))
        lines.append(f"| {name} | {fmt(ms, 2)} | {plan} | {fmt(ms_wo, 2)} | {plan_wo} |")
    return "\n".join(lines)


def code_version() -> str:
    """The commit the server runs, and whether app files differ from it: the code moves."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=True).stdout
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", ".",
                                ":!bench"], capture_output=True, text=True, timeout=10,
                               check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.strip() + (" (+ uncommitted changes outside bench/)" if dirty.strip() else "")


# --- main ----------------------------------------------------------------------------------

def add_load_options(parser: argparse.ArgumentParser) -> None:
    """The options every latency benchmark here takes: the database, the load, the output."""
    parser.add_argument("--database-url",
                        default=os.environ.get("QM_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--requests", type=int, default=200, help="Per scenario (measured)")
    parser.add_argument("--warmup", type=int, default=20, help="Per scenario, not measured")
    parser.add_argument("--concurrency", type=int, default=4, help="Client threads")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--max-seconds", type=float, default=90.0,
                        help="Time limit per scenario; fewer requests are counted if reached")
    parser.add_argument("--samples", type=int, default=50,
                        help="Distinct filter values rotated over per scenario")
    parser.add_argument("--username", default=ADMIN_USERNAME)
    parser.add_argument("--password", default=BENCH_PASSWORD)
    parser.add_argument("--rounds", type=int, default=1,
                        help="Repeat every pass this many times, alternating, and pool the "
                             "latencies (evens out bursts of other load)")
    parser.add_argument("--quiet-threshold", type=float, default=0.3,
                        help="Before each scenario, wait until the rest of the machine uses "
                             "fewer CPUs than this ...")
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="... but at most this many seconds")
    parser.add_argument("--only", default="", help="Comma-separated scenario names to run")
    parser.add_argument("--json", type=Path, help="Also write every figure to this file")
    parser.add_argument("--smoke", action="store_true",
                        help="CI's smoke run, on seed.py --smoke's database: the smallest load "
                             "that takes every path (options given still win)")


def smoke_defaults(parser: argparse.ArgumentParser, argv: list[str] | None,
                   **more: Any) -> None:
    """With --smoke on the command line: LOAD_SMOKE and ``more`` become the defaults."""
    if "--smoke" in (sys.argv[1:] if argv is None else argv):
        parser.set_defaults(**LOAD_SMOKE, **more)


def check_load_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if min(args.requests, args.concurrency, args.rounds) < 1 or args.max_seconds <= 0:
        parser.error("--requests, --concurrency, --rounds and --max-seconds must be positive")


@contextmanager
def smoke_json(args: argparse.Namespace) -> Iterator[None]:
    """In a smoke run without --json, the JSON goes to a temp file, removed afterwards."""
    if not args.smoke or args.json is not None:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="qm-bench-smoke-") as folder:
        args.json = Path(folder) / "results.json"
        yield


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_options(parser)
    parser.add_argument("--page", type=int, default=20, help="The deep page to measure")
    parser.add_argument("--explain-values", type=int, default=5,
                        help="EXPLAIN ANALYZE the list query for this many filter values ...")
    parser.add_argument("--explain-repeats", type=int, default=5,
                        help="... this many times each (the median is reported)")
    parser.add_argument("--skip-no-index", action="store_true",
                        help="Leave out the pass without the list indexes")
    # 1,000 smoke interactions are 20 pages: page 5 still follows "Older" several times.
    smoke_defaults(parser, argv, page=5, explain_values=2, explain_repeats=1)
    args = parser.parse_args(argv)
    check_load_options(parser, args)
    return args


def run_pass(port: int, phase: str, plan: list[Scenario], cookies: dict[str, dict[str, str]],
             args: argparse.Namespace, meter: CpuMeter) -> list[Result]:
    results = []
    for scenario in plan:
        result = run_scenario(port, scenario, cookies[scenario.who], phase, args, meter)
        results.append(result)
        note = f"  FIRST ERROR: {result.first_error}" if result.errors else ""
        print(f"  [{phase}] {scenario.name:<22} n={result.requests:<4} p50={fmt(result.p50):>7} "
              f"ms  p95={fmt(result.p95):>7} ms  {fmt(result.rps):>6} req/s  "
              f"other CPU {fmt(result.other_cores, 2)}{note}", flush=True)
    return results


def time_weighted(results: Sequence[Result], attr: str) -> float:
    wall = sum(r.wall_s for r in results)
    return sum(getattr(r, attr) * r.wall_s for r in results) / wall if wall > 0 else math.nan


def merge(rounds: list[list[Result]]) -> list[Result]:
    """One result per scenario from several rounds: latencies pooled, CPU use time-weighted."""
    merged = []
    for same in zip(*rounds, strict=True):
        wall = sum(r.wall_s for r in same)
        sizes = sum(r.mean_bytes * (r.requests - r.errors) for r in same)
        ok = sum(r.requests - r.errors for r in same)

        merged.append(Result(
            same[0].scenario, same[0].phase, sum(r.requests for r in same),
            sum(r.errors for r in same), wall, [ms for r in same for ms in r.latencies_ms],
            sizes / ok if ok else 0.0, next((r.first_error for r in same if r.errors), ""),
            time_weighted(same, "bench_cores"), time_weighted(same, "other_cores")))
    return merged


def local_engine(url: str) -> Engine:
    engine = make_engine(url)
    if engine.url.get_backend_name() == "postgresql" and engine.url.host not in (HOST,
                                                                                 "localhost"):
        raise SystemExit("the benchmark only talks to 127.0.0.1")
    return engine


def run_metadata(engine: Engine, args: argparse.Namespace, **data: Any) -> dict[str, Any]:
    """Date, machine, code and load settings of a run (plus ``data``), printed and returned."""
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.system()} {platform.release()}",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "code": code_version(),
        "database": engine.url.render_as_string(hide_password=True),
        "server_version": "",
        **data,
        "concurrency": args.concurrency,
        "waitress_threads": args.threads,
        "requests_per_scenario": args.requests,
        "warmup_per_scenario": args.warmup,
        "rounds": args.rounds,
        "loadavg_before": os.getloadavg(),
    }
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            meta["server_version"] = conn.scalar(text("SHOW server_version"))
    counts = ", ".join(f"{v:,} {k}" for k, v in data.items() if isinstance(v, int))
    print(f"{meta['date']}  qm {meta['code']}  {meta['cpus']} CPUs  {meta['database']}  "
          f"{counts}; client: {args.concurrency} threads, server: waitress {args.threads} "
          f"threads; {args.requests} requests/scenario")
    return meta


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with smoke_json(args):
        return measure(args)


def measure(args: argparse.Namespace) -> int:
    engine = local_engine(args.database_url)
    if present_indexes(engine) & set(LIST_INDEXES) != set(LIST_INDEXES):
        print("some list indexes are missing (an interrupted run?): recreating them")
        create_list_indexes(engine)
    s = samples(engine, args.samples)
    meta = run_metadata(engine, args, interactions=s.interactions, users=s.users)

    only = {n for n in args.only.split(",") if n}
    rounds: dict[str, list[list[Result]]] = {"with_indexes": [], "without_list_indexes": []}
    with served(args.database_url, args.threads, startup_s=60) as (port, server_pid):
        meter = CpuMeter(server_pid, lambda: backend_pids(engine))
        cookies = {"anonymous": {},
                   "admin": login(port, args.username, args.password),
                   "lead": login(port, s.lead_username, args.password)}
        page20 = page_path(port, cookies["admin"], args.page)
        plan = [sc for sc in scenarios(s, page20)
                if not only or sc.name in only or sc.name == "healthz"]
        actors = {"admin": args.username, "lead": s.lead_username}
        explained = {"with_indexes": explain_pass(engine, plan, actors, args.explain_repeats,
                                                  args.explain_values)}
        for n in range(1, args.rounds + 1):
            print(f"Round {n}/{args.rounds}, pass 1: with every index")
            rounds["with_indexes"].append(run_pass(port, "indexed", plan, cookies, args, meter))
            if args.skip_no_index:
                continue
            print(f"Round {n}/{args.rounds}, pass 2: without {', '.join(LIST_INDEXES)}")
            drop_list_indexes(engine)
            try:
                no_index_plan = [sc for sc in plan if sc.in_index_pass]
                if n == 1:
                    explained["without_list_indexes"] = explain_pass(
                        engine, no_index_plan, actors, args.explain_repeats, args.explain_values)
                rounds["without_list_indexes"].append(run_pass(
                    port, "no-index", no_index_plan, cookies, args, meter))
            finally:
                create_list_indexes(engine)
                print("  list indexes recreated")
    results: dict[str, list[Result]] = {phase: merge(rs) for phase, rs in rounds.items() if rs}
    missing = set(LIST_INDEXES) - present_indexes(engine)
    engine.dispose()
    if missing:
        print(f"WARNING: indexes still missing: {sorted(missing)}; rerun bench/seed.py")

    with_ix = results["with_indexes"]
    base = with_ix[0]
    print("\n## With every index (ratios against /healthz of the same pass)\n")
    print(table(with_ix, base))
    if "without_list_indexes" in results:
        without = results["without_list_indexes"]
        print("\n## Without the four list indexes\n")
        print(table(without, without[0]))
        print("\n## What the indexes buy\n")
        print(comparison(with_ix, without, base, without[0]))
    meta["loadavg_after"] = os.getloadavg()
    print("\n## The database's share: EXPLAIN ANALYZE of the list query (median ms)\n")
    print(explain_table(explained))
    if args.json:
        args.json.write_text(json.dumps(
            {"meta": meta,
             "results": {phase: [r.summary() for r in rs] for phase, rs in results.items()},
             "explain": explained}, indent=2))
        print(f"\nwritten to {args.json}")
    errors = sum(r.errors for rs in results.values() for r in rs)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
