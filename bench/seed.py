"""Fill a throw-away database with a contact centre large enough to measure the list pages on.

Usage::

    python bench/seed.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/qm_bench \\
        --interactions 100000 --agents 500

Why it looks the way it does:

* The schema is dropped and rebuilt with ``migrations.upgrade`` so that the benchmark measures the
  indexes the migrations really create, not whatever ``metadata.create_all`` would make.
* Rows go in with SQLAlchemy Core ``insert()`` and lists of dicts, i.e. one executemany per
  batch (psycopg 3 runs it in pipeline mode; drivers without that get SQLAlchemy's multi-row
  "insertmanyvalues"). The ORM one object at a time and the audit-logged services would take
  minutes and fill the audit log: loading benchmark data is not a change of record, so it is not
  audited.
* One password hash is computed once and shared by every user: hashing 500 passwords would cost
  more than inserting 100,000 interactions.
* The data are random but seeded, so two runs with the same arguments build the same database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, make_url, select, text
from werkzeug.security import generate_password_hash

from qm import migrations
from qm.auth.models import Team, User, UserRole, team_leads
from qm.db import make_engine
from qm.interactions.models import Interaction

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/qm_bench"
# Every seeded user (admin, leads, agents) shares this password; list_latency.py logs in with it.
BENCH_PASSWORD = "bench-password-1"  # noqa: S105 - a throw-away benchmark database
ADMIN_USERNAME = "admin"
SOURCE = "bench"

CHANNEL_WEIGHTS = {"voice": 55, "chat": 25, "email": 12, "messaging": 5, "social": 3}
DIRECTION_WEIGHTS = {"inbound": 85, "outbound": 13, "internal": 2}
# Each team works a few queues out of these, so that a queue filter matches a realistic share.
QUEUE_FAMILIES = {
    "Billing": ["billing", "refunds", "payments", "collections"],
    "Technical support": ["broadband", "mobile", "outages", "tv"],
    "Sales": ["new-customers", "upgrades", "retention"],
    "Moves": ["home-move", "address-change"],
    "Business": ["sme", "enterprise", "business-billing"],
}
CHAT_BODY = ("Customer: Hi, my last invoice is higher than usual.\n"
             "Agent: Let me check that for you.")
EMAIL_BODY = "Subject: Refund request\n\nHello, I was charged twice this month."
# Contacts cluster in opening hours, as they do in a real centre.
HOURS = [8, 9, 9, 10, 10, 10, 11, 11, 12, 13, 14, 14, 15, 15, 16, 16, 17, 18, 19, 20]
# --smoke: CI's run (bench/smoke.sh). 1,000 interactions, not fewer: list_latency.py's scenarios
# need every 30-day window of every channel to hold a row (email is 12 % of the contacts), and
# teams <= agents so that every team has contacts. Several insert batches; then the evaluations.
SMOKE = {"interactions": 1000, "agents": 10, "teams": 5, "batch": 300,
         "evaluations_per_agent": 30}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url",
                        default=os.environ.get("QM_BENCH_DATABASE_URL", DEFAULT_URL),
                        help="Target database; its schema is DROPPED first (default: %(default)s)")
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--teams", type=int, default=25)
    parser.add_argument("--customers", type=int, default=0,
                        help="Distinct customer refs (default: interactions / 3, so that a "
                             "customer search finds a few contacts)")
    parser.add_argument("--months", type=int, default=12, help="Spread over this many months")
    parser.add_argument("--batch", type=int, default=10_000, help="Rows per executemany call")
    parser.add_argument("--seed", type=int, default=18295)
    parser.add_argument("--force", action="store_true",
                        help="Allow a database whose name does not contain 'bench'")
    parser.add_argument("--evaluations-per-agent", type=int, default=0,
                        help="Then run bench/seed_evaluations.py with --per-agent N (165 gives "
                             "a million answer rows at 500 agents); 0: no evaluations")
    add_smoke(parser, SMOKE, argv, also=", and seed_evaluations.py --smoke")
    return parser.parse_args(argv)


def add_smoke(parser: argparse.ArgumentParser, smoke: dict[str, Any], argv: list[str] | None,
              also: str = "") -> None:
    """``--smoke``: CI's run, ``smoke`` as the defaults (options given on the line still win)."""
    parser.add_argument("--smoke", action="store_true",
                        help="CI's smoke run: defaults of " + ", ".join(
                            f"--{k.replace('_', '-')} {v}" for k, v in smoke.items())
                        + also + " (options given still win)")
    if "--smoke" in (sys.argv[1:] if argv is None else argv):
        parser.set_defaults(**smoke)


