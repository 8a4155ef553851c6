"""Named flags stored on PostgreSQL (issue 16) and the review queue over their results, against
baselines measured in the same run.

Usage::

    python bench/flag_store.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/qm_bench_flags \\
        [--transcripts 10000] [--runs 30] [--markdown FILE] [--json FILE]
    python bench/flag_store.py --smoke --database-url URL   # what CI runs (bench/smoke.sh)

The database is WIPED (``DROP SCHEMA public CASCADE``, then ``migrations.upgrade``, as
``seed.py`` does). Its name must start with ``qm_bench`` and it must be on this machine.

What it loads: one admin, ``--teams`` teams with a lead each, ``--agents`` agents, and
``--transcripts`` calls made by ``bench/flagging.py``'s generator (8-40 turns with word times,
metrics, a quarter as many customers as calls, over 90 days), each stored as an
``Interaction`` (voice) and its ``Transcript``, by bulk Core inserts as ``seed.py`` does (not
audited: loading benchmark data is not a change of record). Then, through the services, as a
site would: ``install_starter`` (the rules of ``STARTER_RULES`` in use) and the three
classifiers trained on their shipped labelled sets (``shipped_labels``, 5-fold
cross-validation and threshold) and activated.

What is measured:

1. **Stored flagging**: ``check_period`` over every transcript, ``--batch`` at a time,
   committing after each chunk as ``qm flagging check`` does: it reads the transcripts and
   their interactions, looks up the customers' earlier contacts (repeat contact), runs every
   active version and writes a ``FlagResult`` for each that fired. Transcripts per second of
   wall time and per CPU-second of this process, and the PostgreSQL backends' CPU-seconds
   (``/proc`` of the backends serving this database). **Baseline**, same run, same chunks:
   ``findings_of`` on the same transcripts already loaded in memory with their interactions
   (compute only: it still runs its one earlier-contacts query per chunk, and writes
   nothing). The ratio stored / compute only, and the results written, which must equal what
   the baseline found.
2. **Re-scoring with a new version**: ``revise_rule`` adds and activates version 2 of
   "cancellation (phrases)" (one phrase more), then ``check_period`` with only that version
   (``qm flagging check --flag NAME``) and with every active version (plain ``qm flagging
   check``, which rewrites what has not changed). Fails unless version 1's results are all
   still there, untouched, and version 2 found at least as much.
3. **The review queue**: one ``--verdicts`` share of the flagged (interaction, flag) pairs gets
   a rejection (bulk-inserted) so that the queue's "already judged" test has rows to find,
   then ``ANALYZE``. Interleaved, ``--runs`` times each, each in a fresh session whose viewer
   is loaded before the clock starts: ``queries.queue`` page 1 as the admin, filtered to one
   frequent and one rare flag, as a team lead (scoped), and ``queries.counts`` (the filter's
   numbers). **Baselines**: a ``SELECT 1`` round trip and ``SELECT count(*) FROM
   interactions``. p50 and p95, and their ratio to the baselines'.

No evaluations are stored: every flagged interaction is open, and the queue's "no evaluation
yet" test looks into an empty table. Results go to stdout, and with ``--markdown FILE`` as a
bench/README.md section (date, machine, load meanwhile), with ``--json FILE`` in full.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, event, func, insert, make_url, select, text
from sqlalchemy.orm import Session, selectinload

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flagging import CLOCK_TICKS, Meter, generate  # noqa: E402
from seed import add_smoke, analyze, chunks, guard, people, reset_schema  # noqa: E402

from qm.auth.models import Team, User, UserRole, team_leads  # noqa: E402
from qm.db import make_engine, make_session_factory  # noqa: E402
from qm.interactions.models import Interaction  # noqa: E402
from scoring.review import queries  # noqa: E402
from transcription.flagging import services  # noqa: E402
from transcription.models import (  # noqa: E402
    Flag,
    FlagResult,
    FlagVerdict,
    FlagVersion,
    Transcript,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/qm_bench_flags"
REVISED = "cancellation (phrases)"
EXTRA_PHRASE = "i want to leave"
FREQUENT, RARE = "complaint", REVISED  # the queue's per-flag filters
SMOKE = {"transcripts": 200, "agents": 6, "teams": 2, "runs": 3, "warmup": 1, "insert_batch": 100}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url",
                        default=os.environ.get("QM_BENCH_DATABASE_URL", DEFAULT_URL),
                        help="Target database, WIPED first; its name must start with qm_bench "
                             "(default: %(default)s)")
    parser.add_argument("--transcripts", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--teams", type=int, default=4)
    parser.add_argument("--batch", type=int, default=200,
                        help="check_period's chunk (its default), also the baseline's")
    parser.add_argument("--insert-batch", type=int, default=2_000, help="rows per executemany")
    parser.add_argument("--runs", type=int, default=30, help="queue measurements per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured runs per scenario")
    parser.add_argument("--verdicts", type=float, default=0.05,
                        help="share of flagged (interaction, flag) pairs given a rejection")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--markdown", type=Path, help="write the results as a README section")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    add_smoke(parser, SMOKE, argv)
    return parser.parse_args(argv)


def refuse(url: str) -> None:
    """seed.py's rule (on this machine, 'bench' in the name) and smoke.sh's: qm_bench*."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        sys.exit(f"bench/flag_store.py: a PostgreSQL URL, please, not {parsed.drivername!r}")
    guard(url, force=False)
    if not (parsed.database or "").startswith("qm_bench"):
        sys.exit(f"bench/flag_store.py: refusing to wipe {parsed.database!r}: its name does not "
                 "start with 'qm_bench'")


