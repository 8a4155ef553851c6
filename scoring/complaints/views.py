"""Complaint pages: the register (with its filters, each complaint's clock, as CSV and XLSX),
the overdue list, opening a complaint (by hand or from an interaction), its page with the
timeline, the deadlines and the buttons of its life, the root-cause trend, and the holidays of
the working-day calendar."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import current_user

from qm import audit
from qm.auth.access import permission_required
from qm.auth.permissions import can
from qm.db import utcnow
from qm.errors import InvalidInput
from qm.inputs import BadInput, id_arg
from qm.interactions.models import Interaction
from qm.spreadsheets import export_format, safe_csv_cell, table_response, xlsx_response
from qm.timestamps import today_in
from qm.web import db, save_form, settings
from scoring.complaints import queries, services
from scoring.complaints.forms import (
    AnswerForm,
    ButtonForm,
    ComplaintForm,
    EscalateForm,
    HolidayForm,
    LinkForm,
    ResolveForm,
)
from scoring.complaints.models import CATEGORIES, ROOT_CAUSES, Complaint
from scoring.reports.queries import parse_month

bp = Blueprint("complaints", __name__)
MANAGE, VIEW = services.MANAGE, services.VIEW


def _site() -> queries.SiteClock:
    return queries.site_clock(db.session, settings(), utcnow())


def _zone() -> str:
    return current_user.timezone or "UTC"


def _version(raw: Any) -> int | None:
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None


def _choice_arg(name: str, allowed: Any) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise BadInput(f"The parameter {name!r} is one of {', '.join(allowed)}.")
    return value


def _day_arg(name: str) -> dt.date | None:
    raw = request.args.get(name) or None
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadInput(f"The parameter {name!r} is a date, YYYY-MM-DD.") from None


def _filters() -> queries.Filters:
    return queries.Filters(
        status=_choice_arg("status", services.STATUSES),
        category=_choice_arg("category", tuple(CATEGORIES)),
        severity=_choice_arg("severity", services.SEVERITIES),
        owner_id=id_arg(request.args, "owner_id"),
        overdue=request.args.get("overdue") in ("1", "on", "true"),
        received_from=_day_arg("received_from"), received_to=_day_arg("received_to"),
        zone=_zone())


@bp.get("/complaints")
@permission_required(VIEW)
def register() -> Any:
    """The register: every complaint the viewer may see that passes the filters, with the
    state of its clock."""
    filters = _filters()
    return render_template(
        "scoring/complaints/register.html", filters=filters, filter_args=filters.args(),
        rows=queries.register(db.session, current_user, filters, _site()),
        owners=queries.owners(db.session, current_user), statuses=services.STATUSES,
        categories=CATEGORIES, severities=services.SEVERITIES,
        may_open=can(current_user, MANAGE))


@bp.get("/complaints/overdue")
@permission_required(VIEW)
def overdue() -> Any:
    """Complaints with a step past its deadline, the longest overdue first."""
    return render_template("scoring/complaints/overdue.html",
                           rows=queries.overdue(db.session, current_user, _site()))


# --- the register as files --------------------------------------------------------------------

HEADER = ["complaint", "customer_ref", "category", "severity", "status", "source", "owner",
          "interactions", "received_at", "acknowledged_at", "acknowledge_due",
          "responded_at", "respond_due", "escalated_at", "escalation_due",
          "escalation_answered_at", "resolved_at", "resolve_due", "closed_at", "reopened_at",
          "overdue", "root_cause", "outcome", "summary", "escalation_reason",
          "escalation_answer", "created_by", "created_at"]
TIMES = {"received_at", "acknowledged_at", "acknowledge_due", "responded_at", "respond_due",
         "escalated_at", "escalation_due", "escalation_answered_at", "resolved_at",
         "resolve_due", "closed_at", "reopened_at", "created_at"}


def _export_rows() -> list[dict[str, Any]]:
    """The register's rows with the page's filters, as the exports write them."""
    out = []
    for row in queries.register(db.session, current_user, _filters(), _site()):
        c = row.complaint
        due = {d.key: d.due_at for d in row.clock.deadlines}
        out.append({
            "complaint": c.id, "customer_ref": c.customer_ref, "category": c.category,
            "severity": c.severity, "status": c.status, "source": c.source,
            "owner": c.owner.username if c.owner else "",
            "interactions": " ".join(str(i) for i in c.interaction_ids),
            "received_at": c.received_at, "acknowledged_at": c.acknowledged_at,
            "acknowledge_due": due["acknowledge"], "responded_at": c.responded_at,
            "respond_due": due["respond"], "escalated_at": c.escalated_at,
            "escalation_due": due.get("escalation"),
            "escalation_answered_at": c.escalation_answered_at, "resolved_at": c.resolved_at,
            "resolve_due": due["resolve"], "closed_at": c.closed_at,
            "reopened_at": c.reopened_at, "overdue": "yes" if row.clock.is_overdue else "no",
            "root_cause": c.root_cause or "", "outcome": c.outcome, "summary": c.summary,
            "escalation_reason": c.escalation_reason, "escalation_answer": c.escalation_answer,
            "created_by": c.created_by.username if c.created_by else "",
            "created_at": c.created_at})
    return out


@bp.get("/complaints/register.csv")
@permission_required(VIEW)
def register_csv() -> Any:
    """The register with the page's filters: every time in UTC (ISO 8601), every outcome."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in _export_rows():
        writer.writerow([
            (row[k].isoformat() if row[k] is not None else "") if k in TIMES
            else safe_csv_cell(row[k]) for k in HEADER])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="complaint-register.csv"'})


