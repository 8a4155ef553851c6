"""Core pages: the dashboard, the health check and the audit log."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
    send_from_directory,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import literal, select, text, union_all

from qm import audit, auditview
from qm.audit import AuditEntry
from qm.auth.access import login_required, permission_required, public
from qm.auth.models import Team, User
from qm.auth.permissions import ALL, can, scope_for
from qm.inputs import MAX_ID, BadInput, id_arg
from qm.spreadsheets import csv_lines, export_format, table_response
from qm.web import db

bp = Blueprint("core", __name__)


@bp.get("/")
@login_required
def index() -> Any:
    # Domains add their own cards (app.extensions["qm"]["dashboard"]); qm knows none of them.
    cards = []
    for provider in current_app.extensions["qm"].get("dashboard", []):
        cards.extend(provider(db.session, current_user))
    return render_template("index.html", cards=cards)


@bp.get("/healthz")
@public
def healthz() -> Any:
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/favicon.ico")
@public
def favicon() -> Any:
    # Pages link the SVG icon; this answers browsers and tools that ask for /favicon.ico itself.
    return send_from_directory(current_app.static_folder or "", "qm/favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=86400)


# --- the audit log -----------------------------------------------------------------------------

AUDIT_PAGE = 50
AUDIT_EXPORT_BATCH = 1000
AUDIT_CSV_HEADER = ("seq", "at_utc", "actor_id", "actor", "action", "entity_type", "entity_id",
                    "before", "after", "prev_hash", "hash")

# The page a log entry's record links to: entity type (the table) -> (endpoint, its id
# argument). Looked up as the page renders, so a record whose domain is not loaded, or whose
# type has no page, reads "type #id"; a domain may add or replace entries in
# app.extensions["qm"]["record_pages"].
RECORD_PAGES: dict[str, tuple[str, str]] = {
    "users": ("auth.user", "user_id"),
    "teams": ("auth.team", "team_id"),
    "interactions": ("interactions.interaction", "interaction_id"),
    "evaluations": ("evaluations.evaluation", "evaluation_id"),
    "disputes": ("evaluations.dispute_page", "dispute_id"),
    "complaints": ("complaints.complaint", "complaint_id"),
    "scoring_forms": ("forms.form_detail", "form_id"),
    "sampling_rules": ("sampling.sampling_rule", "rule_id"),
    "calibration_sessions": ("calibration.session", "session_id"),
    "calibration_items": ("calibration.item", "item_id"),
    "flags": ("review.flag_page", "flag_id"),
    "coaching_sessions": ("coaching.session", "session_id"),
    "competency_frameworks": ("frameworks.framework", "framework_id"),
    "notices": ("notices.notice", "notice_id"),
    "courses": ("training.course", "course_id"),
    "training_sessions": ("training.session", "session_id"),
}


def _zone() -> str:
    return getattr(current_user, "timezone", None) or "UTC"


def record_url(entity_type: str, entity_id: str) -> str | None:
    """The page of the record an entry is about, where there is one."""
    pages = {**RECORD_PAGES, **current_app.extensions["qm"].get("record_pages", {})}
    page = pages.get(entity_type)
    if page is None or page[0] not in current_app.view_functions:
        return None
    if not entity_id.isdigit() or not 0 < int(entity_id) <= MAX_ID:
        return None
    return url_for(page[0], **{page[1]: int(entity_id)})


def _names(wanted: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """People's and teams' names for the ids a list of entries mentions: one query. Only the
    kinds the viewer may see all of are named (the whole log's readers may; on a record's
    history, a lead or an agent keeps seeing ids, as before)."""
    wide = can(current_user, "audit.view")
    kinds = {kind for kind, permission in (("users", "user.view"), ("teams", "team.view"))
             if wide or scope_for(current_user, permission) is ALL}
    ids: dict[str, list[int]] = {"users": [], "teams": []}
    for kind, value in wanted:
        if kind in kinds and 0 < value <= MAX_ID:
            ids[kind].append(value)
    parts = []
    if ids["users"]:
        parts.append(select(literal("users").label("kind"), User.id.label("id"),
                            User.display_name.label("name"))
                     .where(User.id.in_(sorted(set(ids["users"])))))
    if ids["teams"]:
        parts.append(select(literal("teams").label("kind"), Team.id.label("id"),
                            Team.name.label("name"))
                     .where(Team.id.in_(sorted(set(ids["teams"])))))
    if not parts:
        return {}
    stmt = parts[0] if len(parts) == 1 else union_all(*parts)
    return {(kind, ident): name for kind, ident, name in db.session.execute(stmt)}


@bp.app_template_global("audit_changes")
def audit_changes(entries: Iterable[AuditEntry]) -> list[list[auditview.Change]]:
    """Each entry's changes in words (``qm.auditview.changes``), names looked up once for the
    whole list: the log's page and every record's history use it."""
    entries = list(entries)
    wanted = set().union(*(auditview.referenced(e.before, e.after) for e in entries))
    names = _names(wanted)
    zone = _zone()
    return [auditview.changes(e.before, e.after, names, zone) for e in entries]


def _audit_page(*, verified: audit.VerifyResult | None = None, anchor: str = "",
                problem: str = "", status: int = 200) -> Any:
    """The log's page: the filters of the query string, one page of entries newest first, the
    chain's head, and the outcome of a verification when one was asked for."""
    args = request.args
    types, actions = audit.present(db.session)
    page: dict[str, Any] = {
        "args": args, "types": types, "action_groups": auditview.action_groups(actions),
        "known_actions": {*actions, *(a.split(".", 1)[0] + "." for a in actions if "." in a)},
        "usernames": db.session.scalars(select(User.username).order_by(User.username)).all(),
        "zone": _zone(), "head": audit.head(db.session), "verified": verified,
        "anchor": anchor, "problem": problem, "rows": [], "next_args": None, "first_args": None,
        "filter_args": {}, "filtered": False, "invalid": False,
        "system_actor": auditview.SYSTEM_ACTOR,
        "days": {k: auditview.as_day(args.get(k)) for k in ("from", "to")},
    }
    try:
        wanted = auditview.parse_filter(args, page["zone"])
        before = id_arg(args, "before")
    except ValueError as exc:  # BadInput is one too
        page.update(problem=str(exc), invalid=True)
        return render_template("audit/log.html", **page), 400
    stmt = audit.filtered(select(AuditEntry), wanted)
    if before:
        stmt = stmt.where(AuditEntry.seq < before)
    entries = db.session.scalars(stmt.order_by(AuditEntry.seq.desc())
                                 .limit(AUDIT_PAGE + 1)).all()
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    kept = wanted.params()
    page.update(
        rows=list(zip(entries, [record_url(e.entity_type, e.entity_id) for e in entries],
                      audit_changes(entries), strict=True)),
        filter_args=kept, next_args={**kept, "before": entries[-1].seq} if more else None,
        first_args=kept if before else None, filtered=wanted.active)
    return render_template("audit/log.html", **page), status


