"""Latency of the skills matrix (/skills) and its CSV and XLSX exports, served for real, against a
database seeded with 500 agents x 40 competencies and two years of assessments.

Usage (after ``python bench/seed_competencies.py``)::

    python bench/matrix_latency.py --json /tmp/matrix_latency.json

It is list_latency.py's method, with that file's client, server, CPU meter and tables, and
evaluation_latency.py's in-process pass:

* ``qm serve`` (waitress) on a free 127.0.0.1 port; HR (every agent) and a team lead (their
  team) log in through the real login form.
* N client threads (default 4) send a bounded number of requests per scenario, rotating over
  filter values that exist in the database; ``/healthz``, measured in the same run and under the
  same load, is the baseline every ratio is taken against.
* Every response must be HTTP 200 and what the scenario asked for: the matrix table with the
  number of agents the database says the filter selects, a CSV with its header, an XLSX (a zip).
  Anything else counts as an error, not as a latency, and makes the exit status 1.

Then, in this process, each scenario's page is rendered for a few of its filter values while
every SQL statement it runs is recorded and run again under ``EXPLAIN ANALYZE``: the page's
database time and statements against its whole time (``--skip-in-process`` leaves it out).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
import tempfile
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluation_latency import in_process, share_table  # noqa: E402
from list_latency import (  # noqa: E402
    Client,
    CpuMeter,
    Result,
    Scenario,
    add_load_options,
    backend_pids,
    check_load_options,
    fmt,
    local_engine,
    merge,
    run_metadata,
    run_pass,
    served,
    smoke_defaults,
    smoke_json,
)
from seed_competencies import DEFAULT_URL, HR_USERNAME  # noqa: E402

MATRIX_MARKER = b'id="matrix"'
EMPTY_MARKER = b"No agents to show"
CSV_MARKER = b"username,name,team,competency,required,current,gap"
XLSX_MARKER = b"PK\x03\x04"  # an XLSX file is a zip
# The matrix's rows: one link to an agent's page per row (the print version has no links,
# but every row's first cell is a <th scope="row">).
ROW = re.compile(rb'<tr[^>]*>\s*<(?:td|th)[^>]*class="[^"]*\bagent\b')
# Heavier pages than the list benchmarks: fewer requests, the same shape.
DEFAULTS = {"requests": 100, "warmup": 5}
SMOKE_MORE = {"explain_pages": 1, "explain_repeats": 1, "profile_requests": 2}


@dataclass
class Samples:
    hr: str
    lead: str
    lead_agents: int  # agents of the lead's teams
    agents: int  # every active agent: what HR's whole matrix shows
    competencies: int
    team_ids: list[int]
    role_ids: list[int]
    queue_ids: list[int]
    counts: dict[str, int]


def samples(engine: Engine) -> Samples:
    """Users and filter values that exist in the seeded database."""
    with engine.connect() as conn:
        counts = {name: conn.scalar(text(f"SELECT count(*) FROM {name}")) or 0  # noqa: S608
                  for name in ("users", "competency_assessments", "competency_profiles",
                               "competency_profile_members", "training_records")}
        if not counts["competency_assessments"]:
            raise SystemExit("no assessments: run bench/seed_competencies.py first")
        agents = conn.scalar(text(
            "SELECT count(*) FROM users u JOIN user_roles r ON r.user_id = u.id "
            "WHERE r.role = 'agent' AND u.active")) or 0
        lead, lead_agents = conn.execute(text(
            "SELECT u.username, (SELECT count(*) FROM users a JOIN user_roles r "
            "ON r.user_id = a.id AND r.role = 'agent' WHERE a.team_id = t.team_id) "
            "FROM team_leads t JOIN users u ON u.id = t.user_id ORDER BY t.team_id, u.id "
            "LIMIT 1")).one()
        teams = list(conn.scalars(text("SELECT id FROM teams ORDER BY id")))
        profiles = {kind: list(conn.scalars(text(
            "SELECT id FROM competency_profiles WHERE kind = :kind ORDER BY id"),
            {"kind": kind})) for kind in ("role", "queue")}
        definition = conn.scalar(text(
            "SELECT v.definition FROM competency_framework_versions v "
            "WHERE v.status = 'published' ORDER BY v.id LIMIT 1"))
    if isinstance(definition, str):
        definition = json.loads(definition)
    competencies = sum(len(g["competencies"]) for g in (definition or {}).get("groups", []))
    if not teams or not profiles["role"] or not profiles["queue"] or not competencies:
        raise SystemExit("the database does not look like bench/seed_competencies.py's: "
                         "rerun the seed")
    return Samples(HR_USERNAME, lead, lead_agents, agents, competencies, teams,
                   profiles["role"], profiles["queue"], counts)


def scenarios(s: Samples) -> list[Scenario]:
    def q(path: str = "/skills", **params: Any) -> str:
        return path + ("?" + urllib.parse.urlencode(params) if params else "")

    page = {"html_list": False, "marker": MATRIX_MARKER, "absent": EMPTY_MARKER}
    csv = {"html_list": False, "marker": CSV_MARKER}
    xlsx = {"html_list": False, "marker": XLSX_MARKER}
    size = f"{s.agents} agents x {s.competencies} competencies"
    return [
        Scenario("healthz", "GET /healthz: WSGI + one SELECT 1, the server's floor",
                 ["/healthz"], who="anonymous", html_list=False),
        Scenario("matrix_all", f"/skills as HR: the whole matrix, {size}", [q()], who="hr",
                 **page),
        Scenario("matrix_team", f"/skills?team_id=<one of {len(s.team_ids)} teams> as HR",
                 [q(team_id=t) for t in s.team_ids], who="hr", **page),
        Scenario("matrix_role", f"/skills?role_id=<one of {len(s.role_ids)} role profiles> "
                 "as HR", [q(role_id=r) for r in s.role_ids], who="hr", **page),
        Scenario("matrix_queue_gaps", f"/skills?queue_id=<one of {len(s.queue_ids)} queue "
                 "profiles>&gaps=1 as HR", [q(queue_id=p, gaps=1) for p in s.queue_ids],
                 who="hr", **page),
        Scenario("matrix_lead", f"/skills as team lead {s.lead} ({s.lead_agents} agents)",
                 [q()], who="lead", **page),
        Scenario("matrix_print", f"/skills?print=1 as HR: the printable matrix, {size}",
                 [q(print=1)], who="hr", **page),
        Scenario("xlsx_all", f"/skills/matrix.xlsx as HR, {size}",
                 [q("/skills/matrix.xlsx")], who="hr", **xlsx),
        Scenario("xlsx_lead", f"/skills/matrix.xlsx as team lead {s.lead}",
                 [q("/skills/matrix.xlsx")], who="lead", **xlsx),
        Scenario("csv_all", f"/skills/matrix.csv as HR, {size} = "
                 f"{s.agents * s.competencies:,} rows", [q("/skills/matrix.csv")], who="hr",
                 **csv),
    ]


def login_as(port: int, username: str, password: str, landing: str = "/skills") -> dict[str, str]:
    """Log in through the real form (CSRF token and all), then open ``landing`` once so that
    the session cookie holds its CSRF token, as a browser's would; the session cookies.
    (list_latency.login lands on /interactions, which HR may not open.)"""
    client = Client(port)
    try:
        status, _h, page = client.get("/login")
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        if status != 200 or match is None:
            raise RuntimeError(f"GET /login answered {status} without a csrf_token field")
        form = urllib.parse.urlencode({"csrf_token": html.unescape(match.group(1).decode()),
                                       "username": username, "password": password}).encode()
        status, _h, _b = client.request(
            "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"logging in as {username!r} answered {status}, not a redirect; "
                               "was the database seeded with bench/seed_competencies.py?")
        status, _h, _b = client.get(landing)
        if status != 200:
            raise RuntimeError(f"{landing} as {username!r} answered {status}")
        return dict(client.cookies)
    finally:
        client.close()


def check_rows(port: int, cookies: dict[str, dict[str, str]], plan: list[Scenario],
               expected: dict[str, int]) -> list[str]:
    """Each page scenario shows the agents it should: the whole matrix every agent, the
    lead's their team's (and the print version as many rows as the page). A filter that
    matched nothing would be measured as a fast empty page; so would a broken scope."""
    problems = []
    for scenario in plan:
        if scenario.name not in expected:
            continue
        client = Client(port, cookies[scenario.who])
        try:
            status, _h, body = client.get(scenario.paths[0], keep_cookies=False)
        finally:
            client.close()
        rows = len(ROW.findall(body))
        if status != 200 or rows != expected[scenario.name]:
            problems.append(f"{scenario.name}: {scenario.paths[0]} answered {status} with "
                            f"{rows} agent rows, expected {expected[scenario.name]}")
    return problems


def table(results: list[Result], baseline: Result) -> str:
    """list_latency.table's figures with the slowest request (max) added."""
    lines = ["| scenario | requests | errors | p50 ms | p95 ms | max ms | mean ms | req/s "
             "| p50 / healthz | p95 / healthz | max / healthz | KiB | bench CPUs | other CPUs |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        slowest = max(r.latencies_ms, default=float("nan"))
        top = max(baseline.latencies_ms, default=float("nan"))
        lines.append(
            f"| {r.scenario} | {r.requests} | {r.errors} | {fmt(r.p50)} | {fmt(r.p95)} "
            f"| {fmt(slowest)} | {fmt(r.mean)} | {fmt(r.rps)} | {fmt(r.p50 / baseline.p50)}x "
            f"| {fmt(r.p95 / baseline.p95)}x | {fmt(slowest / top)}x "
            f"| {fmt(r.mean_bytes / 1024)} | {fmt(r.bench_cores, 2)} | {fmt(r.other_cores, 2)} |")
    return "\n".join(lines)


def summary(result: Result) -> dict[str, Any]:
    return {**result.summary(), "max_ms": max(result.latencies_ms, default=None)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_options(parser)
    parser.set_defaults(database_url=DEFAULT_URL, username=HR_USERNAME, **DEFAULTS)
    parser.add_argument("--explain-pages", type=int, default=3,
                        help="In process: record and EXPLAIN ANALYZE the SQL of this many "
                             "pages per scenario ...")
    parser.add_argument("--explain-repeats", type=int, default=3,
                        help="... each statement this many times (the median is reported)")
    parser.add_argument("--skip-in-process", action="store_true",
                        help="Leave out the in-process SQL and timing pass")
    parser.add_argument("--profile", type=Path,
                        help="Write a cProfile of each scenario's in-process requests here")
    parser.add_argument("--profile-requests", type=int, default=10)
    parser.add_argument("--skip-row-check", action="store_true",
                        help="Do not count the agents on the pages (for code without the "
                             "print version or the profile filters)")
    smoke_defaults(parser, argv, **SMOKE_MORE)
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
    s = samples(engine)
    meta = run_metadata(engine, args, agents=s.agents, competencies=s.competencies, **s.counts)
    only = {n for n in args.only.split(",") if n}
    plan = [sc for sc in scenarios(s) if not only or sc.name in only or sc.name == "healthz"]
    users = {"hr": args.username, "lead": s.lead}
    for sc in plan:
        print(f"  {sc.name:<18} {sc.description}")
    rounds: list[list[Result]] = []
    problems: list[str] = []
    with served(args.database_url, args.threads, startup_s=60) as (port, server_pid):
        meter = CpuMeter(server_pid, lambda: backend_pids(engine))
        cookies = {"anonymous": {}} | {who: login_as(port, username, args.password)
                                       for who, username in users.items()}
        if not args.skip_row_check:
            problems = check_rows(port, cookies, plan, {
                "matrix_all": s.agents, "matrix_print": s.agents,
                "matrix_lead": s.lead_agents})
            for problem in problems:
                print(f"  ROW CHECK FAILED: {problem}")
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
             "results": [summary(r) for r in results], "row_check": problems,
             "in_process": [asdict(share) for share in shares]}, indent=2, default=str))
        print(f"\nwritten to {args.json}")
    return 1 if problems or any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

