"""Latency of the QA dashboard's aggregates and the evaluator distribution, in process, against
a database seeded with a year of evaluations.

Usage (after ``python bench/seed.py --evaluations-per-agent 165``: about a million answer rows
at 500 agents)::

    python bench/report_latency.py --json /tmp/report_latency.json

Each scenario is run ``--repeat`` times, one at a time, in this process, on the same engine the
app uses (no HTTP: this measures the database work and the Python around it, which is what the
issue's 0.3 s target is about). Two baselines are measured in the same run, under the same
conditions, and every figure is also given as a multiple of them:

* ``healthz``: ``GET /healthz`` through Flask's test client: the cost of a request that does
  next to nothing;
* ``python-trend``: the 12-month trend computed the way the scorecard computes one agent's,
  for everyone: every score of the period loaded into Python, bucketed by month and passed to
  ``summarise``. The SQL trend must give the same numbers; the run fails if it does not.

The scenarios: ``sql-trend`` (count, sum and sum of squares per month, ``summarise_aggregate``),
``sql-trend-by-team`` and ``-by-queue`` (the dashboard's breakdowns), ``critical-fails``,
``most-failed`` (over ``evaluation_answers``: the million rows), ``distribution`` (the existing
evaluator report's per-evaluator five numbers) and ``dashboard-page`` (the whole page, as the
admin, through the test client).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, true

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import ADMIN_USERNAME, BENCH_PASSWORD, DEFAULT_URL, add_smoke  # noqa: E402

SMOKE = {"repeat": 2}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url",
                        default=os.environ.get("QM_BENCH_DATABASE_URL", DEFAULT_URL),
                        help="A database seeded by bench/seed.py --evaluations-per-agent N "
                             "(default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=15, help="Runs of each scenario")
    parser.add_argument("--json", help="Also write the results to this file")
    add_smoke(parser, SMOKE, argv)
    return parser.parse_args(argv)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    fn()  # warm: the first run pays for the plan cache and the pages read from disk
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


def python_trend(session: Any, where: list[Any], labels: list[str], bounds: list[Any],
                 tz: ZoneInfo) -> list[Any]:
    """The baseline: every score into Python, then ``summarise`` per month."""
    from scoring.evaluations.models import Evaluation
    from scoring.reports.queries import summarise

    per: dict[str, list[float]] = defaultdict(list)
    for submitted_at, score in session.execute(
            select(Evaluation.submitted_at, Evaluation.score).where(*where)):
        local = submitted_at.astimezone(tz)
        per[f"{local.year}-{local.month:02d}"].append(float(score))
    return [summarise(per.get(label, [])) for label in labels]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from qm.app import create_app
    from scoring.evaluations.models import Evaluation, EvaluationAnswer
    from scoring.reports import queries as reports

    with tempfile.TemporaryDirectory(prefix="qm-bench-") as data_dir:
        app = create_app({"database_url": args.database_url, "data_dir": data_dir,
                          "secret_key": secrets.token_urlsafe(32),
                          "login_rate_limit": "1000 per minute", "WTF_CSRF_ENABLED": False})
        tz = ZoneInfo(app.extensions["qm"]["settings"].timezone)
        with app.app_context():
            from qm.web import db

            session = db.session
            latest = session.scalar(select(func.max(Evaluation.submitted_at)))
            if latest is None:
                sys.exit("no evaluations: seed with bench/seed.py --evaluations-per-agent N")
            local = latest.astimezone(tz)
            labels, bounds = reports.month_bounds((local.year, local.month), tz)
            filters = reports.Filters((local.year, local.month))
            where = filters.where(true(), bounds)
            answers = session.scalar(select(func.count()).select_from(EvaluationAnswer))
            evaluations = session.scalar(select(func.count()).select_from(Evaluation))
            client = app.test_client()
            response = client.post("/login", data={"username": ADMIN_USERNAME,
                                                   "password": BENCH_PASSWORD})
            if response.status_code != 302:
                sys.exit(f"logging in as {ADMIN_USERNAME!r} answered {response.status_code}")
            month = f"{local.year}-{local.month:02d}"

            def page(url: str) -> Callable[[], Any]:
                def get() -> Any:
                    got = client.get(url)
                    if got.status_code != 200:
                        raise SystemExit(f"{url} answered {got.status_code}")
                    return got
                return get

            scenarios: dict[str, Callable[[], Any]] = {
                "healthz": page("/healthz"),
                "python-trend": lambda: python_trend(session, where, labels, bounds, tz),
                "sql-trend": lambda: reports.score_trend(session, where, labels, bounds)[0],
                "sql-trend-by-team": lambda: reports.score_trend(session, where, labels,
                                                                 bounds, "team"),
                "sql-trend-by-queue": lambda: reports.score_trend(session, where, labels,
                                                                  bounds, "queue"),
                "critical-fails": lambda: reports.critical_fail_rate(session, where, labels,
                                                                     bounds),
                "most-failed": lambda: reports.most_failed_questions(session, where),
                "distribution": lambda: reports.evaluator_distributions(
                    session, [Evaluation.submitted_at >= bounds[0],
                              Evaluation.submitted_at < bounds[-1]]),
                "dashboard-page": page(f"/reports/dashboard?month={month}"),
            }
            results: dict[str, dict[str, float]] = {}
            outputs: dict[str, Any] = {}
            for name, fn in scenarios.items():
                times, outputs[name] = timed(fn, args.repeat)
                results[name] = {"median_ms": statistics.median(times),
                                 "max_ms": max(times)}
                session.rollback()
            # the SQL aggregate and the Python baseline must agree, month by month
            for label, slow, fast in zip(labels, outputs["python-trend"],
                                         [m["summary"] for m in outputs["sql-trend"].months],
                                         strict=True):
                if slow.n != fast.n or (slow.mean is not None and abs(slow.mean - fast.mean)
                                        > 1e-6):
                    sys.exit(f"{label}: the SQL trend ({fast}) differs from Python's ({slow})")
    base = results["healthz"]["median_ms"]
    old = results["python-trend"]["median_ms"]
    print(f"{app.extensions['qm']['engine'].dialect.name}: {evaluations:,} evaluations, "
          f"{answers:,} answer rows; 12 months to {month}; {args.repeat} runs each")
    print(f"{'scenario':<20} {'median ms':>10} {'max ms':>9} {'x healthz':>10} {'x python':>9}")
    for name, r in results.items():
        print(f"{name:<20} {r['median_ms']:>10.1f} {r['max_ms']:>9.1f} "
              f"{r['median_ms'] / base:>10.1f} {r['median_ms'] / old:>9.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "database": app.extensions["qm"]["engine"].dialect.name,
            "evaluations": evaluations, "answers": answers, "month": month,
            "repeat": args.repeat, "results": results}, indent=2))


if __name__ == "__main__":
    main()
