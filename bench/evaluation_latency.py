"""Latency of the evaluator's queue, the evaluation page and the agent's scorecard, served for
real, against a database seeded with a year of evaluations.

Usage (after ``python bench/seed.py --evaluations-per-agent 165``)::

    python bench/evaluation_latency.py --json /tmp/evaluation_latency.json

It is list_latency.py's method, with that file's client, server, CPU meter and tables:

* ``qm serve`` (waitress) on a free 127.0.0.1 port; users log in through the real login form.
* N client threads (default 4) send a bounded number of requests per scenario, rotating over
  sampled ids; ``/healthz``, measured in the same run and under the same load, is the baseline
  every ratio is taken against.
* Every response must be HTTP 200 and the page the scenario asked for (a marker string in it),
  or it counts as an error, not as a latency.

Then, in this process (no HTTP, one request at a time), each scenario's page is rendered for a
few of its ids while every SQL statement it runs is recorded; each statement is run again
under ``EXPLAIN ANALYZE``. That gives the page's database time, its number of statements and
its slowest statement, against the whole request's time: where a slow page spends it.
``--profile DIR`` also writes a cProfile of each scenario's in-process requests to DIR.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from list_latency import (  # noqa: E402
    CpuMeter,
    Result,
    Scenario,
    add_load_options,
    backend_pids,
    check_load_options,
    check_response,
    explain_analyze,
    fmt,
    local_engine,
    login,
    merge,
    run_metadata,
    run_pass,
    served,
    smoke_defaults,
    smoke_json,
    table,
)

LIST_MARKER = b'id="evaluation-list"'
EVALUATION_MARKER = b"Evaluation #"
SCORECARD_MARKER = b'id="scorecard-n"'
EMPTY_SCORECARD = b'id="scorecard-n">0<'
# The mix of evaluations the evaluation page rotates over: (kind, share, SQL condition).
# ``:evaluator`` is the measured evaluator; "own_open" is their scoring screen.
EVALUATION_MIX = (
    ("own_open", 0.20, "evaluator_id = :evaluator AND status IN ('assigned', 'draft')"),
    ("other_open", 0.10, "evaluator_id <> :evaluator AND status IN ('assigned', 'draft')"),
    ("released", 0.35, "status IN ('released', 'acknowledged') AND revision = 1"),
    ("revised", 0.15, "revision >= 2"),
    ("disputed", 0.10, "status = 'disputed'"),
    ("submitted", 0.10, "status = 'submitted'"),
)


@dataclass
class Samples:
    evaluator: str  # the QA evaluator whose queue and pages are measured
    queue: int  # their open assignments
    history: int  # and their submitted evaluations
    evaluation_ids: list[int]
    evaluation_kinds: dict[str, int]  # how many ids of each EVALUATION_MIX kind
    agent_ids: list[int]  # agents with a released history, for the scorecard
    agent: str  # one of them, who opens their own scorecard
    agent_id: int
    lead: str  # a team lead, who opens the scorecards of their team
    lead_agent_ids: list[int]
    counts: dict[str, int]  # rows per table


def samples(engine: Engine, count: int) -> Samples:
    """Ids and users that exist in the seeded database, chosen reproducibly (by md5 of id)."""
    with engine.connect() as conn:
        counts = {name: conn.scalar(text(f"SELECT count(*) FROM {name}")) or 0  # noqa: S608
                  for name in ("interactions", "evaluations", "evaluation_answers",
                               "evaluation_revisions", "disputes", "users")}
        if not counts["evaluations"]:
            raise SystemExit("no evaluations: run bench/seed.py --evaluations-per-agent 165 "
                             "(or bench/seed_evaluations.py) first")
        # The evaluator with the longest queue: the heaviest queue page there is.
        evaluator = conn.execute(text(
            "SELECT u.id, u.username, count(*) FILTER (WHERE e.status IN ('assigned', 'draft')),"
            " count(*) FILTER (WHERE e.submitted_at IS NOT NULL) FROM evaluations e "
            "JOIN users u ON u.id = e.evaluator_id GROUP BY u.id, u.username "
            "ORDER BY 3 DESC, u.id LIMIT 1")).one()
        ids: list[int] = []
        kinds: dict[str, int] = {}
        for kind, share, condition in EVALUATION_MIX:
            found = list(conn.scalars(text(
                f"SELECT id FROM evaluations WHERE {condition} "  # noqa: S608 - fixed text
                "ORDER BY md5(id::text) LIMIT :n"),
                {"evaluator": evaluator[0], "n": max(1, round(count * share))}))
            kinds[kind] = len(found)
            ids += found
        released = "status IN ('released', 'acknowledged', 'disputed')"
        agents = list(conn.scalars(text(
            f"SELECT agent_id FROM evaluations WHERE {released} "  # noqa: S608
            "GROUP BY agent_id ORDER BY md5(agent_id::text) LIMIT :n"), {"n": count}))
        agent = conn.execute(text("SELECT id, username FROM users WHERE id = :id"),
                             {"id": agents[0]}).one()
        lead, team = conn.execute(text(
            "SELECT u.username, t.team_id FROM team_leads t JOIN users u ON u.id = t.user_id "
            "ORDER BY t.team_id, u.id LIMIT 1")).one()
        lead_agents = list(conn.scalars(text(
            f"SELECT DISTINCT agent_id FROM evaluations WHERE team_id = :team "  # noqa: S608
            f"AND {released} ORDER BY 1"), {"team": team}))
    random.Random(1).shuffle(ids)  # the kinds interleaved, so that any run of requests mixes them
    return Samples(evaluator[1], evaluator[2], evaluator[3], ids, kinds, agents, agent[1],
                   agent[0], lead, lead_agents, counts)


def scenarios(s: Samples) -> list[Scenario]:
    def page(marker: bytes, absent: bytes = b"") -> dict[str, Any]:
        return {"html_list": False, "marker": marker, "absent": absent}

    scorecard = page(SCORECARD_MARKER, EMPTY_SCORECARD)
    return [
        Scenario("healthz", "GET /healthz: WSGI + one SELECT 1, the server's floor",
                 ["/healthz"], who="anonymous", html_list=False),
        Scenario("queue", f"/evaluations?tab=queue as {s.evaluator} ({s.queue} open, "
                 f"{s.history:,} submitted)", ["/evaluations?tab=queue"], who="evaluator",
                 **page(LIST_MARKER)),
        Scenario("evaluation", f"/evaluations/<id> as {s.evaluator}, {len(s.evaluation_ids)} "
                 "ids: " + ", ".join(f"{n} {k}" for k, n in s.evaluation_kinds.items()),
                 [f"/evaluations/{i}" for i in s.evaluation_ids], who="evaluator",
                 **page(EVALUATION_MARKER)),
        Scenario("evaluation_admin", "the same evaluation pages as admin",
                 [f"/evaluations/{i}" for i in s.evaluation_ids], **page(EVALUATION_MARKER)),
        Scenario("scorecard", f"/scorecards/<agent> as admin, {len(s.agent_ids)} agents",
                 [f"/scorecards/{a}" for a in s.agent_ids], **scorecard),
        Scenario("scorecard_own", f"/scorecards/{s.agent_id} as the agent {s.agent} themself",
                 [f"/scorecards/{s.agent_id}"], who="agent", **scorecard),
        Scenario("scorecard_lead", f"/scorecards/<agent> as team lead {s.lead}, "
                 f"{len(s.lead_agent_ids)} agents of the team",
                 [f"/scorecards/{a}" for a in s.lead_agent_ids], who="lead", **scorecard),
        Scenario("list_all", "/evaluations?tab=all as admin: the newest 50 of all",
                 ["/evaluations?tab=all"], **page(LIST_MARKER)),
    ]


# --- in process: the page's SQL and where its time goes -------------------------------------

@dataclass
class Share:
    scenario: str
    pages: int
    request_ms: float  # median in-process time of one request (no HTTP, no concurrency)
    statements: float  # median SQL statements per page
    sql_ms: float  # median over pages of the time the app waited for its statements
    db_ms: float  # ... of the summed EXPLAIN ANALYZE times (planning + execution)
    slowest_ms: float  # the slowest single statement seen (EXPLAIN ANALYZE)
    slowest_sql: str


@contextmanager
def app_for(database_url: str) -> Iterator[Flask]:
    from qm.app import create_app

    with tempfile.TemporaryDirectory(prefix="qm-bench-") as data_dir:
        app = create_app({"database_url": database_url, "data_dir": data_dir,
                          "secret_key": secrets.token_urlsafe(32),
                          "login_rate_limit": "1000 per minute", "WTF_CSRF_ENABLED": False})
        try:
            yield app
        finally:
            app.extensions["qm"]["engine"].dispose()


@contextmanager
def recording(engine: Engine) -> Iterator[list[tuple[str, Any, float]]]:
    """(statement, parameters, ms the app waited for it) of every statement run meanwhile."""
    captured: list[tuple[str, Any, float]] = []

    def before(_conn: Any, _cursor: Any, _statement: str, _parameters: Any, context: Any,
               _many: bool) -> None:
        context.qm_bench_t0 = time.perf_counter()

    def after(_conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any,
              _many: bool) -> None:
        captured.append((statement, parameters,
                         (time.perf_counter() - context.qm_bench_t0) * 1000))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield captured
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def in_process(args: argparse.Namespace, plan: list[Scenario], users: dict[str, str],
               engine: Engine) -> list[Share]:
    shares = []
    with app_for(args.database_url) as app:
        app_engine = app.extensions["qm"]["engine"]
        clients = {}
        for who, username in users.items():
            client = app.test_client()
            response = client.post("/login", data={"username": username,
                                                   "password": args.password})
            if response.status_code != 302:
                raise RuntimeError(f"in-process login as {username} answered "
                                   f"{response.status_code}")
            clients[who] = client
        for scenario in plan:
            if scenario.who == "anonymous":
                continue
            client = clients[scenario.who]
            paths = scenario.paths[:args.explain_pages]
            request_ms, statements, sql_ms, db_ms = [], [], [], []
            slowest = (0.0, "")
            for path in paths:
                client.get(path)  # warm: compiled template, plan caches
                with recording(app_engine) as captured:
                    t0 = time.perf_counter()
                    response = client.get(path)
                    request_ms.append((time.perf_counter() - t0) * 1000)
                problem = check_response(scenario, response.status_code, response.data)
                if problem:
                    raise RuntimeError(f"in process, {path}: {problem}")
                statements.append(len(captured))
                sql_ms.append(sum(ms for _s, _p, ms in captured))
                page_db = 0.0
                with engine.connect() as conn:
                    for statement, parameters, _ms in captured:
                        execution, planning, _plan = explain_analyze(
                            conn, statement, parameters, args.explain_repeats)
                        ms = execution + planning
                        page_db += ms
                        if ms > slowest[0]:
                            slowest = (ms, " ".join(statement.split()))
                db_ms.append(page_db)
            if args.profile:
                profile(args.profile, scenario, client, args.profile_requests)
            share = Share(scenario.name, len(paths), statistics.median(request_ms),
                          statistics.median(statements), statistics.median(sql_ms),
                          statistics.median(db_ms), slowest[0], slowest[1])
            shares.append(share)
            print(f"  [in process] {scenario.name:<18} {share.request_ms:6.1f} ms/request, "
                  f"{share.statements:.0f} statements, {share.sql_ms:5.2f} ms waiting for SQL, "
                  f"{share.db_ms:5.2f} ms in EXPLAIN ANALYZE", flush=True)
    return shares


def profile(directory: Path, scenario: Scenario, client: Any, requests: int) -> None:
    """cProfile of ``requests`` in-process requests, the top of it written to a text file."""
    directory.mkdir(parents=True, exist_ok=True)
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(requests):
        client.get(scenario.paths[i % len(scenario.paths)])
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    out.write(f"{scenario.name}: {requests} requests\n")
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    (directory / f"{scenario.name}.txt").write_text(out.getvalue())


def share_table(shares: list[Share], results: list[Result]) -> str:
    by_name = {r.scenario: r for r in results}
    lines = ["| scenario | in-process ms | SQL statements | SQL ms (app waited) | SQL share "
             "| EXPLAIN ANALYZE ms | slowest statement ms | p50 ms under load |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in shares:
        loaded = by_name.get(s.scenario)
        lines.append(f"| {s.scenario} | {fmt(s.request_ms)} | {s.statements:.0f} "
                     f"| {fmt(s.sql_ms, 2)} | {fmt(100 * s.sql_ms / s.request_ms, 0)} % "
                     f"| {fmt(s.db_ms, 2)} | {fmt(s.slowest_ms, 2)} "
                     f"| {fmt(loaded.p50) if loaded else '-'} |")
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_options(parser)
    parser.add_argument("--explain-pages", type=int, default=5,
                        help="In process: record and EXPLAIN ANALYZE the SQL of this many "
                             "pages per scenario ...")
    parser.add_argument("--explain-repeats", type=int, default=3,
                        help="... each statement this many times (the median is reported)")
    parser.add_argument("--skip-in-process", action="store_true",
                        help="Leave out the in-process SQL and timing pass")
    parser.add_argument("--profile", type=Path,
                        help="Write a cProfile of each scenario's in-process requests here")
    parser.add_argument("--profile-requests", type=int, default=50)
    # --smoke: also the in-process pass, on one page per scenario, and a profile (to a temp dir)
    smoke_defaults(parser, argv, explain_pages=1, explain_repeats=1, profile_requests=2)
    args = parser.parse_args(argv)
    check_load_options(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with smoke_json(args), tempfile.TemporaryDirectory(prefix="qm-bench-profile-") as folder:
        if args.smoke and args.profile is None and not args.skip_in_process:
            args.profile = Path(folder)
        return measure(args)


def measure(args: argparse.Namespace) -> int:
    engine = local_engine(args.database_url)
    s = samples(engine, args.samples)
    meta = run_metadata(engine, args, **s.counts)
    meta.update(evaluator=s.evaluator, evaluator_queue=s.queue, evaluator_history=s.history,
                evaluation_kinds=s.evaluation_kinds)
    only = {n for n in args.only.split(",") if n}
    plan = [sc for sc in scenarios(s) if not only or sc.name in only or sc.name == "healthz"]
    users = {"admin": args.username, "evaluator": s.evaluator, "agent": s.agent,
             "lead": s.lead}
    for sc in plan:
        print(f"  {sc.name:<18} {sc.description}")
    rounds: list[list[Result]] = []
    with served(args.database_url, args.threads, startup_s=60) as (port, server_pid):
        meter = CpuMeter(server_pid, lambda: backend_pids(engine))
        cookies = {"anonymous": {}} | {who: login(port, username, args.password)
                                       for who, username in users.items()}
        for n in range(1, args.rounds + 1):
            print(f"Round {n}/{args.rounds}")
            rounds.append(run_pass(port, "served", plan, cookies, args, meter))
    results = merge(rounds)
    meta["loadavg_after"] = os.getloadavg()
    shares = [] if args.skip_in_process else in_process(args, plan, users, engine)
    engine.dispose()

    print("\n## Under load (ratios against /healthz of the same run)\n")
    print(table(results, results[0]))
    if shares:
        print("\n## In process, one request at a time: the page's SQL (EXPLAIN ANALYZE)\n")
        print(share_table(shares, results))
        for share in shares:
            print(f"- {share.scenario}: slowest statement {share.slowest_ms:.2f} ms: "
                  f"{share.slowest_sql[:300]}")
    if args.json:
        args.json.write_text(json.dumps(
            {"meta": meta, "scenarios": {sc.name: sc.description for sc in plan},
             "results": [r.summary() for r in results],
             "in_process": [asdict(share) for share in shares]}, indent=2, default=str))
        print(f"\nwritten to {args.json}")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
