"""Calibration pages: sessions, scoring an item, closing, results with agreement statistics,
the consensus, the exportable record, and evaluator drift."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from qm.auth.access import permission_required
from qm.auth.models import Team, User, UserRole
from qm.auth.permissions import can
from qm.auth.queries import visible_teams
from qm.errors import InvalidInput, NotFound, QMError, StaleEdit
from qm.inputs import MAX_ID
from qm.interactions.models import Interaction
from qm.spreadsheets import safe_csv_cell
from qm.web import commit_write, db, save_form, send_recording
from scoring.calibration import queries as cal_queries
from scoring.calibration import results as cal_results
from scoring.calibration import services as cal
from scoring.calibration.forms import CalibrationForm, ConsensusForm, MinutesForm, PickerForm
from scoring.calibration.models import CalibrationSession
from scoring.evaluations.forms import AcknowledgeForm, EvaluationForm, answers_from
from scoring.evaluations.services import preview as score_preview
from scoring.evaluations.services import visible as evaluation_visible
from scoring.evaluations.views import critical_words, preview_response
from scoring.forms.models import FormStatus, FormVersion, ScoringForm
from transcription import texts, written

bp = Blueprint("calibration", __name__)


def _session(session_id: int) -> CalibrationSession:
    try:
        return cal.get_session(db.session, current_user, session_id)
    except NotFound:
        abort(404)


def _item(item_id: int) -> Any:
    try:
        return cal.get_item(db.session, current_user, item_id)
    except NotFound:
        abort(404)


@bp.get("/calibration")
@permission_required("calibration.view")
def sessions() -> Any:
    rows = db.session.scalars(select(CalibrationSession).options(
        selectinload(CalibrationSession.items), selectinload(CalibrationSession.participants))
                              .where(cal.visible_clause(current_user))
                              .order_by(CalibrationSession.status.desc(),
                                        CalibrationSession.id.desc()).limit(200)).all()
    return render_template("scoring/calibration/list.html", sessions=rows)


def _interaction_ids(text: str) -> list[int]:
    """Ids or external ids, one per line; an unknown one is an error naming it."""
    ids: list[int] = []
    unknown = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        found = db.session.scalar(select(Interaction.id).where(or_(
            Interaction.external_id == line,
            Interaction.id == (int(line) if line.isdigit() else -1))).limit(1))
        if found is None:
            unknown.append(line)
        else:
            ids.append(found)
    if unknown:
        raise InvalidInput("Some interactions were not found.",
                           {"interactions": "not found: " + ", ".join(unknown[:10])})
    return ids


def _new_form() -> CalibrationForm:
    form = CalibrationForm()
    form.form_id.choices = [(f.id, f.name) for f in db.session.scalars(
        select(ScoringForm).join(FormVersion).where(
            FormVersion.status == FormStatus.PUBLISHED.value).order_by(ScoringForm.name))]
    teams = [t for t in db.session.scalars(select(Team).order_by(Team.name))
             if can(current_user, "calibration.manage", t)]
    site = [("", "Site-wide")] if can(current_user, "calibration.manage",
                                      cal._TeamScope(None)) else []
    form.team_id.choices = site + [(str(t.id), t.name) for t in teams]
    scorers = db.session.scalars(
        select(User).join(UserRole).where(User.active, UserRole.role.in_(cal.SCORER_ROLES))
        .order_by(User.display_name).distinct()).all()
    form.participants.choices = [(u.id, u.label) for u in scorers]
    form.expert_id.choices = [(0, "No expert")] + [(u.id, u.label) for u in scorers]
    return form


def _picks(source: Any) -> tuple[list[int], list[str]]:
    """The ticked interactions (``pick``), in the order they were first ticked, and what was
    sent as one that is no id at all (a mangled link)."""
    ids: list[int] = []
    bad: list[str] = []
    for raw in source.getlist("pick"):
        value = raw.strip()
        if value.isdigit() and 0 < int(value) <= MAX_ID:
            if int(value) not in ids:
                ids.append(int(value))
        elif value:
            bad.append(value[:40])
    return ids, bad


def _shown(candidate: cal_queries.Candidate | None) -> cal_queries.Candidate | None:
    """A candidate with its evaluation left out where the user may not see it."""
    if (candidate is not None and candidate.evaluation is not None
            and not evaluation_visible(current_user, candidate.evaluation)):
        candidate.evaluation = None
    return candidate


def _picker(source: Any) -> dict[str, Any]:
    """The picker's part of the new-session page: its search form, the page of matches and the
    interactions ticked so far. ``source`` is the query string or the posted page: a search
    posts the whole page, so nothing typed above is lost, and the ticks travel with it."""
    finder = PickerForm(source, prefix="find")
    teams = visible_teams(db.session, current_user)
    finder.team.choices = [("", "All teams")] + [(str(t.id), t.name) for t in teams]
    show_flags = can(current_user, "evaluation.score")  # as the interactions list: a model's
    # suspicion is for the people who choose what to evaluate
    if not finder.validate():
        for name in ("date_from", "date_to"):
            if getattr(finder, name).errors:
                getattr(finder, name).errors[:] = [
                    "Not a date (YYYY-MM-DD): this filter was left out."]

    def ok(name: str) -> Any:
        field = getattr(finder, name)
        return None if field.errors else field.data

    filters = cal_queries.PickerFilters(
        q=ok("q") or "", team_id=int(ok("team")) if ok("team") else None,
        queue=ok("queue") or "", channel=ok("channel") or "", date_from=ok("date_from"),
        date_to=ok("date_to"), timezone=current_user.timezone or "UTC",
        flagged=bool(ok("flagged")) and show_flags, evaluated=ok("evaluated") or "")
    raw_page = source.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) <= 10_000 else 1
    found = cal_queries.candidates(db.session, current_user, filters, page=number)
    ids, bad = _picks(source)
    chosen = [(i, _shown(c)) for i, c in cal_queries.picked(db.session, current_user, ids)]
    return {"finder": finder, "filters": filters, "show_flags": show_flags,
            "found": [_shown(c) for c in found.rows], "page": found.page, "more": found.more,
            "chosen": chosen, "picked_ids": set(ids), "bad_picks": bad,
            "max_items": cal.MAX_ITEMS}


@bp.route("/calibration/new", methods=["GET", "POST"])
@permission_required("calibration.manage")
def new_session() -> Any:
    form = _new_form()
    source = request.form if request.method == "POST" else request.args
    if request.method == "POST" and ("search" in request.form or "page" in request.form):
        # A search or another page of matches: nothing is created, and every field, tick
        # and filter comes back as it was sent.
        return render_template("scoring/calibration/new.html", form=form,
                               **_picker(source)), 200

    def create() -> CalibrationSession:
        ids, bad = _picks(request.form)
        if bad:
            raise InvalidInput("Some picked interactions are not ids.",
                               {"interactions": "not interaction ids: " + ", ".join(bad[:10])})
        typed = _interaction_ids(form.interactions.data or "")
        return cal.create_session(
            db.session, current_user, title=form.title.data or "", form_id=form.form_id.data,
            interaction_ids=[*ids, *typed],
            participant_ids=list(form.participants.data or []),
            expert_id=form.expert_id.data or None, due_on=form.due_on.data,
            mode=form.mode.data,
            team_id=int(form.team_id.data) if form.team_id.data else None)

    outcome = save_form(form, create, lambda s: redirect(
        url_for("calibration.session", session_id=s.id)),
        lambda s: f"Calibration session {s.title!r} created; the participants find it under "
                  "Calibration.")
    if not isinstance(outcome, int):
        return outcome
    return render_template("scoring/calibration/new.html", form=form,
                           **_picker(source)), outcome


@bp.get("/calibration/<int:session_id>")
@permission_required("calibration.view")
def session(session_id: int) -> Any:
    item = _session(session_id)
    progress = {p.user_id: sum(1 for i in item.items for s in i.scores
                               if s.evaluator_id == p.user_id and s.status == "submitted")
                for p in item.participants}
    mine = {i.id: next((s for s in i.scores if s.evaluator_id == current_user.id), None)
            for i in item.items}
    return render_template("scoring/calibration/session.html", item=item, progress=progress,
                           mine=mine, participant=cal.is_participant(current_user, item),
                           manage=cal.may_manage(current_user, item),
                           scores_visible=cal.scores_visible(current_user, item),
                           csrf=AcknowledgeForm(formdata=None))


def _score_page(item: Any, status: int = 200, *, form: EvaluationForm | None = None,
                answers: dict | None = None, notes: dict | None = None,
                errors: dict | None = None) -> Any:
    calibration = item.session
    score = cal.own_score(db.session, current_user, item)
    editable = (calibration.is_open and cal.is_participant(current_user, calibration)
                and (score is None or score.status != "submitted"))
    if form is None:
        form = EvaluationForm(formdata=None, version=score.version if score else None,
                              comment=score.comment if score else "")
    shown = answers if answers is not None else (score.answers if score else {})
    try:
        result = score_preview(cal.form_of(calibration), shown)
    except QMError:
        result = None
    others = []
    if cal.scores_visible(current_user, calibration):
        others = [s for s in item.scores if s.status == "submitted"
                  and s.evaluator_id != current_user.id]
    transcript = texts.shown_transcript(db.session, item.interaction)
    return render_template(
        "scoring/calibration/item.html", item=item, calibration=calibration, score=score,
        editable=editable, form=form, definition=calibration.form_version.definition,
        answers=shown, notes=notes if notes is not None else (score.notes if score else {}),
        errors=errors or {}, result=result, others=others,
        critical_lines=critical_words(cal.form_of(calibration), result),
        transcript=transcript, written=written.view(item.interaction, transcript),
        shown_body=texts.shown_body(db.session, item.interaction, transcript)), status


@bp.get("/calibration/items/<int:item_id>")
@permission_required("calibration.view")
def item(item_id: int) -> Any:
    return _score_page(_item(item_id))


@bp.post("/calibration/items/<int:item_id>")
@permission_required("calibration.score")
def save_item(item_id: int) -> Any:
    found = _item(item_id)
    form = EvaluationForm()
    answers, notes = answers_from(request.form, cal.form_of(found.session).questions())
    if not form.validate_on_submit():
        return _score_page(found, 400, form=form, answers=answers, notes=notes)
    submit = form.action.data == "submit"
    try:
        commit_write(lambda: cal.save_score(
            db.session, current_user, found.id, answers, notes=notes,
            comment=form.comment.data or "", submit=submit,
            expected_version=form.version.data))
    except QMError as exc:
        db.session.rollback()
        found = _item(item_id)
        if isinstance(exc, StaleEdit):
            own = cal.own_score(db.session, current_user, found)
            form.version.data = own.version if own else None
        flash(str(exc), "danger")
        return _score_page(found, exc.status, form=form, answers=answers, notes=notes,
                           errors=getattr(exc, "errors", {}))
    flash("Submitted: thank you." if submit else "Draft saved.", "success")
    if submit:
        return redirect(url_for("calibration.session", session_id=found.session_id))
    return redirect(url_for("calibration.item", item_id=found.id))


@bp.get("/calibration/items/<int:item_id>/recording")
@permission_required("calibration.view")
def recording(item_id: int) -> Any:
    """The item's recording, for those who may see the session: an invited participant from
    another team hears the call they are asked to score."""
    return send_recording(_item(item_id).interaction)


@bp.post("/calibration/items/<int:item_id>/preview")
@permission_required("calibration.score")
def preview(item_id: int) -> Any:
    return preview_response(cal.form_of(_item(item_id).session))


def _redirect_action(session_id: int, run: Any, message: str) -> Any:
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        commit_write(run)
    except QMError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        flash(message, "success")
    return redirect(url_for("calibration.session", session_id=session_id))


@bp.post("/calibration/<int:session_id>/close")
@permission_required("calibration.manage")
def close(session_id: int) -> Any:
    _session(session_id)
    return _redirect_action(session_id, lambda: cal.close_session(
        db.session, current_user, session_id), "Session closed: the results are open to all "
                                               "participants.")


def _results_page(item: CalibrationSession, status: int = 200,
                  posted: dict[int, dict[str, Any]] | None = None) -> Any:
    data = cal_results.results(db.session, item)
    return render_template("scoring/calibration/results.html", item=item, data=data,
                           manage=cal.may_manage(current_user, item) and not item.is_open,
                           consensus_form=ConsensusForm(formdata=None),
                           minutes=MinutesForm(formdata=None, minutes=item.minutes),
                           posted=posted or {},
                           printable=request.args.get("print") == "1"), status


@bp.get("/calibration/<int:session_id>/results")
@permission_required("calibration.view")
def results(session_id: int) -> Any:
    item = _session(session_id)
    if not cal.scores_visible(current_user, item):
        flash("This is a blind session: the scores are shown once it is closed.", "info")
        return redirect(url_for("calibration.session", session_id=session_id))
    return _results_page(item)


@bp.post("/calibration/items/<int:item_id>/consensus")
@permission_required("calibration.manage")
def consensus(item_id: int) -> Any:
    found = _item(item_id)
    form = ConsensusForm()
    if not form.validate_on_submit():
        abort(400)
    answers, notes = answers_from(request.form, cal.form_of(found.session).questions())
    session_id = found.session_id
    try:
        commit_write(lambda: cal.record_consensus(db.session, current_user, found.id, answers,
                                                  notes, expected_version=form.version.data))
    except QMError as exc:
        db.session.rollback()
        flash(f"Item {found.position}: {exc}", "danger")
        found = _item(item_id)
        # The lead's answers and notes stay on the page, with the errors beside the questions
        # and, after a stale edit, the version they can now save over knowingly.
        return _results_page(found.session, exc.status, {found.id: {
            "answers": answers, "notes": notes, "errors": getattr(exc, "errors", {}),
            "version": found.version}})
    flash(f"Consensus for item {found.position} recorded.", "success")
    return redirect(url_for("calibration.results", session_id=session_id) + f"#item-{item_id}")


@bp.post("/calibration/<int:session_id>/minutes")
@permission_required("calibration.manage")
def minutes(session_id: int) -> Any:
    _session(session_id)
    form = MinutesForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        commit_write(lambda: cal.save_minutes(db.session, current_user, session_id,
                                              form.minutes.data or ""))
    except QMError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        flash("Minutes saved.", "success")
    return redirect(url_for("calibration.results", session_id=session_id))


@bp.get("/calibration/<int:session_id>/export.csv")
@permission_required("calibration.view")
def export_csv(session_id: int) -> Any:
    item = _session(session_id)
    if not cal.scores_visible(current_user, item):
        abort(404)
    data = cal_results.results(db.session, item)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["session", "item", "interaction", "question", "evaluator", "answer",
                     "share_of_points", "expert_answer", "consensus", "consensus_note"])
    for result in data.items:
        for row in result.questions:
            for evaluator in data.evaluators:
                share = row.shares.get(evaluator.id)
                writer.writerow(_cells([
                    item.title, result.item.position, result.item.interaction.external_id,
                    row.key, evaluator.username,
                    cal_results.as_nominal(row.answers.get(evaluator.id)),
                    None if share is None else f"{share:.4f}", cal_results.as_nominal(row.expert),
                    cal_results.as_nominal(row.consensus), row.consensus_note]))
    writer.writerow([])
    writer.writerow(["statistic", "value", "ci_low", "ci_high", "note"])
    for stat in data.statistics:
        writer.writerow(_cells([stat.name, _number(stat.value), _number(stat.ci_low),
                                _number(stat.ci_high), stat.note]))
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment",
                         filename=f"calibration-{item.id}.csv")
    return response


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _cells(values: list[Any]) -> list[str]:
    """CSV cells that a spreadsheet will not run as formulas (titles and notes are typed by
    users)."""
    return [safe_csv_cell(value) for value in values]