@bp.get("/complaints/register.xlsx")
@permission_required(VIEW)
def register_xlsx() -> Any:
    """The CSV's columns; times in the viewer's zone (named in the headers), as the pages
    show them, typed as dates so that a spreadsheet sorts them."""
    zone = _zone()
    local = ZoneInfo(zone)
    rows = ([(row[k].astimezone(local).replace(tzinfo=None) if row[k] is not None else None)
             if k in TIMES else row[k] for k in HEADER] for row in _export_rows())
    return xlsx_response(
        "complaint-register.xlsx", "Complaint register",
        [f"{k} ({zone})" if k in TIMES else k for k in HEADER], rows,
        widths=[11, 16, 14, 10, 13, 8, 14, 14] + [19] * 12 + [8, 14, 50, 50, 30, 30, 14, 19])


# --- opening and changing ---------------------------------------------------------------------

def _ids(raw: str | None) -> list[int]:
    parts = [p.strip() for p in (raw or "").replace(";", ",").split(",") if p.strip()]
    if not all(p.isdigit() and len(p) <= 10 for p in parts):
        raise InvalidInput("The interactions are ids separated by commas (such as 12, 15).",
                           {"interaction_ids": "ids separated by commas"})
    return [int(p) for p in parts]


def _local_time(raw: str | None) -> dt.datetime | None:
    """A datetime-local field (the viewer's time) as an aware time; empty: None."""
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace(" ", "T", 1))
    except ValueError:
        raise InvalidInput(f"The time received {raw!r} is a date and time, YYYY-MM-DD HH:MM.",
                           {"received_at": "a date and time"}) from None
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(_zone()))


def _owner_choices(users: list[Any]) -> list[tuple[int, str]]:
    return [(u.id, u.label) for u in users]


