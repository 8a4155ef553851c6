"""Fill a throw-away database with a contact centre's skills records, large enough to measure the
skills matrix on: agents in teams, a published competency framework, role, queue and client
profiles, two years of assessments and of training records.

Usage::

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE qm_bench_matrix'      # once
    python bench/seed_competencies.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/qm_bench_matrix

Why it looks the way it does:

* The schema is dropped and rebuilt with ``migrations.upgrade`` (``seed.reset_schema``), so the
  indexes measured are the ones the migrations create. Teams, leads and agents are
  ``seed.people``'s, plus one HR user, ``hr``, who sees every agent.
* The few documents a person would write (the framework, its profiles, the courses) go through
  the services as ``SystemActor('bench')``: they are checked and audited as an import would be.
  The many rows (profile members, assessments, training records) go in as bulk Core inserts,
  not audited: loading benchmark data is not a change of record.
* An agent's level on a competency rises over the two years with some noise, and the latest
  assessment is what the matrix shows, so the matrix has a realistic mix of met requirements and
  gaps (and a few competencies never assessed).
* The data are random but seeded: two runs with the same arguments build the same database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from competencies.frameworks import services as framework_services
from competencies.profiles import services as profile_services
from competencies.profiles.models import Assessment, AssessmentMethod, ProfileMember
from competencies.training import services as training_services
from competencies.training.models import TrainingRecord
from qm.auth.models import Team, User, UserRole, team_leads
from qm.auth.permissions import SystemActor
from qm.db import make_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import (  # noqa: E402
    BENCH_PASSWORD,
    add_smoke,
    analyze,
    chunks,
    guard,
    people,
    reset_schema,
)

MATRIX_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/qm_bench_matrix"
DEFAULT_URL = os.environ.get("QM_BENCH_MATRIX_DATABASE_URL", MATRIX_URL)
HR_USERNAME = "hr"
FRAMEWORK_NAME = "Bench agent competencies"
ACTOR = SystemActor("bench")
# Competencies per ISO 18295-1 clause 6.3 group, in these shares of --competencies.
GROUP_SHARES = (("6.3.2", 0.35), ("6.3.3", 0.40), ("6.3.4", 0.25))
ROLES = (("new agent", 0.15, 0.30, (1, 2)), ("agent", 0.65, 0.60, (2, 3)),
         ("senior agent", 0.20, 0.85, (3, 4)))  # name, share of agents, share required, levels
CLIENTS = ("Acme Energy", "Northwind Telecom", "Globex Bank", "Initech Insurance")
COURSE_KINDS = (("induction", None), ("compliance", 12), ("product", None), ("refresher", 12),
                ("client", 24), ("product", None))
METHODS = [m.value for m in AssessmentMethod]
# --smoke: CI's run (bench/smoke.sh): every kind of profile and course, a few batches.
SMOKE = {"agents": 10, "teams": 2, "competencies": 8, "per_competency": 2, "courses": 3,
         "batch": 50}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="Target database; its schema is DROPPED first (default: %(default)s)")
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--teams", type=int, default=25)
    parser.add_argument("--competencies", type=int, default=40)
    parser.add_argument("--per-competency", type=float, default=4.0,
                        help="Assessments per agent and competency, on average, over --months")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--courses", type=int, default=6)
    parser.add_argument("--batch", type=int, default=10_000, help="Rows per executemany call")
    parser.add_argument("--seed", type=int, default=18295)
    parser.add_argument("--force", action="store_true",
                        help="Allow a database whose name does not contain 'bench'")
    add_smoke(parser, SMOKE, argv)
    args = parser.parse_args(argv)
    if args.teams < 1 or args.agents < args.teams or args.competencies < 3:
        parser.error("need at least 1 team, as many agents as teams and 3 competencies")
    return args


def framework_definition(count: int) -> dict[str, Any]:
    """``count`` competencies over the three clause 6.3 groups; client-specific ones name a
    client. Codes are ``<group>.<nn>``."""
    groups: list[dict[str, Any]] = []
    left = count
    for n, (group, share) in enumerate(GROUP_SHARES):
        size = left if n == len(GROUP_SHARES) - 1 else max(1, round(count * share))
        left -= size
        competencies = []
        for i in range(1, size + 1):
            item = {"code": f"{group}.{i:02d}", "name": f"Competency {group}.{i:02d}",
                    "indicators": {str(level): f"Level {level} behaviour"
                                   for level in range(1, 5)}}
            if group == "6.3.4":
                item["client"] = CLIENTS[(i - 1) % len(CLIENTS)]
            competencies.append(item)
        groups.append({"code": group, "competencies": competencies})
    return {"name": FRAMEWORK_NAME, "description": "Seeded by bench/seed_competencies.py",
            "groups": groups}


def documents(engine: Engine, args: argparse.Namespace, queues: list[str]) -> dict[str, Any]:
    """The framework, its profiles and the courses, through the services (checked, audited)."""
    rng = random.Random(args.seed + 10)
    definition = framework_definition(args.competencies)
    codes = [c["code"] for g in definition["groups"] for c in g["competencies"]]
    client_codes = {client: [c["code"] for g in definition["groups"] for c in g["competencies"]
                             if c.get("client") == client] for client in CLIENTS}
    with Session(engine) as session:
        framework = framework_services.import_framework(session, ACTOR, definition,
                                                        publish=True).framework
        general = [c for c in codes if not c.startswith("6.3.4")]
        roles = {}
        for name, _share, required, (low, high) in ROLES:
            picked = rng.sample(general, k=max(1, round(len(general) * required)))
            roles[name] = profile_services.save_profile(
                session, ACTOR, framework_id=framework.id, kind="role", name=name,
                requirements={c: rng.randint(low, high) for c in sorted(picked)}).id
        queue_profiles = {}
        for queue in queues:
            picked = rng.sample(general, k=min(len(general), rng.randint(3, 6)))
            queue_profiles[queue] = profile_services.save_profile(
                session, ACTOR, framework_id=framework.id, kind="queue", name=queue,
                requirements={c: rng.randint(2, 3) for c in sorted(picked)}).id
        clients = {}
        for client, owned in client_codes.items():
            if owned:
                clients[client] = profile_services.save_profile(
                    session, ACTOR, framework_id=framework.id, kind="client", name=client,
                    requirements={c: rng.randint(2, 4) for c in owned}).id
        courses = []
        for n in range(args.courses):
            kind, refresh = COURSE_KINDS[n % len(COURSE_KINDS)]
            course = training_services.save_course(session, ACTOR, {
                "name": f"Bench course {n + 1:02d} ({kind})", "kind": kind,
                "refresh_months": refresh, "competencies": rng.sample(codes, k=3)})
            courses.append((course.id, refresh))
        session.commit()
        return {"framework_id": framework.id, "codes": codes, "roles": roles,
                "queues": queue_profiles, "clients": clients, "courses": courses}


def members(args: argparse.Namespace, agents: list[tuple[int, int]],
            queues_by_team: dict[int, list[str]], docs: dict[str, Any],
            now: dt.datetime) -> list[dict[str, Any]]:
    """Each agent holds one role profile, one or two of their team's queues, and (70 %) the
    client their team serves."""
    rng = random.Random(args.seed + 11)
    role_names = [r[0] for r in ROLES]
    role_weights = [r[1] for r in ROLES]
    clients = list(docs["clients"])
    rows: list[dict[str, Any]] = []
    for agent_id, team_id in agents:
        held = [docs["roles"][rng.choices(role_names, role_weights)[0]]]
        team_queues = queues_by_team[team_id]
        held += [docs["queues"][q] for q in rng.sample(team_queues,
                                                       k=min(len(team_queues),
                                                             rng.randint(1, 2)))]
        if clients and rng.random() < 0.7:
            held.append(docs["clients"][clients[team_id % len(clients)]])
        rows += [{"profile_id": p, "user_id": agent_id, "assigned_at": now} for p in held]
    return rows


def assessments(args: argparse.Namespace, agents: list[tuple[int, int]],
                leads: dict[int, int], docs: dict[str, Any], today: dt.date,
                now: dt.datetime) -> list[dict[str, Any]]:
    """About ``--per-competency`` assessments per agent and competency over ``--months``, levels
    rising with time; 3 % of (agent, competency) pairs never assessed."""
    rng = random.Random(args.seed + 12)
    span = round(args.months * 365.25 / 12)
    high = max(1, round(2 * args.per_competency) - 1)
    rows: list[dict[str, Any]] = []
    for agent_id, team_id in agents:
        skill = rng.uniform(0.5, 3.0)  # where the agent started, on the 0..4 scale
        for code in docs["codes"]:
            if rng.random() < 0.03:
                continue
            aptitude = skill + rng.uniform(-0.8, 0.8)
            n = rng.randint(1, high)
            for day_back in sorted(rng.sample(range(span), k=min(n, span)), reverse=True):
                progress = 1 - day_back / span  # 0 two years ago, 1 today
                level = round(aptitude + 1.2 * progress + rng.uniform(-0.6, 0.6))
                rows.append({
                    "user_id": agent_id, "framework_id": docs["framework_id"],
                    "competency_code": code, "level": max(0, min(4, level)),
                    "assessed_on": today - dt.timedelta(days=day_back),
                    "method": rng.choice(METHODS), "evidence": "", "suggested_level": None,
                    "override_reason": "", "assessor_id": leads[team_id], "created_at": now})
    return rows


def training_records(args: argparse.Namespace, agents: list[tuple[int, int]],
                     docs: dict[str, Any], today: dt.date,
                     now: dt.datetime) -> list[dict[str, Any]]:
    """Every agent took most courses; a refresher was taken again every interval since."""
    rng = random.Random(args.seed + 13)
    span = round(args.months * 365.25 / 12)
    rows: list[dict[str, Any]] = []
    for agent_id, _team in agents:
        for course_id, refresh in docs["courses"]:
            if rng.random() < 0.1:
                continue
            day = today - dt.timedelta(days=rng.randrange(span))
            while day <= today:
                expires = (day + dt.timedelta(days=round(refresh * 30.44))) if refresh else None
                rows.append({"user_id": agent_id, "course_id": course_id, "completed_on": day,
                             "result": "passed", "expires_on": expires, "certificate": "",
                             "source": "import", "created_at": now, "created_by_id": None})
                if not refresh:
                    break
                day += dt.timedelta(days=round(refresh * 30.44) + rng.randint(-20, 10))
    return rows


def reset_sequences(engine: Engine) -> None:
    """Explicit ids leave the sequences behind: move them past the seeded rows."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in ("teams", "users"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                              f"(SELECT max(id) FROM {table}))"))  # two fixed names, no input


