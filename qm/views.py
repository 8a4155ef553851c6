"""Core pages: the dashboard, the health check and the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select, text

from qm.audit import AuditEntry
from qm.auth.access import login_required, permission_required, public
from qm.inputs import id_arg
from qm.web import db

bp = Blueprint("core", __name__)

AUDIT_PAGE = 100
AUDIT_FILTERS = ("entity_type", "entity_id", "action", "actor_name")


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


@bp.get("/audit")
@permission_required("audit.view")
def audit_log() -> Any:
    args = request.args
    stmt = select(AuditEntry)
    for field in AUDIT_FILTERS:
        if args.get(field):
            stmt = stmt.where(getattr(AuditEntry, field) == args[field].strip())
    before = id_arg(args, "before")
    if before:
        stmt = stmt.where(AuditEntry.seq < before)
    rows = db.session.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(AUDIT_PAGE + 1)).all()
    more = len(rows) > AUDIT_PAGE
    rows = rows[:AUDIT_PAGE]
    kept = {k: v for k, v in args.items() if k in AUDIT_FILTERS and v}
    next_args = {**kept, "before": rows[-1].seq} if more and rows else None
    return render_template("audit/log.html", entries=rows, next_args=next_args, args=args)
