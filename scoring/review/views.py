"""The review queue (riskiest first, filtered by flag; take an item or dismiss it with a
reason), verdicts on an interaction's flags, and the flags' pages: what each looks for, how it
measures, its versions, editing a phrase rule and activating a version; the flag report (fire
rates and measured precision per flag)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from qm.auth.access import permission_required
from qm.auth.models import Team
from qm.auth.permissions import can, scope_clause
from qm.errors import Conflict, InvalidInput
from qm.inputs import BadInput, id_arg
from qm.interactions.models import Channel, Interaction
from qm.spreadsheets import export_format, table_response
from qm.web import db, settings
from scoring.reports import queries as report_queries
from scoring.review import queries
from scoring.review.forms import ButtonForm, PhrasesForm, VerdictForm
from transcription.flagging import queries as flag_queries
from transcription.flagging import services as flags
from transcription.models import Flag, FlagKind

bp = Blueprint("review", __name__)


def _back(default: str) -> str:
    """Where a form's ``next`` points, if it is a page of this site; else ``default``."""
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


@bp.get("/review")
@permission_required("flag.review")
def review_queue() -> Any:
    flag_id = id_arg(request.args, "flag")
    page = id_arg(request.args, "page") or 1
    items, total = queries.queue(db.session, current_user, flag_id=flag_id, page=page)
    return render_template("scoring/review/queue.html", items=items, total=total, page=page,
                           per_page=queries.PAGE, flag_id=flag_id,
                           counts=queries.counts(db.session, current_user),
                           form=VerdictForm(), take=ButtonForm(),
                           may_take=can(current_user, "evaluation.score"))


@bp.post("/review/<int:interaction_id>")
@permission_required("flag.review")
def verdict(interaction_id: int) -> Any:
    """Confirm, dismiss or add a missed flag on an interaction."""
    form = VerdictForm()
    if not form.validate_on_submit():
        abort(400)
    flag_id = id_arg(request.form, "flag_id")
    if flag_id is None:
        abort(400)
    back = _back(url_for("interactions.interaction", interaction_id=interaction_id))
    _, opened = flags.record_verdict(db.session, current_user, interaction_id, flag_id,
                                     form.verdict.data or "", form.reason.data or "")
    db.session.commit()
    words = {"confirmed": "Flag confirmed.", "rejected": "Flag dismissed; the reason is kept.",
             "missed": "Missed flag recorded; the flag learns from it at its next training."}
    flash(words.get(form.verdict.data or "", "Saved."), "success")
    for item in opened:
        flash(item["text"], "success" if item.get("complaint_id") else "warning")
    return redirect(back)


@bp.get("/flags")
@permission_required("flag.view")
def flag_list() -> Any:
    return render_template("scoring/review/flags.html",
                           rows=flag_queries.overview(db.session), form=ButtonForm(),
                           may_manage=can(current_user, "flag.manage"))


@bp.post("/flags/install")
@permission_required("flag.manage")
def install() -> Any:
    if not ButtonForm().validate_on_submit():
        abort(400)
    made = flags.install_starter(db.session, current_user)
    db.session.commit()
    flash(f"{len(made)} flag(s) added.", "success")
    return redirect(url_for("review.flag_list"))


PHRASE_KINDS = ("phrase", "missing_phrase")
SETTING_WORDS = {
    "min_s": "Seconds of silence, at least", "min_total_s": "Overtalk in all, seconds",
    "min_longest_s": "Longest overtalk, seconds", "party": "Whose share (customer or agent)",
    "min_share": "Share of the talk, at least (0.7 is 70%)",
    "min_talk_s": "Calls judged from this much talk, seconds",
    "min_words": "Chats judged from this many words", "days": "Within this many days",
    "min_contacts": "Contacts, at least (this one included)"}
"""A rule's numbers as its page names them (the phrases have a form of their own)."""


def _settings(latest: Any, typed: Any = None) -> list[tuple[str, str, Any]]:
    """(name, words, value shown) of a rule version's settings other than phrases."""
    if latest is None or latest.params.get("kind") in PHRASE_KINDS:
        return []
    shown = typed or {}
    return [(key, SETTING_WORDS.get(key, key.replace("_", " ")),
             shown.get(key, "" if value is None else value))
            for key, value in latest.params.items() if key != "kind"]


