"""Time the clause-6 evidence pack (``qm.evidence.build``) for a seeded site, and its peak
Python memory (tracemalloc), to check the issue's bound: "built in minutes at most for 500
agents x 1 year, streamed, never all in memory".

Usage (after ``python bench/seed.py --evaluations-per-agent N`` or
``python bench/seed_competencies.py`` on the same database)::

    python bench/evidence_pack.py --database-url sqlite:////tmp/qm_bench.sqlite3 \\
        --from 2025-12-01 --to 2026-11-30

The pack is written to a temporary file (removed after); the script prints each file's rows
and bytes, the build's time and its peak traced memory, and exits 1 when a file's SHA-256 in
the manifest does not match the zip's.

The pack is built twice: once as it runs (timed), once under tracemalloc (its peak Python
memory; tracing slows it, so that build's time is only an upper bound). Its baseline, measured
in the same run, is ``dump``: the least a pack could cost, the period's evaluations (the
largest file) read with one plain streamed SELECT of the same 17 columns (``yield_per``) and
written with ``csv.writer`` to a temporary file: no names looked up, no other file, no zip, no
hashing. It is run once unmeasured (so that both read warm pages), then timed once before the
pack and once after; the script prints the pack's time over the mean of the two, and exits 1
when the dump's rows are not the pack's ``scoring/evaluations.csv`` rows.

``--smoke`` (CI's run, ``bench/smoke.sh``): the period defaults to the last 365 days (UTC) when
``--from``/``--to`` are not given, and the run also fails when the period holds no evaluation.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qm import evidence
from qm.auth.permissions import SystemActor
from qm.config import Settings
from qm.db import make_engine, make_session_factory

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import add_smoke  # noqa: E402

SMOKE: dict[str, Any] = {}  # no sizes to shrink: the period (below) is smoke's default
SMOKE_DAYS = 365
EVALUATIONS = "scoring/evaluations.csv"


def dump(session: Session, scope: evidence.Scope) -> tuple[int, int, float]:
    """The baseline: the period's evaluations, the columns the pack's evaluations file reads,
    in one plain streamed SELECT written by ``csv.writer`` to a temporary file. Returns the
    rows, the bytes and the seconds."""
    from scoring.evaluations.models import Evaluation as e

    at = func.coalesce(e.submitted_at, e.created_at)
    stmt = (select(e.id, e.interaction_id, e.agent_id, e.team_id, e.evaluator_id,
                   e.form_version_id, e.status, e.score, e.critical_fail, e.targeted,
                   e.sampling_rule_id, e.sample_week, e.created_at, e.submitted_at,
                   e.released_at, e.acknowledged_at, e.dispute_count)
            .where(at >= scope.start_at, at < scope.end_before)
            .order_by(e.id).execution_options(yield_per=2000))
    if scope.team_id is not None:
        stmt = stmt.where(e.team_id == scope.team_id)
    rows = 0
    with tempfile.TemporaryFile() as raw:
        began = time.perf_counter()
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow([c.name for c in stmt.selected_columns])
        for row in session.execute(stmt):
            writer.writerow(row)
            rows += 1
        text.flush()
        seconds = time.perf_counter() - began
        size = raw.tell()
        text.detach()
    session.rollback()
    return rows, size, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--from", dest="start", type=dt.date.fromisoformat, default=None,
                        help="First day, YYYY-MM-DD (with --smoke: 365 days back)")
    parser.add_argument("--to", dest="end", type=dt.date.fromisoformat, default=None,
                        help="Last day, YYYY-MM-DD (with --smoke: today, UTC)")
    parser.add_argument("--team", default=None)
    parser.add_argument("--json", default=None, help="Also write the results here")
    add_smoke(parser, SMOKE, argv, also=f"--from {SMOKE_DAYS} days back, --to today (UTC)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.end = args.end or dt.datetime.now(dt.UTC).date()
        args.start = args.start or args.end - dt.timedelta(days=SMOKE_DAYS - 1)
    if args.start is None or args.end is None:
        parser.error("--from and --to are required (or --smoke)")

    engine = make_engine(args.database_url)
    settings = Settings(database_url=args.database_url, secret_key="bench")
    session = make_session_factory(engine, settings)()
    actor = SystemActor("bench")
    scope = evidence.scope_of(session, args.start, args.end, args.team, settings)
    evidence.load()  # the sections' imports are the app's start, not the pack's cost
    dump(session, scope)  # warm, unmeasured: the pack and the timed dumps read the same pages
    _rows, _bytes, dump_before = dump(session, scope)
    with tempfile.TemporaryFile() as out:
        began = time.perf_counter()
        built = evidence.build(session, actor, scope, out)
        seconds = time.perf_counter() - began
        session.rollback()
        size = out.tell()
        out.seek(0)
        bad = []
        with zipfile.ZipFile(out) as pack:
            for entry in built.manifest.files:
                digest = hashlib.sha256()
                with pack.open(entry.path) as stream:
                    for block in iter(lambda s=stream: s.read(1 << 20), b""):
                        digest.update(block)
                if digest.hexdigest() != entry.sha256:
                    bad.append(entry.path)
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        began = time.perf_counter()
        evidence.build(session, actor, scope, out)
        traced_seconds = time.perf_counter() - began
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        session.rollback()
    dump_rows, dump_bytes, dump_after = dump(session, scope)
    dump_seconds = (dump_before + dump_after) / 2  # timed either side of the pack: load drifts
    session.close()
    engine.dispose()
    for entry in built.manifest.files:
        rows = "" if entry.rows is None else entry.rows
        print(f"{entry.path:<60} {rows:>9} rows {entry.bytes:>12,} bytes")
    ratio = seconds / dump_seconds if dump_rows and dump_seconds else None
    print(f"pack: {len(built.manifest.files)} files, {size:,} bytes zipped, built in "
          f"{seconds:.2f} s ({traced_seconds:.2f} s traced), peak traced memory "
          f"{peak / 2**20:.1f} MiB; audit chain "
          f"{'intact' if built.manifest.audit['ok'] else 'BROKEN'}")
    print(f"dump (baseline): {dump_rows:,} evaluations, {dump_bytes:,} bytes of CSV in "
          f"{dump_seconds:.2f} s (the mean of {dump_before:.2f} s before the pack and "
          f"{dump_after:.2f} s after)")
    print("pack time / dump time: " + (f"{ratio:.1f}x" if ratio is not None else
                                       "none (no evaluation in the period to dump)"))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"database": engine.dialect.name, "from": args.start.isoformat(),
                       "to": args.end.isoformat(), "seconds": round(seconds, 3),
                       "traced_seconds": round(traced_seconds, 3),
                       "peak_mib": round(peak / 2**20, 1), "zip_bytes": size,
                       "dump": {"rows": dump_rows, "bytes": dump_bytes,
                                "seconds": round(dump_seconds, 3),
                                "before_s": round(dump_before, 3),
                                "after_s": round(dump_after, 3)},
                       "pack_over_dump": None if ratio is None else round(ratio, 2),
                       "files": [
                           {"path": e.path, "rows": e.rows, "bytes": e.bytes}
                           for e in built.manifest.files]}, fh, indent=2)
    failed = False
    if bad:
        print(f"SHA-256 mismatch: {bad}", file=sys.stderr)
        failed = True
    pack_rows = next((e.rows for e in built.manifest.files if e.path == EVALUATIONS), None)
    if pack_rows != dump_rows:
        print(f"{EVALUATIONS} has {pack_rows} rows, the dump {dump_rows}", file=sys.stderr)
        failed = True
    if args.smoke and not dump_rows:
        print(f"no evaluation from {args.start} to {args.end}: seed some first",
              file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
