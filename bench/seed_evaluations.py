"""Add a year of evaluations to a database that bench/seed.py filled, for the evaluation pages.

Usage (after ``python bench/seed.py``, or in one go with ``seed.py --evaluations-per-agent``)::

    python bench/seed_evaluations.py --per-agent 165 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/qm_bench

What it adds (anything an earlier run added is removed first, so it can be run again):

* The demo form ``scoring/data/iso18295_voice.json``, imported and published through
  ``scoring.forms.services.import_form`` as an operator would, and one sampling rule.
* ``--evaluators`` QA evaluators, ``qa01``, ``qa02``, ... with the bench password.
* Up to ``--per-agent`` submitted evaluations per agent over the agent's interactions of the
  last 12 months (one evaluation per interaction), scored by random evaluators, submitted a few
  days after the contact. Most are released or acknowledged; a few were disputed: an open
  dispute (status ``disputed``) in the last 14 days, a decided one (upheld or adjusted, hence a
  second revision) before that. A few of the last three days wait for release (``submitted``),
  as under ``QM_RELEASE_MODE=review``.
* Each evaluator's open queue: ``--queue-min`` to ``--queue-max`` assignments (``assigned`` or
  a ``draft`` with some answers) over the last two weeks' interactions, due from two days ago to
  next week.
* For every submitted evaluation: revision 1 (and 2 after a decided dispute) and one
  ``evaluation_answers`` row per scored question of its latest revision.

The columns are filled exactly as ``scoring.evaluations.services.apply_result`` and
``record_revision`` fill them, from the real ``scoring.forms.rules.score`` of answers made by
``scoring.demo.demo_answers``.
Scoring the same 17-question form 80,000 times would only repeat a few hundred distinct
results, so ``--patterns`` answer sets (spread over agent skill levels) are scored once and
reused; an agent's skill sets which of them the agent gets, and improves a little over the year
so that the scorecard's trend has a slope. Rows go in with SQLAlchemy Core ``insert()`` in
batches, as in seed.py, with explicit ids (sequences are moved past them afterwards).

The form has at most 14 scored questions (its bonus, penalty and date questions have no row,
``acknowledges_complaint`` only when the reason is a complaint, three questions may be N/A), about
12.6 on average: a million answer rows need about 80,000 evaluations, hence 165 per agent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from qm import migrations
from qm.auth.models import User, UserRole, team_leads
from qm.auth.permissions import SystemActor
from qm.db import Base, make_engine
from qm.interactions.models import Interaction
from scoring.demo import FORM_FILE, demo_answers
from scoring.evaluations.models import Dispute, Evaluation, EvaluationAnswer, EvaluationRevision
from scoring.forms import rules
from scoring.forms import services as form_services
from scoring.sampling.draw import week_label
from scoring.sampling.models import SamplingRule

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import (  # noqa: E402
    ADMIN_USERNAME,
    BENCH_PASSWORD,
    DEFAULT_URL,
    add_smoke,
    analyze,
    guard,
)

EVALUATOR_PREFIX = "qa"
RULE_NAME = "Weekly, every team (bench)"
DISPUTE_WINDOW = dt.timedelta(days=14)  # the default QM_DISPUTE_WINDOW_DAYS
# Skill levels the answer patterns are drawn for; an agent gets the patterns of the nearest.
SKILLS = tuple(round(0.45 + 0.05 * n, 2) for n in range(11))  # 0.45 .. 0.95
COMMENT = "Thank you for this call. See the notes per question."
NOTES = ("Listen again from 2:10: the customer asked twice.",
         "Check the knowledge base article before promising a date.",
         "Good recovery after the hold; keep the customer informed while you look.")
REASON = "I did verify the customer's identity before the account change; listen at 1:10."
# --smoke: CI's run (bench/smoke.sh), the smallest sizes that still take every path (open
# queues and drafts, disputes, several batches per table) in a second or two.
SMOKE = {"per_agent": 30, "evaluators": 3, "queue_min": 2, "queue_max": 5, "patterns": 22,
         "batch": 300}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url",
                        default=os.environ.get("QM_BENCH_DATABASE_URL", DEFAULT_URL),
                        help="A database seeded by bench/seed.py (default: %(default)s)")
    parser.add_argument("--per-agent", type=int, default=165,
                        help="Submitted evaluations per agent, at most one per interaction")
    parser.add_argument("--evaluators", type=int, default=20, help="QA evaluators to create")
    parser.add_argument("--queue-min", type=int, default=20,
                        help="Open assignments per evaluator, at least ...")
    parser.add_argument("--queue-max", type=int, default=60, help="... and at most")
    parser.add_argument("--patterns", type=int, default=440,
                        help="Distinct scored answer sets, spread over the skill levels")
    parser.add_argument("--batch", type=int, default=10_000, help="Rows per executemany call")
    parser.add_argument("--seed", type=int, default=18295)
    parser.add_argument("--force", action="store_true",
                        help="Allow a database whose name does not contain 'bench'")
    add_smoke(parser, SMOKE, argv)
    args = parser.parse_args(argv)
    if args.per_agent < 0 or args.evaluators < 1 or not 0 <= args.queue_min <= args.queue_max:
        parser.error("need --per-agent >= 0, --evaluators >= 1, 0 <= --queue-min <= --queue-max")
    return args


# --- answers, scored once -------------------------------------------------------------------

@dataclass(frozen=True)
class Pattern:
    """One answer set and its result, in the shape the evaluation's columns take."""

    answers: dict[str, Any]
    notes: dict[str, str]
    score: Decimal | None
    critical_fail: bool
    critical_reasons: list[str]
    section_scores: dict[str, str | None]
    # (question_key, section_key, earned, possible, failed): the evaluation_answers rows
    rows: tuple[tuple[str, str, Decimal, Decimal, bool], ...]