def _flag_page(flag_id: int, form: PhrasesForm | None = None, status: int = 200, *,
               typed: dict[str, str] | None = None) -> Any:
    flag = flags.get_flag(db.session, flag_id)
    latest = flags.latest_version(db.session, flag)
    if form is None and flag.kind == FlagKind.RULE.value and latest is not None \
            and latest.params.get("kind") in PHRASE_KINDS:
        speakers = latest.params.get("speakers")
        form = PhrasesForm(data={
            "phrases": "\n".join(latest.params.get("phrases", [])),
            "speakers": speakers[0] if speakers and len(speakers) == 1 else "any",
            "expected": str(latest.number)})
    return render_template("scoring/review/flag.html", flag=flag,
                           versions=flag_queries.versions_of(db.session, flag),
                           form=form, button=ButtonForm(),
                           settings=_settings(latest, typed) if flag.kind == FlagKind.RULE.value
                           else [], latest=latest,
                           may_manage=can(current_user, "flag.manage")), status


@bp.get("/flags/<int:flag_id>")
@permission_required("flag.view")
def flag_page(flag_id: int) -> Any:
    return _flag_page(flag_id)


@bp.post("/flags/<int:flag_id>/phrases")
@permission_required("flag.manage")
def edit_phrases(flag_id: int) -> Any:
    """A new version of a phrase rule, in use at once; a stale or wrong edit is shown again
    with what was typed, nothing lost."""
    form = PhrasesForm()
    if not form.validate_on_submit():
        return _flag_page(flag_id, form, 400)
    phrases = [line.strip() for line in (form.phrases.data or "").splitlines() if line.strip()]
    expected = id_arg(request.form, "expected")
    latest = flags.latest_version(db.session, flags.get_flag(db.session, flag_id))
    kind = latest.params.get("kind") if latest is not None else "phrase"
    try:
        version = flags.revise_rule(
            db.session, current_user, flag_id,
            {"kind": kind if kind in PHRASE_KINDS else "phrase", "phrases": phrases,
             "speakers": form.speakers.data},
            note=form.note.data or "", expected_number=expected)
    except (InvalidInput, Conflict) as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return _flag_page(flag_id, form, 409 if isinstance(exc, Conflict) else 400)
    db.session.commit()
    flash(f"Version {version.number} is in use.", "success")
    return redirect(url_for("review.flag_page", flag_id=flag_id))