@bp.get("/audit")
@permission_required("audit.view")
def audit_log() -> Any:
    """The audit log, newest first, filtered by the query string (``qm.auditview.FILTER_PARAMS``)
    and paged by ``before`` (the last seq seen); ``?format=csv|xlsx`` is the export of those
    entries, as every table answers it."""
    fmt = export_format(request.args)
    if fmt == "csv":
        return audit_export()
    if fmt == "xlsx":
        return audit_export_xlsx()
    return _audit_page()


@bp.post("/audit/verify")
@permission_required("audit.view")
def audit_verify() -> Any:
    """Walk the whole chain (``qm.audit.verify``) and show the outcome on the log's page.

    A POST although it writes nothing: it reads every entry ever written, so a link, a
    prefetch or another site must not be able to start it (CSRF), and reloading the page
    does not quietly run it again. Nothing is recorded: a check changes no record.
    """
    raw = (request.form.get("anchor") or "").strip()
    try:
        anchor = auditview.parse_anchor(raw) if raw else None
    except ValueError as exc:
        return _audit_page(anchor=raw, problem=str(exc), status=400)
    return _audit_page(verified=audit.verify(db.session, anchor), anchor=raw)


AUDIT_EXPORT_COLUMNS = (
    AuditEntry.seq, AuditEntry.at, AuditEntry.actor_id, AuditEntry.actor_name, AuditEntry.action,
    AuditEntry.entity_type, AuditEntry.entity_id, AuditEntry.before, AuditEntry.after,
    AuditEntry.prev_hash, AuditEntry.hash)