def seed(args: argparse.Namespace) -> dict[str, int]:
    guard(args.database_url, args.force)
    engine = make_engine(args.database_url)
    where = engine.url.render_as_string(hide_password=True)
    print(f"Seeding {where}: {args.agents} agents in {args.teams} teams, "
          f"{args.competencies} competencies, ~{args.per_competency:g} assessments per agent "
          f"and competency over {args.months} months")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    reset_schema(engine)
    timings["schema (drop + migrations.upgrade)"] = time.perf_counter() - started

    now = dt.datetime.now(dt.UTC)
    today = now.date()
    step = time.perf_counter()
    people_args = argparse.Namespace(seed=args.seed, teams=args.teams, agents=args.agents)
    teams, users, roles, leads, queues_by_team = people(people_args, now)
    hr_id = max(u["id"] for u in users) + 1
    users.append({**users[0], "id": hr_id, "username": HR_USERNAME,
                  "email": f"{HR_USERNAME}@bench.example", "display_name": "Bench HR"})
    roles.append({"user_id": hr_id, "role": "hr"})
    with engine.begin() as conn:
        conn.execute(insert(Team), teams)
        conn.execute(insert(User), users)
        conn.execute(insert(UserRole), roles)
        conn.execute(insert(team_leads), leads)
    reset_sequences(engine)
    agents = [(u["id"], u["team_id"]) for u in users if u["team_id"] is not None]
    lead_of = {row["team_id"]: row["user_id"] for row in leads}
    queues = sorted({q for qs in queues_by_team.values() for q in qs})
    timings["teams and users"] = time.perf_counter() - step

    step = time.perf_counter()
    docs = documents(engine, args, queues)
    timings["framework, profiles, courses (services)"] = time.perf_counter() - step

    step = time.perf_counter()
    member_rows = members(args, agents, queues_by_team, docs, now)
    assessment_rows = assessments(args, agents, lead_of, docs, today, now)
    record_rows = training_records(args, agents, docs, today, now)
    timings["generating rows in Python"] = time.perf_counter() - step

    inserted = 0
    for label, table, rows in (("profile members", ProfileMember.__table__, member_rows),
                               ("assessments", Assessment.__table__, assessment_rows),
                               ("training records", TrainingRecord.__table__, record_rows)):
        step = time.perf_counter()
        with engine.begin() as conn:
            for batch in chunks(rows, args.batch):
                conn.execute(insert(table), batch)
        took = time.perf_counter() - step
        inserted += len(rows)
        timings[f"INSERT {label} ({len(rows):,} rows, {len(rows) / took:,.0f} rows/s)"] = took

    step = time.perf_counter()
    analyze(engine)
    timings["VACUUM ANALYZE"] = time.perf_counter() - step
    total = time.perf_counter() - started

    with engine.connect() as conn:
        counts = {name: conn.scalar(select(func.count()).select_from(table)) or 0
                  for name, table in (("agents", UserRole.__table__),
                                      ("profile_members", ProfileMember.__table__),
                                      ("assessments", Assessment.__table__),
                                      ("training_records", TrainingRecord.__table__))}
        counts["agents"] = conn.scalar(select(func.count()).select_from(UserRole.__table__)
                                       .where(UserRole.role == "agent")) or 0
    engine.dispose()
    expected = {"agents": args.agents, "profile_members": len(member_rows),
                "assessments": len(assessment_rows), "training_records": len(record_rows)}
    if counts != expected:
        sys.exit(f"read back {counts}, expected {expected}")
    for label, seconds in timings.items():
        print(f"  {label + ':':<62} {seconds:6.2f} s")
    print(f"Seeded {counts['assessments']:,} assessments and {counts['training_records']:,} "
          f"training records for {counts['agents']} agents in {total:.1f} s.")
    print(f"Log in as {HR_USERNAME!r} (all agents) or lead001 (team 1) with {BENCH_PASSWORD!r}.")
    return counts


def main(argv: list[str] | None = None) -> None:
    seed(parse_args(argv))


if __name__ == "__main__":
    main()