@bp.post("/flags/<int:flag_id>/settings")
@permission_required("flag.manage")
def edit_settings(flag_id: int) -> Any:
    """A new version of a rule with other numbers (a silence's seconds, a share ...), in use
    at once; a wrong or stale edit comes back with what was typed."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    flag = flags.get_flag(db.session, flag_id)
    latest = flags.latest_version(db.session, flag)
    if latest is None or flag.kind != FlagKind.RULE.value:
        abort(400)
    typed = {key: (request.form.get(key) or "").strip()[:50] for key, _w, _v in _settings(latest)}
    params: dict[str, Any] = {"kind": latest.params["kind"]}
    try:
        for key, raw in typed.items():
            before = latest.params.get(key)
            if raw == "":
                params[key] = None
            elif isinstance(before, str):
                params[key] = raw
            elif isinstance(before, int) and not isinstance(before, bool):
                params[key] = int(raw)
            else:
                params[key] = float(raw)
        version = flags.revise_rule(db.session, current_user, flag_id, params,
                                    note=(request.form.get("note") or "").strip()[:500],
                                    expected_number=id_arg(request.form, "expected"))
    except ValueError:
        db.session.rollback()
        flash("Each setting is a number (a whole number for days, contacts and words).",
              "danger")
        return _flag_page(flag_id, status=400, typed=typed)
    except (InvalidInput, Conflict) as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return _flag_page(flag_id, status=409 if isinstance(exc, Conflict) else 400,
                          typed=typed)
    db.session.commit()
    flash(f"Version {version.number} is in use.", "success")
    return redirect(url_for("review.flag_page", flag_id=flag_id))


@bp.post("/flags/<int:flag_id>/versions/<int:number>/activate")
@permission_required("flag.manage")
def activate(flag_id: int, number: int) -> Any:
    if not ButtonForm().validate_on_submit():
        abort(400)
    flags.activate(db.session, current_user, flag_id, number)
    db.session.commit()
    flash(f"Version {number} is in use. Interactions already checked keep the results of the "
          "version that checked them; `qm flagging check --since DATE` re-scores a period.",
          "success")
    return redirect(url_for("review.flag_page", flag_id=flag_id))


@bp.post("/flags/<int:flag_id>/deactivate")
@permission_required("flag.manage")
def deactivate(flag_id: int) -> Any:
    if not ButtonForm().validate_on_submit():
        abort(400)
    flags.deactivate(db.session, current_user, flag_id)
    db.session.commit()
    flash("The flag is off; what it found stays.", "success")
    return redirect(url_for("review.flag_page", flag_id=flag_id))


# --- the flag report --------------------------------------------------------------------------

def _report_filters(teams: list[Team], flag_ids: set[int]
                    ) -> tuple[queries.ReportFilters, list[str]]:
    """The report's filters from the query string, and a message for each value that could
    not be used (the page says so and shows the default instead), as the QA dashboard does.
    A team id or flag id that is not a number is a 400 (``id_arg``)."""
    problems: list[str] = []
    end, channel = report_queries.window_args(request.args, settings().timezone, problems)
    team_id = id_arg(request.args, "team_id")
    if team_id and team_id not in {t.id for t in teams}:
        problems.append(f"There is no team {team_id} among those you may see; showing every "
                        "team you may see.")
        team_id = None
    flag_id = id_arg(request.args, "flag_id")
    if flag_id and flag_id not in flag_ids:
        problems.append(f"There is no flag {flag_id}; showing every flag.")
        flag_id = None
    return queries.ReportFilters(end, team_id=team_id,
                                 queue=request.args.get("queue", "").strip()[:100],
                                 channel=channel, flag_id=flag_id), problems


def _pct(value: float | None, digits: int = 1) -> float | None:
    """A fraction as the page shows it, in %, so that an export matches the screen."""
    return None if value is None else round(value * 100, digits)


def _met_words(row: queries.FlagReportRow) -> str:
    if row.met is None:
        return ""
    return "yes" if row.met else "no"


@bp.get("/review/report")
@permission_required("flag.view")
def flag_report() -> Any:
    """Fire rate per flag and month, and each flag's precision measured from evaluators'
    verdicts, over 12 months ending a chosen month; CSV/XLSX of either table."""
    teams = [t for t in db.session.scalars(select(Team).order_by(Team.name))
             if can(current_user, "flag.view", t)]
    flag_choices = db.session.execute(select(Flag.id, Flag.name).order_by(Flag.name)).all()
    filters, problems = _report_filters(teams, {f.id for f in flag_choices})
    labels, bounds = report_queries.month_bounds(filters.end, ZoneInfo(settings().timezone))
    scope = scope_clause(current_user, "flag.view", Interaction.agent_id, Interaction.team_id)
    fmt = export_format(request.args)
    table = request.args.get("table") or "rates"
    if fmt and table not in ("rates", "precision"):
        raise BadInput(f"The parameter 'table' is one of rates, precision, not {table[:20]!r}.")
    rows = queries.flag_report(db.session, filters.where(scope, bounds), labels, bounds,
                               filters.flag_id)
    if fmt:
        name = f"flags-{table}-to-{labels[-1]}"
        if table == "precision":
            return table_response(
                fmt, name, "Flag precision",
                ["flag id", "flag", "fired", "reviewed", "confirmed", "dismissed", "missed",
                 "precision %", "95% CI low %", "95% CI high %", "target", "target %",
                 "target met"],
                ([r.flag_id, r.name, r.fired, r.measured.reviewed, r.measured.confirmed,
                  r.measured.dismissed, r.missed, _pct(r.measured.value),
                  _pct(r.measured.low), _pct(r.measured.high), r.target or None,
                  _pct(r.target_value, 0), _met_words(r) or None] for r in rows),
                widths=[8, 30, 8, 9, 10, 10, 8, 11, 12, 12, 10, 9, 10])
        return table_response(
            fmt, name, "Flag fire rate",
            ["flag id", "flag", "month", "checked", "fired", "fire rate %"],
            ([r.flag_id, r.name, m["month"], m["n"], m["fails"],
              None if m["rate"] is None else round(m["rate"], 1)]
             for r in rows for m in r.months), widths=[8, 30, 9, 9, 8, 11])
    return render_template(
        "scoring/review/report.html", filters=filters, problems=problems, labels=labels,
        rows=rows, teams=teams, flags=flag_choices,
        bars=[{"text": r.name, "value": r.measured.value * 100} for r in rows
              if r.measured.value is not None],
        queues=[q for q in db.session.scalars(
            select(Interaction.queue).distinct().order_by(Interaction.queue).where(scope)) if q],
        channels=[c.value for c in Channel])