@bp.route("/complaints/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new_complaint() -> Any:
    """Register a complaint; ``?interaction_id=`` opens it from that interaction (its customer
    reference filled in), as the interaction page's "Open a complaint" does."""
    from_id = id_arg(request.args, "interaction_id")
    interaction = db.session.get(Interaction, from_id) if from_id else None
    if interaction is not None and not can(current_user, "interaction.view", interaction):
        interaction = None
    form = ComplaintForm()
    links = [services.LinkScope(interaction.agent_id, interaction.team_id)] if interaction \
        else []
    choices = services.owner_choices(db.session, None, links)
    if current_user.id not in {u.id for u in choices}:
        choices.insert(0, current_user)
    form.owner_id.choices = _owner_choices(choices)
    if request.method == "GET":
        form.owner_id.data = current_user.id
        if interaction is not None:
            form.customer_ref.data = interaction.customer_ref or ""

    def write() -> Complaint:
        values = {"customer_ref": form.customer_ref.data, "summary": form.summary.data,
                  "category": form.category.data, "severity": form.severity.data,
                  "received_at": _local_time(form.received_at.data),
                  "owner_id": form.owner_id.data,
                  "interaction_ids": _ids(form.interaction_ids.data)}
        if interaction is not None:
            return services.open_from_interaction(db.session, current_user, interaction.id,
                                                  values)
        return services.open_complaint(db.session, current_user, values)

    outcome = save_form(form, write, lambda saved: redirect(
        url_for("complaints.complaint", complaint_id=saved.id)),
        lambda saved: f"Complaint #{saved.id} registered.")
    if not isinstance(outcome, int):
        return outcome
    return render_template("scoring/complaints/form.html", form=form, item=None,
                           interaction=interaction), outcome


@bp.route("/complaints/<int:complaint_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def edit_complaint(complaint_id: int) -> Any:
    """Change the customer reference, summary, category, severity and owner."""
    item = services.get(db.session, current_user, complaint_id, MANAGE)
    form = ComplaintForm(obj=item if request.method == "GET" else None)
    del form.received_at, form.interaction_ids  # the receipt stays; links have their buttons
    form.owner_id.choices = _owner_choices(services.owner_choices(db.session, item))
    if item.owner is not None and item.owner_id not in dict(form.owner_id.choices):
        form.owner_id.choices.insert(0, (item.owner_id, f"{item.owner.label} (may no longer)"))
    if request.method == "GET":
        form.version.data = str(item.version)

    def write() -> Complaint:
        return services.update(db.session, current_user, item.id, {
            "customer_ref": form.customer_ref.data, "summary": form.summary.data,
            "category": form.category.data, "severity": form.severity.data,
            "owner_id": form.owner_id.data}, expected_version=_version(form.version.data))

    outcome = save_form(form, write, lambda saved: _back(saved), "Saved.")
    if not isinstance(outcome, int):
        return outcome
    return render_template("scoring/complaints/form.html", form=form, item=item,
                           interaction=None), outcome


# --- one complaint ----------------------------------------------------------------------------

def _timeline(item: Complaint) -> list[tuple[dt.datetime, str, str]]:
    """The complaint's life from its times, in order: (when, what, the words recorded)."""
    steps = [(item.received_at, "Received", item.summary),
             (item.acknowledged_at, "Acknowledged", ""),
             (item.responded_at, "Responded", ""),
             (item.escalated_at, "Escalated", item.escalation_reason),
             (item.escalation_answered_at, "Escalation answered", item.escalation_answer),
             (item.resolved_at, "Resolved",
              f"{item.root_cause_label}: {item.outcome}" if item.root_cause else item.outcome),
             (item.closed_at, "Closed", ""), (item.reopened_at, "Reopened", "")]
    return sorted(((at, what, words) for at, what, words in steps if at is not None),
                  key=lambda step: step[0])


def _detail(item: Complaint, status: int = 200, **forms: Any) -> Any:
    version = str(item.version)
    defaults = {
        "button": ButtonForm(formdata=None, version=version),
        "escalate_form": EscalateForm(formdata=None, version=version),
        "answer_form": AnswerForm(formdata=None, version=version),
        "resolve_form": ResolveForm(formdata=None, version=version, outcome=item.outcome,
                                    root_cause=item.root_cause or ""),
        "link_form": LinkForm(formdata=None, version=version)}
    defaults.update(forms)
    return render_template(
        "scoring/complaints/complaint.html", item=item, clock=_site().of(item),
        timeline=_timeline(item), history=audit.history(db.session, "complaints", item.id),
        may_manage=services.may(current_user, MANAGE, item),
        links=[(link, can(current_user, "interaction.view", link.interaction))
               for link in item.links], **defaults), status


def _back(item: Complaint) -> Any:
    return redirect(url_for("complaints.complaint", complaint_id=item.id))


@bp.get("/complaints/<int:complaint_id>")
@permission_required(VIEW)
def complaint(complaint_id: int) -> Any:
    return _detail(services.get(db.session, current_user, complaint_id))


def _button(complaint_id: int, step: Any, message: str) -> Any:
    """A lifecycle button's POST: the step with the version the page showed."""
    item = services.get(db.session, current_user, complaint_id, MANAGE)
    form = ButtonForm()
    outcome = save_form(form, lambda: step(db.session, current_user, item.id,
                                           expected_version=_version(form.version.data)),
                        _back, message)
    return _detail(item, outcome) if isinstance(outcome, int) else outcome


@bp.post("/complaints/<int:complaint_id>/acknowledge")
@permission_required(MANAGE)
def acknowledge(complaint_id: int) -> Any:
    return _button(complaint_id, services.acknowledge, "Acknowledged.")


@bp.post("/complaints/<int:complaint_id>/respond")
@permission_required(MANAGE)
def respond(complaint_id: int) -> Any:
    return _button(complaint_id, services.respond, "Response recorded.")


@bp.post("/complaints/<int:complaint_id>/close")
@permission_required(MANAGE)
def close(complaint_id: int) -> Any:
    return _button(complaint_id, services.close, "Closed.")


@bp.post("/complaints/<int:complaint_id>/reopen")
@permission_required(MANAGE)
def reopen(complaint_id: int) -> Any:
    return _button(complaint_id, services.reopen, "Reopened: its clock runs again.")


@bp.post("/complaints/<int:complaint_id>/escalate")
@permission_required(MANAGE)
def escalate(complaint_id: int) -> Any:
    item = services.get(db.session, current_user, complaint_id, MANAGE)
    form = EscalateForm()
    outcome = save_form(form, lambda: services.escalate(
        db.session, current_user, item.id, reason=form.reason.data,
        expected_version=_version(form.version.data)), _back, "Escalated.")
    return _detail(item, outcome, escalate_form=form) if isinstance(outcome, int) else outcome


@bp.post("/complaints/<int:complaint_id>/answer-escalation")
@permission_required(MANAGE)
def answer_escalation(complaint_id: int) -> Any:
    item = services.get(db.session, current_user, complaint_id, MANAGE)
    form = AnswerForm()
    outcome = save_form(form, lambda: services.answer_escalation(
        db.session, current_user, item.id, answer=form.answer.data,
        expected_version=_version(form.version.data)), _back, "Escalation answered.")
    return _detail(item, outcome, answer_form=form) if isinstance(outcome, int) else outcome


@bp.post("/complaints/<int:complaint_id>/resolve")
@permission_required(MANAGE)
def resolve(complaint_id: int) -> Any:
    item = services.get(db.session, current_user, complaint_id, MANAGE)
    form = ResolveForm()
    outcome = save_form(form, lambda: services.resolve(
        db.session, current_user, item.id, outcome=form.outcome.data,
        root_cause=form.root_cause.data or None,
        expected_version=_version(form.version.data)), _back, "Resolved.")
    return _detail(item, outcome, resolve_form=form) if isinstance(outcome, int) else outcome


@bp.post("/complaints/<int:complaint_id>/interactions")
@permission_required(MANAGE)
def add_interaction(complaint_id: int) -> Any:
    item = services.get(db.session, current_user, complaint_id, MANAGE)
    form = LinkForm()

    def write() -> Complaint:
        raw = (form.interaction_id.data or "").strip().lstrip("#")
        if not raw.isdigit() or len(raw) > 10:
            raise InvalidInput("Give the interaction's id (a number).",
                               {"interaction_id": "a number"})
        return services.add_interaction(db.session, current_user, item.id, int(raw),
                                        expected_version=_version(form.version.data))

    outcome = save_form(form, write, _back, "Interaction linked.")
    return _detail(item, outcome, link_form=form) if isinstance(outcome, int) else outcome


@bp.post("/complaints/<int:complaint_id>/interactions/<int:interaction_id>/remove")
@permission_required(MANAGE)
def remove_interaction(complaint_id: int, interaction_id: int) -> Any:
    item = services.get(db.session, current_user, complaint_id, MANAGE)
    form = ButtonForm()
    outcome = save_form(form, lambda: services.remove_interaction(
        db.session, current_user, item.id, interaction_id,
        expected_version=_version(form.version.data)), _back, "Interaction unlinked.")
    return _detail(item, outcome) if isinstance(outcome, int) else outcome


# --- the trend and the calendar ---------------------------------------------------------------

@bp.get("/complaints/trends")
@permission_required(VIEW)
def trends() -> Any:
    """Root causes of the complaints resolved each month, the last twelve months (the site's
    months), with the complaints received for scale."""
    zone = settings().timezone or "UTC"
    return render_template("scoring/complaints/trends.html", zone=zone, causes=ROOT_CAUSES,
                           found=queries.trend(db.session, current_user,
                                               as_of=today_in(zone), zone=zone))


# --- timeliness -------------------------------------------------------------------------------

STEP_TITLES = {"acknowledge": "Acknowledged", "respond": "Responded", "resolve": "Resolved",
               "escalation": "Escalation answered"}
SEVERITY_TITLES = {s: s.capitalize() for s in services.SEVERITIES}


def _r(value: float | None, digits: int = 1) -> float | None:
    """A figure rounded as the page shows it, so that an export matches the screen."""
    return None if value is None else round(value, digits)


def _rate_rows(rows: list[queries.TimelinessRow], step: str) -> list[dict[str, Any]]:
    """One step's on-time rate per month, as ``rate_chart`` draws it (on time of due)."""
    return [{"month": r.key, "rate": r.steps[step].rate, "fails": r.steps[step].met,
             "n": r.steps[step].due} for r in rows]


@bp.get("/complaints/timeliness")
@permission_required(VIEW)
def timeliness() -> Any:
    """Were complaints acknowledged, responded to, escalated and resolved in time? Per month
    of receipt (12 site months ending ``?month=YYYY-MM``, this month by default) and per
    severity, each step's deadlines met, late, overdue and not yet due, as of now."""
    zone = settings().timezone or "UTC"
    raw_month = request.args.get("month", "")
    end = parse_month(raw_month)
    problems = []
    if end is None:
        today = today_in(zone)
        end = (today.year, today.month)
        if raw_month:
            problems.append(f"The month {raw_month[:20]!r} is not a month written YYYY-MM; "
                            f"showing the 12 months to {end[0]}-{end[1]:02d}.")
    fmt = export_format(request.args)
    table = _timeliness_table() if fmt else ""  # a bad choice is a 400 before any reading
    site = _site()
    found = queries.timeliness(db.session, current_user, site, end)
    if fmt:
        return _timeliness_export(fmt, table, found)
    return render_template(
        "scoring/complaints/timeliness.html", found=found, problems=problems, zone=zone,
        rules=site.policy, now=site.now, steps=STEP_TITLES, severities=SEVERITY_TITLES,
        resolved_chart=_rate_rows(found.months, "resolve"),
        acknowledged_chart=_rate_rows(found.months, "acknowledge"),
        severity_bars=[{"text": SEVERITY_TITLES.get(r.key, r.key),
                        "value": r.steps["resolve"].rate} for r in found.severities
                       if r.steps["resolve"].rate is not None])


def _timeliness_table() -> str:
    table = request.args.get("table") or "months"
    if table not in ("months", "severity"):
        raise BadInput(f"The parameter 'table' is one of months, severity, not {table[:20]!r}.")
    return table


TIMELINESS_HEADER = ["received", *(f"{step} {what}" for step in queries.STEPS for what in (
    "on time", "late", "overdue", "not yet due", "on-time rate %")),
    "resolved", "mean working days to resolve", "median working days to resolve"]


def _timeliness_line(row: queries.TimelinessRow) -> list[Any]:
    out: list[Any] = [row.received]
    for step in queries.STEPS:
        t = row.steps[step]
        out += [t.met, t.late, t.overdue, t.open, _r(t.rate)]
    return [*out, len(row.days), _r(row.days_mean), _r(row.days_median)]


def _timeliness_export(fmt: str, table: str, found: queries.Timeliness) -> Any:
    """The months table (with the window's total last) or the severity table, as the page
    shows them: the same counts, rates rounded to one decimal."""
    if table == "severity":
        return table_response(
            fmt, f"complaint-timeliness-by-severity-to-{found.end}",
            "Complaint timeliness by severity", ["severity", *TIMELINESS_HEADER],
            ([r.key, *_timeliness_line(r)] for r in found.severities))
    return table_response(
        fmt, f"complaint-timeliness-to-{found.end}", "Complaint timeliness per month",
        ["month received", *TIMELINESS_HEADER],
        [*([r.key, *_timeliness_line(r)] for r in found.months),
         ["total", *_timeliness_line(found.total)]])


def _holidays_page(form: HolidayForm, status: int = 200) -> Any:
    return render_template("scoring/complaints/holidays.html", form=form,
                           holidays=queries.holidays(db.session),
                           button=ButtonForm(formdata=None),
                           may_edit=can(current_user, services.CALENDAR),
                           rules=queries.policy(settings()),
                           zone=settings().timezone or "UTC"), status


@bp.get("/complaints/holidays")
@permission_required(VIEW)
def holidays() -> Any:
    """The working-day calendar: the holidays the resolution deadline skips."""
    return _holidays_page(HolidayForm(formdata=None))


@bp.post("/complaints/holidays")
@permission_required(services.CALENDAR)
def add_holiday() -> Any:
    form = HolidayForm()
    outcome = save_form(form, lambda: services.add_holiday(
        db.session, current_user, form.day.data, form.name.data),
        lambda _saved: redirect(url_for("complaints.holidays")),
        lambda saved: f"{saved.day.isoformat()} ({saved.name}) added.")
    return _holidays_page(form, outcome) if isinstance(outcome, int) else outcome


@bp.post("/complaints/holidays/<int:holiday_id>/delete")
@permission_required(services.CALENDAR)
def delete_holiday(holiday_id: int) -> Any:
    form = ButtonForm()
    outcome = save_form(form, lambda: services.delete_holiday(
        db.session, current_user, holiday_id),
        lambda _saved: redirect(url_for("complaints.holidays")), "Holiday removed.")
    return _holidays_page(HolidayForm(formdata=None), outcome) if isinstance(outcome, int) \
        else outcome