def scored(form: rules.Form, answers: dict[str, Any], notes: dict[str, str]) -> Pattern:
    """What ``_apply_result`` writes for these answers."""
    result = rules.score(form, answers)
    return Pattern(
        answers, notes, result.total, result.critical_fail, list(result.critical_reasons),
        {s.key: str(s.score) if s.score is not None else None for s in result.sections},
        tuple((q.key, q.section, rules.round4(q.earned), rules.round4(q.possible), q.failed)
              for q in result.questions))


def patterns(definition: dict[str, Any], count: int,
             rng: random.Random) -> dict[float, list[Pattern]]:
    """``count`` patterns in all, the same number for each skill level."""
    form = rules.form_from_dict(definition)
    per_skill = max(2, count // len(SKILLS))
    out: dict[float, list[Pattern]] = {}
    for skill in SKILLS:
        out[skill] = []
        for _ in range(per_skill):
            answers = demo_answers(definition, rng, skill)
            failed = [k for k, v in answers.items() if v == "no"]
            notes = ({failed[0]: rng.choice(NOTES)} if failed and rng.random() < 0.5 else {})
            out[skill].append(scored(form, answers, notes))
    return out


def nearest(skill: float) -> float:
    return min(SKILLS, key=lambda s: abs(s - skill))


# --- the plan: who evaluated what, when, with which outcome ---------------------------------

@dataclass
class Planned:
    """One evaluation before it has an id; rows are made from it once ids are dealt."""

    interaction: tuple[int, int, int | None, dt.datetime]  # id, agent, team, started_at
    evaluator_id: int
    status: str
    created_at: dt.datetime
    due_on: dt.date
    pattern: Pattern | None = None  # the latest revision's answers (None: not submitted)
    first: Pattern | None = None  # revision 1, when a dispute adjusted the answers since
    draft: dict[str, Any] = field(default_factory=dict)
    submitted_at: dt.datetime | None = None
    released_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    dispute: dict[str, Any] | None = None  # raised_at, status, decided_at, decided_by_id


def plan(interactions: list[tuple[int, int, int | None, dt.datetime]],
         evaluator_ids: list[int], leads: dict[int, int], by_skill: dict[float, list[Pattern]],
         args: argparse.Namespace, now: dt.datetime) -> list[Planned]:
    rng = random.Random(args.seed + 3)
    recent = now - dt.timedelta(days=14)
    by_agent: dict[int, list[tuple[int, int, int | None, dt.datetime]]] = defaultdict(list)
    for row in interactions:
        by_agent[row[1]].append(row)
    skill = {agent: 0.5 + 0.35 * rng.random() for agent in sorted(by_agent)}

    # The open queues first, over the last two weeks' contacts.
    out: list[Planned] = []
    taken: set[int] = set()
    candidates = [row for row in interactions if row[3] >= recent]
    rng.shuffle(candidates)
    for evaluator_id in evaluator_ids:
        for _ in range(rng.randint(args.queue_min, args.queue_max)):
            if not candidates:
                break
            row = candidates.pop()
            taken.add(row[0])
            created = row[3] + dt.timedelta(hours=rng.uniform(12, 72))
            created = min(created, now - dt.timedelta(minutes=5))
            item = Planned(row, evaluator_id, "assigned", created,
                           now.date() + dt.timedelta(days=rng.randint(-2, 6)))
            if rng.random() < 0.3:  # started: a draft with the first answers saved
                answers = rng.choice(by_skill[nearest(skill[row[1]])]).answers
                keys = list(answers)[:rng.randint(2, len(answers) - 1)]
                item.status, item.draft = "draft", {k: answers[k] for k in keys}
            out.append(item)

    # Then the year of submitted evaluations.
    for agent, rows in sorted(by_agent.items()):
        eligible = [r for r in rows if r[0] not in taken and r[3] < now - dt.timedelta(days=1)]
        for row in rng.sample(eligible, min(args.per_agent, len(eligible))):
            out.append(history(row, rng.choice(evaluator_ids), leads.get(row[2] or 0),
                               skill[agent], by_skill, rng, now))
    return out


def history(row: tuple[int, int, int | None, dt.datetime], evaluator_id: int,
            lead_id: int | None, base_skill: float, by_skill: dict[float, list[Pattern]],
            rng: random.Random, now: dt.datetime) -> Planned:
    """One submitted evaluation of ``row``'s contact, with what happened to it since."""
    started = row[3]
    created = started + dt.timedelta(hours=rng.uniform(12, 72))
    submitted = created + dt.timedelta(hours=rng.uniform(2, 120))
    if submitted > now - dt.timedelta(hours=1):
        submitted = now - dt.timedelta(minutes=rng.uniform(60, 600))
        created = min(created, submitted - dt.timedelta(hours=1))
    age = now - submitted
    # Agents improve a little over the year: the trend chart has a slope.
    skill = min(0.95, base_skill + 0.08 * (1 - age.days / 365))
    pool = by_skill[nearest(skill)]
    item = Planned(row, evaluator_id, "released", created, (created + dt.timedelta(days=5)).date(),
                   pattern=rng.choice(pool), submitted_at=submitted, released_at=submitted)
    roll = rng.random()
    if age < dt.timedelta(days=3) and roll < 0.03:
        item.status, item.released_at = "submitted", None
    elif age < DISPUTE_WINDOW:
        if roll < 0.04:
            item.status = "disputed"
            item.dispute = {"raised_at": submitted + age * rng.uniform(0.2, 0.9),
                            "status": "open"}
        elif roll < 0.5:
            item.status = "acknowledged"
            item.acknowledged_at = submitted + age * rng.uniform(0.1, 0.9)
    elif roll < 0.04 and lead_id is not None:  # a decided dispute: revision 2
        raised = submitted + dt.timedelta(days=rng.uniform(0.5, 5))
        decided = raised + dt.timedelta(days=rng.uniform(0.5, 4))
        outcome = "adjusted" if rng.random() < 0.4 else "upheld"
        item.dispute = {"raised_at": raised, "status": outcome, "decided_at": decided,
                        "decided_by_id": lead_id}
        if outcome == "adjusted":
            item.first = item.pattern
            item.pattern = next((p for p in rng.sample(pool, len(pool))
                                 if p.answers != item.first.answers), item.pattern)
        item.released_at = decided  # the agent's window restarts with the decision
        if rng.random() < 0.5:
            item.status, item.acknowledged_at = "acknowledged", decided + dt.timedelta(days=1)
    elif roll < 0.66:
        item.status = "acknowledged"
        item.acknowledged_at = submitted + dt.timedelta(days=rng.uniform(0.1, 5))
    return item


# --- rows ----------------------------------------------------------------------------------

@dataclass
class Rows:
    evaluations: list[dict[str, Any]]
    disputes: list[dict[str, Any]]
    revisions: list[dict[str, Any]]
    answers: int  # how many evaluation_answers rows ``answer_rows`` will give


def to_rows(planned: list[Planned], version_id: int, rule_id: int) -> Rows:
    """Ids dealt in creation order, as the app would have dealt them."""
    planned.sort(key=lambda p: (p.created_at, p.interaction[0]))
    evaluations, disputes, revisions = [], [], []
    answers = 0
    for eid, p in enumerate(planned, start=1):
        interaction_id, agent_id, team_id, started = p.interaction
        latest = p.pattern
        revision = 0 if latest is None else (2 if p.dispute and "decided_at" in p.dispute else 1)
        answers += len(latest.rows) if latest else 0
        evaluations.append({
            "id": eid, "interaction_id": interaction_id, "agent_id": agent_id,
            "team_id": team_id, "evaluator_id": p.evaluator_id, "form_version_id": version_id,
            "status": p.status, "answers": latest.answers if latest else p.draft,
            "notes": latest.notes if latest else {}, "comment": COMMENT if latest else "",
            "score": latest.score if latest else None,
            "critical_fail": latest.critical_fail if latest else False,
            "critical_reasons": latest.critical_reasons if latest else [],
            "section_scores": latest.section_scores if latest else {},
            "revision": revision, "sampling_rule_id": rule_id,
            "sample_week": week_label(started.date()), "due_on": p.due_on,
            "created_at": p.created_at, "created_by_id": None, "submitted_at": p.submitted_at,
            "released_at": p.released_at,
            "released_by_id": p.evaluator_id if p.released_at else None,
            "acknowledged_at": p.acknowledged_at,
            "acknowledgement": "Thanks, understood." if p.acknowledged_at else "",
            "dispute_count": 1 if p.dispute else 0,
            "version": 1 + (p.status == "draft") + bool(latest) + bool(p.acknowledged_at)
            + (2 if p.dispute and "decided_at" in p.dispute else 1 if p.dispute else 0),
        })
        if latest is None:
            continue
        dispute_id = None
        if p.dispute:
            dispute_id = len(disputes) + 1
            decided = p.dispute.get("decided_at")
            disputes.append({
                "id": dispute_id, "evaluation_id": eid, "number": 1, "raised_by_id": agent_id,
                "raised_at": p.dispute["raised_at"], "reason": REASON,
                "status": p.dispute["status"], "decided_by_id": p.dispute.get("decided_by_id"),
                "decided_at": decided,
                "outcome": f"Dispute {p.dispute['status']} after listening again." if decided
                else "", "version": 2 if decided else 1})
        first = p.first or latest
        revisions.append(revision_row(len(revisions) + 1, eid, 1, "submitted", version_id, first,
                                      p.evaluator_id, p.submitted_at, None))
        if revision == 2:
            assert p.dispute is not None
            revisions.append(revision_row(len(revisions) + 1, eid, 2, p.dispute["status"],
                                          version_id, latest, p.dispute["decided_by_id"],
                                          p.dispute["decided_at"], dispute_id))
    return Rows(evaluations, disputes, revisions, answers)


def revision_row(rid: int, evaluation_id: int, number: int, kind: str, version_id: int,
                 p: Pattern, author_id: int | None, at: dt.datetime | None,
                 dispute_id: int | None) -> dict[str, Any]:
    """What ``scoring.evaluations._revision`` writes."""
    return {"id": rid, "evaluation_id": evaluation_id, "number": number, "kind": kind,
            "form_version_id": version_id, "answers": p.answers, "notes": p.notes,
            "comment": COMMENT, "score": p.score, "critical_fail": p.critical_fail,
            "critical_reasons": p.critical_reasons, "section_scores": p.section_scores,
            "dispute_id": dispute_id, "author_id": author_id, "created_at": at}


def answer_rows(planned: list[Planned]) -> Iterator[dict[str, Any]]:
    """The latest revision's scored questions (``planned`` in id order, as ``to_rows`` left it)."""
    for eid, p in enumerate(planned, start=1):
        if p.pattern is None:
            continue
        for key, section, earned, possible, failed in p.pattern.rows:
            yield {"evaluation_id": eid, "question_key": key, "section_key": section,
                   "earned": earned, "possible": possible, "failed": failed}


def batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- the database --------------------------------------------------------------------------

EVALUATION_TABLES = ("evaluation_answers", "evaluation_revisions", "disputes", "evaluations",
                     "sampling_rules", "form_versions", "scoring_forms")
# What seed.py loaded: clearing the evaluations must never reach these.
SEEDED_TABLES = ("interactions", "users", "teams", "user_roles", "team_leads")


def tables_to_clear() -> list[str]:
    """EVALUATION_TABLES and every table that points at them, directly or not (calibration
    sessions point at form versions, their items and scores at the sessions, ...), dependents
    first. Read from the models' metadata, so that a table added later is cleared too instead
    of making TRUNCATE fail."""
    migrations.load_models()  # every model module, so that the metadata knows every table
    unknown = set(EVALUATION_TABLES) - set(Base.metadata.tables)
    if unknown:
        raise SystemExit(f"no such tables in the models: {sorted(unknown)}: update "
                         "EVALUATION_TABLES in bench/seed_evaluations.py")
    doomed = set(EVALUATION_TABLES)
    grew = True
    while grew:
        more = {t.name for t in Base.metadata.sorted_tables
                if t.name not in doomed and any(fk.column.table.name in doomed
                                                for fk in t.foreign_keys)}
        doomed |= more
        grew = bool(more)
    seeded = sorted(doomed & set(SEEDED_TABLES))
    if seeded:
        raise SystemExit(f"clearing the evaluations would clear {seeded}, which seed.py filled "
                         "(one of them now points at an evaluation table): rerun bench/seed.py")
    return [t.name for t in reversed(Base.metadata.sorted_tables) if t.name in doomed]


def clear(engine: Engine) -> None:
    """Remove what an earlier run added: evaluations, the form, the rule, the evaluators (and
    whatever points at them, such as calibration sessions on the form)."""
    tables = tables_to_clear()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY"))
        else:
            for table in tables:  # dependents first, for the foreign keys
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - names of the models
        conn.execute(User.__table__.delete().where(
            User.username.like(f"{EVALUATOR_PREFIX}%"), User.email.like("%@bench.example")))


def import_form(engine: Engine) -> tuple[int, int, dict[str, Any]]:
    """(form id, published version id, definition), imported the way an operator would."""
    with Session(engine) as session:
        version = form_services.import_form(session, SystemActor("bench"),
                                       json.loads(FORM_FILE.read_text("utf-8")), publish=True)
        session.commit()
        return version.form_id, version.id, version.definition


def people(conn: Connection, args: argparse.Namespace, now: dt.datetime) -> tuple[
        list[dict[str, Any]], list[int], dict[int, int]]:
    """(new evaluator rows, their ids, lead user id by team id)."""
    first = (conn.scalar(select(func.max(User.id))) or 0) + 1
    # The admin's hash is of the same password: one hash less to compute.
    password_hash = conn.scalar(select(User.password_hash).where(
        User.username == ADMIN_USERNAME)) or generate_password_hash(BENCH_PASSWORD)
    users = [{"id": first + n, "username": f"{EVALUATOR_PREFIX}{n + 1:02d}",
              "email": f"{EVALUATOR_PREFIX}{n + 1:02d}@bench.example",
              "display_name": f"QA Evaluator {n + 1:02d}", "password_hash": password_hash,
              "active": True, "team_id": None, "timezone": "UTC", "auth_generation": 1,
              "created_at": now, "last_login_at": None, "version": 1}
             for n in range(args.evaluators)]
    leads = {team: user for team, user in conn.execute(
        select(team_leads.c.team_id, func.min(team_leads.c.user_id))
        .group_by(team_leads.c.team_id))}
    return users, [u["id"] for u in users], leads


def reset_sequences(conn: Connection) -> None:
    for table in ("users", "evaluations", "disputes", "evaluation_revisions"):
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))  # fixed names


