#!/usr/bin/env bash
# Smoke mode of every benchmark, in turn: what CI runs so that a schema or API change that
# breaks a benchmark fails the build (bench/README.md, "Smoke mode: what CI runs").
#
#   bash bench/smoke.sh postgresql+psycopg://postgres@127.0.0.1:5432/qm_bench_smoke
#
# The database is WIPED: seed.py drops its schema, seed_competencies.py and flag_store.py drop
# it again (each after the steps that read the data before it), scale.py for each variant.
# Its name must contain "bench" (seed.py's rule) and start with "qm_bench" (scale.py's), and it
# must be on this machine. It must exist. PostgreSQL, Redis on 127.0.0.1:6379 (the Celery
# broker of scale.py, or QM_BROKER_URL) and the real recordings in ../shared/speech/fsdd-dev
# are needed, and so are wrk and ../shared/bench/minimal_flask.py (floor_latency.py). Stops
# at the first failure, with that step's exit status. About 2 to 4 minutes on 2 cores,
# depending on what else runs there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 1 ]; then
  echo "usage: bash bench/smoke.sh POSTGRESQL_URL_OF_A_DATABASE_IT_MAY_WIPE" >&2
  exit 2
fi
URL=$1
PY=${QM_BENCH_PYTHON:-.venv/bin/python}

# Refuse before anything is touched; the scripts check again, each its own rule.
"$PY" - "$URL" <<'EOF'
import sys
from sqlalchemy import make_url

url = make_url(sys.argv[1])
name = url.database or ""
if url.get_backend_name() != "postgresql":
    sys.exit(f"bench/smoke.sh: a PostgreSQL URL, please, not {url.drivername!r}")
if url.host not in ("127.0.0.1", "localhost"):
    sys.exit(f"bench/smoke.sh: refusing {url.host!r}: the benchmarks stay on this machine")
if "bench" not in name:
    sys.exit(f"bench/smoke.sh: refusing to wipe {name!r}: its name does not contain 'bench'")
if not name.startswith("qm_bench"):
    sys.exit(f"bench/smoke.sh: {name!r} must start with 'qm_bench' (scale.py wipes only those)")
EOF

# Layering: bench modules import one way (seed <- seed_evaluations and list_latency <-
# evaluation_latency <- matrix_latency; seed, list_latency <- floor_latency; seed <-
# seed_competencies <- matrix_latency; seed, flagging <- flag_store; run <- scale; run,
# realcalls <- real), never in a cycle.
"$PY" - <<'EOF'
import ast
import sys
from pathlib import Path

modules = {p.stem: p for p in Path("bench").rglob("*.py")}
imports = {}
for name, path in modules.items():
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    imports[name] = found & set(modules)


def cycle(path):
    for dep in sorted(imports[path[-1]]):
        if dep in path:
            return [*path[path.index(dep):], dep]
        found = cycle([*path, dep])
        if found:
            return found
    return None


for name in sorted(modules):
    loop = cycle([name])
    if loop:
        sys.exit("bench/smoke.sh: import cycle between bench modules: " + " -> ".join(loop)
                 + "; move the shared piece into the lower module")
print("bench imports: " + "; ".join(f"{n} -> {', '.join(sorted(d))}"
                                    for n, d in sorted(imports.items()) if d))
EOF

work=$(mktemp -d "${TMPDIR:-/tmp}/qm-bench-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$(date +%s)

run() {
  local label=$1
  shift
  printf '\n=== bench smoke: %s ===\n' "$label"
  local t0
  t0=$(date +%s)
  "$@"
  printf '=== %s: ok, %s s ===\n' "$label" "$(($(date +%s) - t0))"
}

run "seed.py (and seed_evaluations.py)" "$PY" bench/seed.py --smoke --database-url "$URL"
run "seed_evaluations.py again (clears the first run's)" \
  "$PY" bench/seed_evaluations.py --smoke --database-url "$URL"
run "list_latency.py" "$PY" bench/list_latency.py --smoke --database-url "$URL"
run "evaluation_latency.py" "$PY" bench/evaluation_latency.py --smoke --database-url "$URL"
run "report_latency.py" "$PY" bench/report_latency.py --smoke --database-url "$URL"
run "evidence_pack.py (the last 365 days)" \
  "$PY" bench/evidence_pack.py --smoke --database-url "$URL"
run "floor_latency.py (the floor and qm's pages under wrk)" \
  "$PY" bench/floor_latency.py --smoke --database-url "$URL"
run "seed_competencies.py (wipes the seed above)" \
  "$PY" bench/seed_competencies.py --smoke --database-url "$URL"
run "matrix_latency.py" "$PY" bench/matrix_latency.py --smoke --database-url "$URL"
run "flagging.py" "$PY" bench/flagging.py --smoke
run "flag_store.py (wipes the seed above)" \
  "$PY" bench/flag_store.py --smoke --database-url "$URL"
run "transcribe/make_corpus.py" "$PY" bench/transcribe/make_corpus.py --smoke "$work/corpus"
run "transcribe/run.py (makes its own corpus)" "$PY" bench/transcribe/run.py --smoke
run "transcribe/real.py (real recordings, makes its own calls)" \
  "$PY" bench/transcribe/real.py --smoke
run "transcribe/scale.py" \
  "$PY" bench/transcribe/scale.py --smoke --corpus "$work/corpus" --database-url "$URL"

printf '\n=== bench smoke: every benchmark passed in %s s ===\n' "$(($(date +%s) - started))"