def guard(url: str, force: bool) -> None:
    """Refuse to wipe a database that does not look like a benchmark one (e.g. the test DB)."""
    parsed = make_url(url)
    name = parsed.database or ""
    if parsed.get_backend_name() == "postgresql" and parsed.host not in ("127.0.0.1", "localhost"):
        sys.exit(f"refusing: {parsed.host!r} is not this machine; the benchmark stays on 127.0.0.1")
    if "bench" not in Path(name).name and not force:
        sys.exit(f"refusing to drop the schema of {name!r}: its name does not contain 'bench' "
                 "(pass --force if you really mean it)")


def reset_schema(engine: Engine) -> None:
    """An empty database at the migrations' head revision."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    elif engine.dialect.name == "sqlite":
        path = engine.url.database
        engine.dispose()
        if path and path != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
    else:
        raise SystemExit(f"unsupported database {engine.dialect.name}")
    migrations.upgrade(engine)


def chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def people(args: argparse.Namespace, now: dt.datetime) -> tuple[
        list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]],
        list[dict[str, Any]], dict[int, list[str]]]:
    """Teams, users, roles and team leads, with explicit ids so that one INSERT each suffices.

    Returns (teams, users, roles, leads, queues by team id). Ids: admin 1, leads 2..T+1, agents
    after them; agents are dealt round-robin to teams so that teams are the same size.
    """
    rng = random.Random(args.seed)
    password_hash = generate_password_hash(BENCH_PASSWORD)  # once, shared: see module docstring
    families = list(QUEUE_FAMILIES)
    teams, queues = [], {}
    for t in range(1, args.teams + 1):
        family = families[(t - 1) % len(families)]
        teams.append({"id": t, "name": f"{family} {t:02d}", "description": f"{family} team",
                      "active": True, "created_at": now, "version": 1})
        queues[t] = rng.sample(QUEUE_FAMILIES[family], k=min(3, len(QUEUE_FAMILIES[family])))

    def user(uid: int, username: str, name: str, team_id: int | None) -> dict[str, Any]:
        return {"id": uid, "username": username, "email": f"{username}@bench.example",
                "display_name": name, "password_hash": password_hash, "active": True,
                "team_id": team_id, "timezone": "UTC", "auth_generation": 1,
                "created_at": now, "last_login_at": None, "version": 1}

    users = [user(1, ADMIN_USERNAME, "Bench Admin", None)]
    roles = [{"user_id": 1, "role": "admin"}]
    leads = []
    for t in range(1, args.teams + 1):
        uid = 1 + t
        users.append(user(uid, f"lead{t:03d}", f"Lead {t:03d}", None))
        roles.append({"user_id": uid, "role": "team_lead"})
        leads.append({"team_id": t, "user_id": uid})
    first_agent = 2 + args.teams
    for a in range(args.agents):
        uid = first_agent + a
        users.append(user(uid, f"agent{a + 1:04d}", f"Agent {a + 1:04d}", 1 + a % args.teams))
        roles.append({"user_id": uid, "role": "agent"})
    return teams, users, roles, leads, queues


def interactions(args: argparse.Namespace, agents: list[tuple[int, int]],
                 queues: dict[int, list[str]], now: dt.datetime) -> list[dict[str, Any]]:
    """``args.interactions`` rows spread uniformly over the last ``args.months`` months."""
    rng = random.Random(args.seed + 1)
    span_days = round(args.months * 365.25 / 12)
    customers = args.customers or max(1, args.interactions // 3)
    channels, channel_w = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
    directions, direction_w = list(DIRECTION_WEIGHTS), list(DIRECTION_WEIGHTS.values())
    n = args.interactions
    picked_channels = rng.choices(channels, channel_w, k=n)
    picked_directions = rng.choices(directions, direction_w, k=n)
    today = now.date()
    rows = []
    for i in range(n):
        agent_id, team_id = agents[rng.randrange(len(agents))]
        day = today - dt.timedelta(days=rng.randrange(span_days))
        started = dt.datetime(day.year, day.month, day.day, rng.choice(HOURS),
                              rng.randrange(60), rng.randrange(60), tzinfo=dt.UTC)
        if started > now:  # today, later than now
            started -= dt.timedelta(days=1)
        channel = picked_channels[i]
        body = CHAT_BODY if channel in ("chat", "messaging", "social") else (
            EMAIL_BODY if channel == "email" else None)
        rows.append({
            "source": SOURCE, "external_id": f"BENCH-{i + 1:08d}",
            "agent_id": agent_id, "team_id": team_id, "channel": channel,
            "queue": rng.choice(queues[team_id]), "direction": picked_directions[i],
            "started_at": started,
            "duration_s": 0 if channel == "email" else rng.randint(60, 1200),
            "customer_ref": f"CUST-{rng.randrange(customers):07d}", "body": body,
            "recording_path": None, "recording_sha256": None, "recording_bytes": None,
            "recording_type": None, "created_at": now, "created_by_id": None, "version": 1,
        })
    return rows


def analyze(engine: Engine) -> None:
    """Fresh statistics, or the planner guesses about tables it thinks are empty."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def seed(args: argparse.Namespace) -> None:
    guard(args.database_url, args.force)
    engine = make_engine(args.database_url)
    where = engine.url.render_as_string(hide_password=True)
    print(f"Seeding {where}: {args.interactions:,} interactions, {args.agents} agents in "
          f"{args.teams} teams")
    started = time.perf_counter()
    reset_schema(engine)
    schema_s = time.perf_counter() - started

    now = dt.datetime.now(dt.UTC)
    teams, users, roles, leads, queues = people(args, now)
    agents = [(u["id"], u["team_id"]) for u in users if u["team_id"] is not None]
    generate_from = time.perf_counter()
    rows = interactions(args, agents, queues, now)
    generate_s = time.perf_counter() - generate_from

    insert_from = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Team), teams)
        conn.execute(insert(User), users)
        conn.execute(insert(UserRole), roles)
        conn.execute(insert(team_leads), leads)
        for batch in chunks(rows, args.batch):
            conn.execute(insert(Interaction.__table__), batch)
        if engine.dialect.name == "postgresql":
            # Explicit ids above leave the sequences at 1: move them past the seeded rows so
            # that the app can still create users and teams in this database.
            for table in ("teams", "users", "interactions"):
                reset = (f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                         f"(SELECT max(id) FROM {table}))")  # (three fixed names, no input)
                conn.execute(text(reset))
    insert_s = time.perf_counter() - insert_from

    analyze_from = time.perf_counter()
    analyze(engine)
    analyze_s = time.perf_counter() - analyze_from
    total_s = time.perf_counter() - started

    with engine.connect() as conn:
        counted = conn.scalar(select(func.count()).select_from(Interaction.__table__)) or 0
    engine.dispose()
    if counted != args.interactions:
        sys.exit(f"the database holds {counted:,} interactions, not {args.interactions:,}")
    total_rows = len(teams) + len(users) + len(roles) + len(leads) + len(rows)
    print(f"  schema (drop + migrations.upgrade): {schema_s:6.2f} s")
    print(f"  generating rows in Python:          {generate_s:6.2f} s")
    print(f"  bulk INSERT ({total_rows:,} rows):      {insert_s:6.2f} s "
          f"= {total_rows / insert_s:,.0f} rows/s")
    print(f"  VACUUM ANALYZE:                     {analyze_s:6.2f} s")
    print(f"Seeded {counted:,} interactions in {total_s:.1f} s "
          f"({counted / total_s:,.0f} interactions/s end to end).")
    print(f"Log in as {ADMIN_USERNAME!r} (or lead001, agent0001, ...) with {BENCH_PASSWORD!r}.")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    seed(args)
    if args.evaluations_per_agent > 0:
        # A child process, not an import: seed_evaluations.py imports this module (the lower
        # one), so importing it back would make a cycle.
        done = subprocess.run([
            sys.executable, str(Path(__file__).resolve().with_name("seed_evaluations.py")),
            "--database-url", args.database_url, "--per-agent", str(args.evaluations_per_agent),
            "--batch", str(args.batch), "--seed", str(args.seed),
            *(["--force"] if args.force else []), *(["--smoke"] if args.smoke else [])])
        if done.returncode:
            sys.exit(f"bench/seed_evaluations.py failed (exit {done.returncode})")


if __name__ == "__main__":
    main()