def _as_json(value: Any) -> str:
    """An entry's before or after in the form its hash is computed over: a reader can
    recompute it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _export_batches(wanted: auditview.AuditFilter) -> Iterator[list[Any]]:
    """The filtered entries, oldest first (the chain's order), a batch at a time, so that a
    log of millions of entries never sits in memory whole: both exports walk it."""
    last = 0
    while True:
        batch = db.session.execute(
            audit.filtered(select(*AUDIT_EXPORT_COLUMNS), wanted).where(AuditEntry.seq > last)
            .order_by(AuditEntry.seq).limit(AUDIT_EXPORT_BATCH)).all()
        if not batch:
            return
        yield batch
        last = batch[-1].seq


def _csv_rows(wanted: auditview.AuditFilter) -> Iterator[list[Any]]:
    """The CSV export's rows: times in UTC to the microsecond, before and after as the JSON
    their hash is computed over (``spreadsheets.csv_lines`` makes every text cell safe)."""
    for batch in _export_batches(wanted):
        for row in batch:
            yield [row.seq, row.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
                   row.actor_id, row.actor_name, row.action, row.entity_type, row.entity_id,
                   _as_json(row.before), _as_json(row.after), row.prev_hash, row.hash]


@bp.get("/audit/export.xlsx")
@permission_required("audit.view")
def audit_export_xlsx() -> Any:
    """The filtered log as a spreadsheet: the CSV's columns, oldest first, but times in the
    viewer's zone (named in the header, as the page shows them) and typed as dates, so that
    the sheet sorts and filters them. Read a batch at a time and written row by row."""
    zone = _zone()
    try:
        wanted = auditview.parse_filter(request.args, zone)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    local = ZoneInfo(zone)

    def rows() -> Iterator[list[Any]]:
        for batch in _export_batches(wanted):
            for row in batch:
                yield [row.seq, row.at.astimezone(local).replace(tzinfo=None), row.actor_id,
                       row.actor_name, row.action, row.entity_type, row.entity_id,
                       _as_json(row.before), _as_json(row.after), row.prev_hash, row.hash]

    return table_response(
        "xlsx", "audit-log", "Audit log",
        ["seq", f"at ({zone})", *AUDIT_CSV_HEADER[2:]], rows(),
        widths=[8, 19, 9, 16, 24, 16, 10, 40, 40, 20, 20])


@bp.get("/audit/export.csv")
@permission_required("audit.view")
def audit_export() -> Any:
    """The filtered log as CSV, streamed: times in UTC (ISO 8601), before and after as JSON,
    each entry's prev_hash and hash; text that a spreadsheet would run is quoted."""
    try:
        wanted = auditview.parse_filter(request.args, _zone())
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    return Response(stream_with_context(csv_lines(AUDIT_CSV_HEADER, _csv_rows(wanted))),
                    mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})


# --- the evidence pack (qm.evidence) -----------------------------------------------------------

def _evidence_page(values: dict[str, str], problem: str = "",
                   errors: dict[str, str] | None = None, status: int = 200) -> Any:
    from qm import evidence

    built = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "evidence.built")
                               .order_by(AuditEntry.seq.desc()).limit(10)).all()
    return render_template(
        "evidence/pack.html", values=values, problem=problem, errors=errors or {},
        teams=db.session.scalars(select(Team).order_by(Team.name)).all(), built=built,
        sections=evidence.load()), status


@bp.get("/evidence")
@permission_required("evidence.build")
def evidence_form() -> Any:
    """The pack's period (this year so far by default) and team."""
    today = dt.datetime.now(dt.UTC).date()
    return _evidence_page({"start": today.replace(month=1, day=1).isoformat(),
                           "end": today.isoformat(), "team": ""})


@bp.post("/evidence")
@permission_required("evidence.build")
def evidence_build() -> Any:
    """Build the pack into an anonymous temporary file (gone once sent) and send it; the audit
    log records who took which pack (the manifest's SHA-256). A POST: it reads a year of
    records, so a link or another site must not start it (CSRF)."""
    import tempfile

    from flask import send_file

    from qm import evidence
    from qm.errors import InvalidInput
    from qm.web import commit_write

    values = {k: (request.form.get(k) or "").strip() for k in ("start", "end", "team")}
    days: dict[str, dt.date | None] = {}
    for key, label in (("start", "first"), ("end", "last")):
        try:
            days[key] = dt.date.fromisoformat(values[key]) if values[key] else None
        except ValueError:
            return _evidence_page(values, f"The {label} day {values[key]!r} is not a date "
                                  "(YYYY-MM-DD).", {key: "a date, YYYY-MM-DD"}, 400)
    settings = current_app.extensions["qm"]["settings"]
    try:
        scope = evidence.scope_of(db.session, days["start"], days["end"], values["team"],
                                  settings)
    except InvalidInput as exc:
        return _evidence_page(values, str(exc), exc.errors, 400)
    out = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it
    built = evidence.build(db.session, current_user, scope, out)
    commit_write(lambda: evidence.record_built(db.session, current_user, built))
    out.seek(0)
    team = f"-{scope.team_id}" if scope.team_id else ""
    response = send_file(out, mimetype="application/zip", as_attachment=True,
                         download_name=f"evidence-{scope.start}-{scope.end}{team}.zip")
    response.headers["X-QM-Build-Seconds"] = str(built.manifest.seconds)
    response.headers["X-QM-Manifest-SHA256"] = built.manifest_sha256
    return response
