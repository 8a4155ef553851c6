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
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import tempfile
import time
import tracemalloc
import zipfile

from qm import evidence
from qm.auth.permissions import SystemActor
from qm.config import Settings
from qm.db import make_engine, make_session_factory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--from", dest="start", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--to", dest="end", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--team", default=None)
    parser.add_argument("--json", default=None, help="Also write the results here")
    args = parser.parse_args(argv)

    engine = make_engine(args.database_url)
    settings = Settings(database_url=args.database_url, secret_key="bench")
    session = make_session_factory(engine, settings)()
    actor = SystemActor("bench")
    scope = evidence.scope_of(session, args.start, args.end, args.team, settings)
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        began = time.perf_counter()
        built = evidence.build(session, actor, scope, out)
        seconds = time.perf_counter() - began
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
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
    session.rollback()
    session.close()
    for entry in built.manifest.files:
        rows = "" if entry.rows is None else entry.rows
        print(f"{entry.path:<60} {rows:>9} rows {entry.bytes:>12,} bytes")
    print(f"pack: {len(built.manifest.files)} files, {size:,} bytes zipped, built in "
          f"{seconds:.1f} s, peak traced memory {peak / 2**20:.1f} MiB; audit chain "
          f"{'intact' if built.manifest.audit['ok'] else 'BROKEN'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"seconds": round(seconds, 2), "peak_mib": round(peak / 2**20, 1),
                       "zip_bytes": size, "files": [
                           {"path": e.path, "rows": e.rows, "bytes": e.bytes}
                           for e in built.manifest.files]}, fh, indent=2)
    if bad:
        print(f"SHA-256 mismatch: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