def seed_evaluations(args: argparse.Namespace) -> None:
    guard(args.database_url, args.force)
    engine = make_engine(args.database_url)
    where = engine.url.render_as_string(hide_password=True)
    with engine.connect() as conn:
        interactions = [tuple(r) for r in conn.execute(select(
            Interaction.id, Interaction.agent_id, Interaction.team_id, Interaction.started_at)
            .order_by(Interaction.id))]
    if not interactions:
        sys.exit("the database has no interactions: run bench/seed.py first")
    print(f"Seeding evaluations into {where}: up to {args.per_agent} per agent, "
          f"{args.evaluators} evaluators with {args.queue_min}-{args.queue_max} open each")
    timings: dict[str, float] = {}
    started = time.perf_counter()

    clear(engine)
    timings["clear earlier evaluations"] = time.perf_counter() - started
    mark = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    form_id, version_id, definition = import_form(engine)
    with engine.begin() as conn:
        users, evaluator_ids, leads = people(conn, args, now)
        conn.execute(insert(User), users)
        conn.execute(insert(UserRole), [{"user_id": uid, "role": "qa_evaluator"}
                                        for uid in evaluator_ids])
        rule_id = conn.execute(insert(SamplingRule).returning(SamplingRule.id), {
            "name": RULE_NAME, "team_id": None, "queue": "", "channel": "", "per_agent": 3,
            "evaluator_daily_cap": 20, "form_id": form_id, "active": True, "created_at": now,
            "version": 1}).scalar_one()
    timings["form, rule, evaluators"] = time.perf_counter() - mark

    mark = time.perf_counter()
    by_skill = patterns(definition, args.patterns, random.Random(args.seed + 2))
    timings["scoring the answer patterns"] = time.perf_counter() - mark
    mark = time.perf_counter()
    planned = plan(interactions, evaluator_ids, leads, by_skill, args, now)
    rows = to_rows(planned, version_id, rule_id)
    timings["planning the evaluations"] = time.perf_counter() - mark

    inserted: dict[str, tuple[int, float]] = {}
    with engine.begin() as conn:
        for name, table, data in (
                ("evaluations", Evaluation.__table__, rows.evaluations),
                ("disputes", Dispute.__table__, rows.disputes),
                ("evaluation_revisions", EvaluationRevision.__table__, rows.revisions),
                ("evaluation_answers", EvaluationAnswer.__table__, answer_rows(planned))):
            mark = time.perf_counter()
            count = 0
            for batch in batches(data, args.batch):
                conn.execute(insert(table), batch)
                count += len(batch)
            inserted[name] = (count, time.perf_counter() - mark)
        if engine.dialect.name == "postgresql":
            reset_sequences(conn)
    assert inserted["evaluation_answers"][0] == rows.answers

    mark = time.perf_counter()
    analyze(engine)
    timings["VACUUM ANALYZE"] = time.perf_counter() - mark
    total_s = time.perf_counter() - started

    with engine.connect() as conn:
        statuses = dict(conn.execute(select(Evaluation.status, func.count())
                                     .group_by(Evaluation.status)).all())
        counted = {name: conn.scalar(text(f"SELECT count(*) FROM {name}"))  # noqa: S608
                   for name in EVALUATION_TABLES[:4]}
    engine.dispose()
    for step, seconds in timings.items():
        if step != "VACUUM ANALYZE":
            print(f"  {step + ':':<46}{seconds:7.2f} s")
    for name, (count, seconds) in inserted.items():
        print(f"  {f'INSERT {name} ({count:,} rows):':<46}{seconds:7.2f} s "
              f"= {count / seconds if seconds else 0:,.0f} rows/s")
    print(f"  {'VACUUM ANALYZE:':<46}{timings['VACUUM ANALYZE']:7.2f} s")
    per_status = ", ".join(f"{s} {n:,}" for s, n in sorted(statuses.items()))
    print(f"Seeded {counted['evaluations']:,} evaluations ({per_status}), "
          f"{counted['evaluation_revisions']:,} revisions, {counted['disputes']:,} disputes, "
          f"{counted['evaluation_answers']:,} answer rows in {total_s:.1f} s.")
    queues = Counter(p.evaluator_id for p in planned if p.pattern is None)
    print(f"Open assignments per evaluator: {min(queues.values())} to {max(queues.values())}; "
          f"log in as {EVALUATOR_PREFIX}01 ... {EVALUATOR_PREFIX}{args.evaluators:02d} "
          f"with {BENCH_PASSWORD!r}.")


def main(argv: list[str] | None = None) -> None:
    seed_evaluations(parse_args(argv))


if __name__ == "__main__":
    main()
