"""The code's layout holds: a URL's first path segment names the package that serves it, no module
imports another's private names, and only the settings read the environment.

import-linter checks the direction of imports (see pyproject.toml); these are the rules it cannot.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PACKAGES = ("qm", "transcription", "scoring", "competencies")

# The README's table "Where a URL's code lives": a page's first path segment, or an API route's
# first segment after /api/v1/ -> the package whose views.py or api.py serves it.
SCORING_AREAS = {
    "interactions": "scoring.interactions", "forms": "scoring.forms",
    "evaluations": "scoring.evaluations", "disputes": "scoring.evaluations",
    "sampling": "scoring.sampling", "calibration": "scoring.calibration",
    "reports": "scoring.reports", "scorecard": "scoring.reports", "scorecards": "scoring.reports",
    "complaints": "scoring.complaints", "review": "scoring.review", "flags": "scoring.review",
    "kpis": "scoring.kpis",
}
PAGE_AREAS = {
    "": "qm.views", "healthz": "qm.views", "audit": "qm.views", "favicon.ico": "qm.views",
    "evidence": "qm.views",  # the clause-6 evidence pack (qm.evidence)
    "static": "flask",
    "login": "qm.auth", "logout": "qm.auth", "account": "qm.auth", "users": "qm.auth",
    "teams": "qm.auth", "notifications": "qm.notifications", **SCORING_AREAS,
    "competencies": "competencies.frameworks", "skills": "competencies.profiles",
    "training": "competencies.training", "notices": "competencies.notices",
    "coaching": "competencies.coaching",
}
API_AREAS = {
    "openapi.json": "flask_smorest", "me": "qm.auth", "users": "qm.auth", "teams": "qm.auth",
    "audit": "qm.auth", "notifications": "qm.notifications", "sampling-rules": "scoring.sampling",
    "calibration-sessions": "scoring.calibration", "calibration-items": "scoring.calibration",
    "review-queue": "scoring.review", **SCORING_AREAS,
    "competencies": "competencies.frameworks", "skills": "competencies.profiles",
    "training": "competencies.training", "notices": "competencies.notices",
    "coaching": "competencies.coaching",
}


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_a_urls_first_segment_names_the_package_that_serves_it(app):
    wrong = []
    for rule in app.url_map.iter_rules():
        parts = rule.rule.strip("/").split("/")
        api = parts[:2] == ["api", "v1"] and len(parts) > 2
        segment = parts[2] if api else parts[0]
        module = app.view_functions[rule.endpoint].__module__
        area = (API_AREAS if api else PAGE_AREAS).get(segment)
        if area is None:
            wrong.append(f"{rule.rule}: a new area '{segment}'; add it to the README's table "
                         "and here")
        elif module != area and not module.startswith(area + "."):
            wrong.append(f"{rule.rule} is served by {module}, not by {area}")
    assert not wrong, "\n".join(wrong)
    assert len(list(app.url_map.iter_rules())) > 100


def test_no_module_imports_anothers_private_names():
    found = []
    for path in [*_modules(), *sorted((ROOT / "bench").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.split(".")[0] in PACKAGES:
                found += [f"{_name(path)}: from {node.module} import {alias.name}"
                          for alias in node.names
                          if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert not found, "\n".join(found)


def _environment_reads(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                alias.name in ("environ", "getenv") for alias in node.names):
            lines.append(node.lineno)
    return lines


# Reads of the environment outside qm/config.py, each with its reason.
ENVIRONMENT_READERS = {
    "qm.config": "the settings: the one reader of QM_* variables",
    "transcription.hardware": "OMP_NUM_THREADS: OpenMP's own variable, which CTranslate2 obeys",
}


def test_only_the_settings_read_the_environment():
    readers = {_name(path): lines for path in _modules() if (lines := _environment_reads(path))}
    unexpected = {name: lines for name, lines in readers.items()
                  if name not in ENVIRONMENT_READERS}
    assert not unexpected, (f"read settings from qm.config.Settings, passed down: {unexpected}")
    assert "qm.config" in readers


@pytest.mark.parametrize("package", ["scoring", "competencies"])
def test_each_capability_keeps_the_file_roles(package):
    roles = {"__init__", "models", "services", "queries", "forms", "views", "api", "cli"}
    pure = {"rules", "reliability", "draw", "definition", "gaps", "due", "effect",
            "suggest", "clock", "diff", "metrics", "charts", "sheet"}  # no app imports
    # services or queries by another name
    # evidence: a capability's files in the evidence pack (qm.evidence finds them by name)
    others = {"disputes", "results", "drift", "dashboard", "sessions", "evidence"}
    capabilities = [p for p in (ROOT / package).iterdir() if (p / "__init__.py").exists()]
    assert len(capabilities) >= 3
    strays = [f"{c.name}/{f.name}" for c in capabilities for f in c.glob("*.py")
              if f.stem not in roles | pure | others]
    assert not strays, f"name a new module after its role, or add it here with a reason: {strays}"
    for module in pure:
        for path in (ROOT / package).rglob(f"{module}.py"):
            imported = {n.module if isinstance(n, ast.ImportFrom) and n.module else a.name
                        for n in ast.walk(ast.parse(path.read_text("utf-8")))
                        if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
            # the core's error types are plain exceptions: a pure module may raise them; and
            # qm.stats is pure itself (statistics more than one domain needs)
            app = {m for m in imported - {"qm.errors", "qm.stats"}
                   if m.split(".")[0] in {"flask", "sqlalchemy", *PACKAGES}}
            assert not app, f"{path.name} is pure: {sorted(app)}"