# --- CPU of the PostgreSQL backends serving this database ------------------------------------

def _backend_ticks(engine: Engine) -> dict[int, int] | None:
    """utime + stime of each backend connected to this database, or None where they are not
    processes of this machine we may read."""
    with engine.connect() as conn:
        pids = conn.scalars(text("SELECT pid FROM pg_stat_activity "
                                 "WHERE datname = current_database()")).all()
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


class Measured:
    """``Meter`` (wall, this process's CPU, the rest of the machine's) plus the CPU-seconds of
    this database's backends; the rest of the machine then less them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Measured:
        self._ticks = _backend_ticks(self.engine)
        self.meter = Meter().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.meter.__exit__(*exc)
        after = _backend_ticks(self.engine)
        m = self.meter
        self.wall, self.cpu = m.wall, m.cpu
        if self._ticks is None or after is None:
            self.db_cpu: float | None = None
            self.other = m.other
        else:
            self.db_cpu = sum(t - self._ticks.get(pid, 0) for pid, t in after.items()
                              ) / CLOCK_TICKS
            self.other = max(0.0, m.other - self.db_cpu / m.wall) if m.wall else 0.0

    def row(self, items: int, **more: Any) -> dict[str, Any]:
        return {"items": items, "wall_s": round(self.wall, 2), "cpu_s": round(self.cpu, 2),
                "db_cpu_s": None if self.db_cpu is None else round(self.db_cpu, 2),
                "other_cpus": round(self.other, 2),
                "per_s": round(items / self.wall, 1) if self.wall else math.inf,
                "per_cpu_s": round(items / self.cpu, 1) if self.cpu else math.inf, **more}


# --- loading --------------------------------------------------------------------------------

def load(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    """Wipe, migrate, then people, interactions and transcripts by bulk inserts."""
    t0 = time.perf_counter()
    reset_schema(engine)
    schema_s = time.perf_counter() - t0
    now = dt.datetime.now(dt.UTC)
    teams, users, roles, leads, queues = people(
        SimpleNamespace(seed=args.seed, teams=args.teams, agents=args.agents), now)
    agents = [(u["id"], u["team_id"]) for u in users if u["team_id"] is not None]
    t1 = time.perf_counter()
    calls = generate(args.transcripts, args.seed)
    generate_s = time.perf_counter() - t1
    rng = random.Random(args.seed)
    interactions, transcripts = [], []
    for call in calls:
        agent_id, team_id = agents[rng.randrange(len(agents))]
        interactions.append({
            "id": call["id"], "source": "bench", "external_id": f"FLAGS-{call['id']:08d}",
            "agent_id": agent_id, "team_id": team_id, "channel": "voice",
            "queue": rng.choice(queues[team_id]), "direction": "inbound",
            "started_at": call["at"], "duration_s": round(call["duration_s"]),
            "customer_ref": f"CUST-{call['customer']:07d}", "body": None,
            "recording_path": None, "recording_sha256": None, "recording_bytes": None,
            "recording_type": None, "created_at": now, "created_by_id": None, "version": 1})
        transcripts.append({
            "interaction_id": call["id"], "audio_sha256": None, "source": "audio",
            "language": "en", "duration_s": call["duration_s"], "model": "bench",
            "settings": {}, "text": call["text"], "raw_text": None,
            "segments": call["segments"], "metrics": call["metrics"], "redactions": {},
            "warnings": [], "processing_s": 0.0, "created_at": now})
    del calls
    t2 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Team), teams)
        conn.execute(insert(User), users)
        conn.execute(insert(UserRole), roles)
        conn.execute(insert(team_leads), leads)
        for batch in chunks(interactions, args.insert_batch):
            conn.execute(insert(Interaction.__table__), batch)
        for batch in chunks(transcripts, args.insert_batch):
            conn.execute(insert(Transcript.__table__), batch)
        for table in ("teams", "users", "interactions"):  # past the explicit ids, as seed.py
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                              f"(SELECT max(id) FROM {table}))"))  # (fixed names, no input)
    insert_s = time.perf_counter() - t2
    analyze(engine)
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Transcript.__table__))
    if stored != args.transcripts:
        sys.exit(f"the database holds {stored} transcripts, not {args.transcripts}")
    print(f"loaded {stored:,} interactions + transcripts: schema {schema_s:.1f} s, generating "
          f"{generate_s:.1f} s, bulk insert {insert_s:.1f} s", flush=True)
    return {"transcripts": stored, "schema_s": round(schema_s, 2),
            "generate_s": round(generate_s, 2), "insert_s": round(insert_s, 2),
            "leads": [lead["user_id"] for lead in leads]}


def install_flags(factory: Callable[[], Session]) -> dict[str, Any]:
    """What a site does: the starter flags, the classifiers trained on the shipped sets and
    put in use (through the services, audited)."""
    t0 = time.perf_counter()
    with factory() as session:
        admin = session.get(User, 1)
        services.install_starter(session, admin)
        for name in services.CLASSIFIERS:
            texts, labels = services.shipped_labels(name)
            services.train_classifier(session, admin, name, texts=texts, labels=labels,
                                      source="the shipped labelled set", activate_it=True)
        session.commit()
        versions = services.active_versions(session)
        for version in versions:  # the model cache of the process, warm for both paths
            if version.payload:
                services.trained_of(version)
        names = [v.flag.name for v in versions]
    train_s = time.perf_counter() - t0
    print(f"flags in use: {len(names)} ({', '.join(names)}); installed and trained in "
          f"{train_s:.1f} s", flush=True)
    return {"active": names, "train_s": round(train_s, 2)}


# --- 1. stored flagging and its baseline ----------------------------------------------------

def compute_only(engine: Engine, factory: Callable[[], Session], batch: int
                 ) -> tuple[dict[str, Any], int]:
    """``findings_of`` on every transcript, loaded beforehand with its interaction."""
    with factory() as session:
        versions = services.active_versions(session)
        loaded = session.scalars(select(Transcript).options(selectinload(Transcript.interaction))
                                 .order_by(Transcript.id)).all()
        fired = 0
        with Measured(engine) as m:
            for start in range(0, len(loaded), batch):
                found = services.findings_of(session, versions, loaded[start:start + batch])
                fired += sum(f.fired for findings in found.values() for f in findings)
        session.rollback()
    return m.row(len(loaded), fired=fired), fired


def stored(engine: Engine, factory: Callable[[], Session], batch: int,
           versions: list[int] | None = None) -> dict[str, Any]:
    """``check_period`` over everything, committing after each chunk as the CLI does."""
    with factory() as session:
        use = None if versions is None else [session.get(FlagVersion, v) for v in versions]
        with Measured(engine) as m:
            checked, fired = services.check_period(session, versions=use, batch=batch,
                                                   on_chunk=lambda *_: session.commit())
            session.commit()
    return m.row(checked, fired=fired)


def results_by_version(engine: Engine) -> dict[int, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(FlagResult.version_id, func.count())
                                 .group_by(FlagResult.version_id)).all())


def fired_by_flag(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(
            select(Flag.name, func.count(FlagResult.id))
            .join(FlagVersion, FlagVersion.flag_id == Flag.id)
            .join(FlagResult, FlagResult.version_id == FlagVersion.id)
            .where(Flag.active_number == FlagVersion.number)
            .group_by(Flag.name).order_by(Flag.name)).all())


# --- 2. re-scoring with a new version -------------------------------------------------------

def snapshot(engine: Engine, version_id: int) -> dict[int, tuple[float, Any, Any]]:
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(
            select(FlagResult.interaction_id, FlagResult.score, FlagResult.evidence,
                   FlagResult.created_at).where(FlagResult.version_id == version_id))}


def rescore(engine: Engine, factory: Callable[[], Session], batch: int) -> dict[str, Any]:
    with factory() as session:
        admin = session.get(User, 1)
        flag = services.get_flag(session, REVISED)
        old = services.active_version(session, flag)
        assert old is not None
        params = dict(old.params, phrases=[*old.params["phrases"], EXTRA_PHRASE])
        new = services.revise_rule(session, admin, REVISED, params, note="bench: one phrase more")
        session.commit()
        old_id, new_id, old_number, new_number = old.id, new.id, old.number, new.number
    assert new_id != old_id, "revise_rule added no version"
    before = snapshot(engine, old_id)
    out: dict[str, Any] = {"flag": REVISED, "old": old_number, "new": new_number,
                           "old_results": len(before)}
    out["new version only"] = stored(engine, factory, batch, versions=[new_id])
    print(f"re-score, {REVISED} v{new_number} only: {out['new version only']}", flush=True)
    after_one = snapshot(engine, old_id)
    out["every active version"] = stored(engine, factory, batch)
    print(f"re-score, every active version: {out['every active version']}", flush=True)
    after_all = snapshot(engine, old_id)
    new_results = results_by_version(engine).get(new_id, 0)
    out["new_results"] = new_results
    # The old version's results stay, untouched, beside the new version's.
    assert after_one == before, f"v{old_number}'s results changed (re-scoring v{new_number})"
    assert after_all == before, f"v{old_number}'s results changed (re-scoring everything)"
    assert new_results >= len(before), (new_results, len(before))
    out["old_kept"] = True
    return out


# --- 3. the review queue ----------------------------------------------------------------------

def add_verdicts(engine: Engine, share: float, seed: int) -> int:
    """Reject ``share`` of the flagged (interaction, flag) pairs of the versions in use, as an
    evaluator's dismissal would (bulk, not audited), then ANALYZE."""
    with engine.connect() as conn:
        pairs = sorted(conn.execute(
            select(FlagResult.interaction_id, Flag.id, FlagVersion.id)
            .join(FlagVersion, FlagVersion.id == FlagResult.version_id)
            .join(Flag, Flag.id == FlagVersion.flag_id)
            .where(Flag.active_number == FlagVersion.number)).all())
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    rows = [{"interaction_id": i, "flag_id": f, "version_id": v, "verdict": "rejected",
             "reason": "bench: not what it looks like", "text": "", "actor_id": 1,
             "created_at": now} for i, f, v in pairs if rng.random() < share]
    with engine.begin() as conn:
        for batch in chunks(rows, 2_000):
            conn.execute(insert(FlagVerdict.__table__), batch)
    analyze(engine)
    return len(rows)


def percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class Statements:
    """Statements run on ``engine`` and the time spent in them (from sending each to having
    its rows, server and transfer), while listening."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.count, self.seconds, self._t0 = engine, 0, 0.0, 0.0

    def _before(self, *_args: Any) -> None:
        self._t0 = time.perf_counter()

    def _after(self, *_args: Any) -> None:
        self.count += 1
        self.seconds += time.perf_counter() - self._t0

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def queue_latency(engine: Engine, factory: Callable[[], Session], runs: int, warmup: int,
                  lead_id: int) -> dict[str, Any]:
    with factory() as session:
        ids = dict(session.execute(select(Flag.name, Flag.id)).all())
    scenarios: dict[str, tuple[int, Callable[[Session, Any], Any]]] = {
        "SELECT 1 (baseline)": (1, lambda s, _v: s.execute(text("SELECT 1")).scalar()),
        "count of interactions (baseline)": (
            1, lambda s, _v: s.scalar(select(func.count()).select_from(Interaction))),
        "queue, admin, page 1": (1, lambda s, v: queries.queue(s, v, page=1)),
        f"queue, admin, only '{FREQUENT}'": (
            1, lambda s, v: queries.queue(s, v, flag_id=ids[FREQUENT], page=1)),
        f"queue, admin, only '{RARE}'": (
            1, lambda s, v: queries.queue(s, v, flag_id=ids[RARE], page=1)),
        "queue, team lead, page 1": (lead_id, lambda s, v: queries.queue(s, v, page=1)),
        "filter counts (queries.counts), admin": (1, lambda s, v: queries.counts(s, v)),
    }
    times: dict[str, list[float]] = {name: [] for name in scenarios}
    sql: dict[str, list[float]] = {name: [] for name in scenarios}
    sizes: dict[str, Any] = {}
    for n in range(warmup + runs):
        for name, (viewer_id, call) in scenarios.items():  # interleaved: same load for each
            with factory() as session:
                viewer = session.get(User, viewer_id)  # connection and viewer: not timed
                with Statements(engine) as statements:
                    t0 = time.perf_counter()
                    out = call(session, viewer)
                    elapsed = time.perf_counter() - t0
                session.rollback()
            if n >= warmup:
                times[name].append(elapsed * 1000)
                sql[name].append(statements.seconds * 1000)
                sizes.setdefault(name, {})["statements"] = statements.count
            if name.startswith("queue"):
                items, total = out
                sizes.setdefault(name, {}).update(
                    shown=len(items), total=total, reasons=sum(len(i.reasons) for i in items))
    base_ms = statistics.median(times["SELECT 1 (baseline)"])
    count_ms = statistics.median(times["count of interactions (baseline)"])
    out: dict[str, Any] = {}
    for name, values in times.items():
        p50, p95 = statistics.median(values), percentile(values, 95)
        out[name] = {"runs": len(values), "p50_ms": round(p50, 2), "p95_ms": round(p95, 2),
                     "max_ms": round(max(values), 2),
                     "sql_p50_ms": round(statistics.median(sql[name]), 2),
                     "p50_vs_select1": round(p50 / base_ms, 1),
                     "p50_vs_count": round(p50 / count_ms, 2), **sizes.get(name, {})}
        print(f"{name}: {out[name]}", flush=True)
    return out


# --- report ---------------------------------------------------------------------------------

def markdown(r: dict[str, Any], args: argparse.Namespace) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    n = r["load"]["transcripts"]
    base, st = r["compute only"], r["stored"]
    lines = [
        "# Benchmark: stored flags and the review queue (issue 16)",
        "",
        f"`bench/flag_store.py`, measured {r['date']} on {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, {r['postgresql']}; load average "
        f"{r['load_before']} before, {r['load_after']} after (other sessions' work on the same "
        "machine). One client process; PostgreSQL on the same machine. Per CPU-s = transcripts "
        "per CPU-second of the benchmark's own process; PostgreSQL's CPU is that of the backends "
        "serving this database (`/proc`), beside it.",
        "",
        f"**Data**: {n:,} generated calls (`bench/flagging.py`'s generator) stored as "
        f"interactions and transcripts over 90 days, {args.agents} agents in {args.teams} teams "
        f"(bulk insert {r['load']['insert_s']} s). Flags in use: the "
        f"{len(r['flags']['active']) - 3} starter rules and the three classifiers trained on "
        "the shipped sets "
        f"(installed, trained and activated through the services in {r['flags']['train_s']} s).",
        "",
        f"**1. Flagging every stored transcript** (`check_period`, chunks of {args.batch}, a "
        "commit after each):",
        "",
        "| what | wall s | CPU s | PostgreSQL CPU s | other CPUs busy | transcripts/s | "
        "per CPU-s | vs compute only (wall / CPU) |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def row(label: str, x: dict[str, Any]) -> str:
        return (f"| {label} | {x['wall_s']} | {x['cpu_s']} | {x['db_cpu_s']} | "
                f"{x['other_cpus']} | {x['per_s']:,} | {x['per_cpu_s']:,} | "
                f"{x['per_s'] / base['per_s']:.2f} / {x['per_cpu_s'] / base['per_cpu_s']:.2f} |")

    lines += [row("`findings_of` on loaded transcripts, compute only (baseline)", base),
              row("`check_period`, stored", st)]
    lines += [
        "",
        f"Results written: **{st['fired']:,}** (the baseline found {base['fired']:,}); "
        f"{r['flagged_interactions']:,} interactions with at least one. By flag: "
        + ", ".join(f"{k} {v:,}" for k, v in r["fired_by_flag"].items()) + ".",
        "",
    ]
    rs = r["rescore"]
    lines += [
        f"**2. Re-scoring with a new version**: version {rs['new']} of '{rs['flag']}' (one "
        f"phrase more) added and activated, then `check_period` again. Version {rs['old']}'s "
        f"{rs['old_results']:,} results were all kept unchanged (asserted); version "
        f"{rs['new']} wrote {rs['new_results']:,}.",
        "",
        "| what | wall s | CPU s | PostgreSQL CPU s | transcripts/s | vs first check (wall) |",
        "|---|---|---|---|---|---|",
    ]
    for label, key in (("only the new version (`qm flagging check --flag`)", "new version only"),
                       ("every active version (plain `qm flagging check`)",
                        "every active version")):
        x = rs[key]
        lines.append(f"| {label} | {x['wall_s']} | {x['cpu_s']} | {x['db_cpu_s']} | "
                     f"{x['per_s']:,} | {x['wall_s'] / st['wall_s']:.2f}x |")
    q = r["queue"]
    lines += [
        "",
        f"**3. The review queue** ({r['verdicts']:,} of the flagged (interaction, flag) pairs "
        f"rejected beforehand, {args.verdicts:.0%}; no evaluations; `ANALYZE` after loading). "
        f"{args.runs} runs of each, interleaved, after {args.warmup} unmeasured; each in a fresh "
        "session, its viewer loaded before the clock starts:",
        "",
        "| what | p50 ms | p95 ms | max ms | p50 vs SELECT 1 | p50 vs count | "
        "in SQL, p50 ms (statements) | in queue |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, x in q.items():
        held = f"{x['total']:,}" if "total" in x else ""
        lines.append(f"| {name} | {x['p50_ms']} | {x['p95_ms']} | {x['max_ms']} | "
                     f"{x['p50_vs_select1']}x | {x['p50_vs_count']}x | "
                     f"{x['sql_p50_ms']} ({x['statements']}) | {held} |")
    lines += ["", f"Command: `python bench/flag_store.py --database-url URL --transcripts {n}"
                  f" --runs {args.runs}`.", ""]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    refuse(args.database_url)
    engine = make_engine(args.database_url)
    factory = make_session_factory(engine)
    r: dict[str, Any] = {"date": dt.date.today().isoformat(),
                         "load_before": " / ".join(f"{v:.2f}" for v in os.getloadavg())}
    with engine.connect() as conn:
        r["postgresql"] = "PostgreSQL " + str(conn.scalar(text("SHOW server_version")))
    r["load"] = load(engine, args)
    r["flags"] = install_flags(factory)

    r["compute only"], found = compute_only(engine, factory, args.batch)
    print(f"compute only: {r['compute only']}", flush=True)
    r["stored"] = stored(engine, factory, args.batch)
    print(f"stored: {r['stored']}", flush=True)
    written = sum(results_by_version(engine).values())
    assert r["stored"]["fired"] == written == found, (r["stored"]["fired"], written, found)
    r["fired_by_flag"] = fired_by_flag(engine)
    with engine.connect() as conn:
        r["flagged_interactions"] = conn.scalar(
            select(func.count(func.distinct(FlagResult.interaction_id))))

    r["rescore"] = rescore(engine, factory, args.batch)
    r["verdicts"] = add_verdicts(engine, args.verdicts, args.seed)
    r["queue"] = queue_latency(engine, factory, args.runs, args.warmup, r["load"]["leads"][0])
    r["load_after"] = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    engine.dispose()
    return r


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    r = run(args)
    if args.smoke:  # every path ran; nothing fired or an empty queue means something broke
        assert r["stored"]["fired"] > 0, r["stored"]
        assert any(r["fired_by_flag"].get(f, 0) for f in services.CLASSIFIERS), r["fired_by_flag"]
        assert r["queue"]["queue, admin, page 1"]["shown"] > 0, r["queue"]
        assert r["queue"]["queue, admin, page 1"]["reasons"] > 0, r["queue"]
    text_ = markdown(r, args)
    print(text_)
    if args.markdown:
        args.markdown.write_text(text_, "utf-8")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2, default=str), "utf-8")
    print(f"bench/flag_store.py: done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
