"""Evaluation pages: the evaluator's queue and scoring screen, release, the agent's
acknowledgement and disputes, the reviewer's decision, scorecards, reports and sampling."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from qm.auth.access import permission_required
from qm.auth.models import User
from qm.auth.permissions import can
from qm.db import utcnow
from qm.errors import NotFound, QMError, StaleEdit
from qm.inputs import BadInput, id_arg
from qm.spreadsheets import export_format, table_response
from qm.web import commit_write, db, field_errors, record_links, settings, show_errors
from scoring.evaluations import disputes as dispute_rules
from scoring.evaluations import queries as evaluation_queries
from scoring.evaluations import services as ev
from scoring.evaluations import sheet
from scoring.evaluations.forms import (
    AcknowledgeForm,
    DecisionForm,
    DisputeForm,
    EvaluationForm,
    answers_from,
)
from scoring.evaluations.models import DisputeStatus, Evaluation, EvaluationStatus
from scoring.forms import rules
from transcription import flagging, texts, written
from transcription.flagging import queries as flag_queries

bp = Blueprint("evaluations", __name__)
# the questions as the evaluation, dispute and calibration pages show them (_questions.html)
bp.add_app_template_global(sheet.answered, "answered_questions")
for _draw in (sheet.section_head, sheet.question_head, sheet.answer_label):
    bp.add_app_template_global(_draw)



def _policy() -> ev.Policy:
    return ev.Policy.from_settings(settings())


def _evaluation(evaluation_id: int) -> Evaluation:
    try:
        return ev.get_evaluation(db.session, current_user, evaluation_id,
                                 options=evaluation_queries.PAGE_OPTIONS)
    except NotFound:
        abort(404)


@bp.get("/evaluations")
@permission_required("evaluation.view")
def evaluations() -> Any:
    tab = request.args.get("tab") or ("queue" if can(current_user, "evaluation.score")
                                      else "all")
    status = request.args.get("status", "")
    policy, now = _policy(), utcnow()
    agent_id = id_arg(request.args, "agent_id")
    since = _since_arg(policy)
    fmt = export_format(request.args)
    if tab == "queue":
        page = evaluation_queries.evaluator_queue(db.session, current_user)
    else:
        page = evaluation_queries.list_evaluations(
            db.session, current_user, status=status, agent_id=agent_id,
            submitted_since=since[1] if since else None,
            before=None if fmt else id_arg(request.args, "before"),
            limit=EXPORT_BATCH if fmt else settings().page_size, policy=policy, now=now)
    today = evaluation_queries.site_today(policy, now)
    if fmt:
        def next_page(before: int) -> evaluation_queries.EvaluationPage:
            return evaluation_queries.list_evaluations(
                db.session, current_user, status=status, agent_id=agent_id,
                submitted_since=since[1] if since else None, before=before,
                limit=EXPORT_BATCH, policy=policy, now=now)
        return _export(fmt, page, next_page, today, now)
    agent = db.session.get(User, agent_id) if agent_id else None
    if agent is not None and not can(current_user, "evaluation.view", agent):
        agent = None  # filtered by an id the viewer may not name: the page says "#id"
    return render_template("scoring/evaluations/evaluations.html", page=page, tab=tab,
                           status=status, statuses=evaluation_queries.status_choices(current_user),
                           rows=[evaluation_queries.waiting(e, today, now) for e in page.rows],
                           agent=agent,
                           filters={"status": status, "agent_id": agent_id,
                                    "since": since[0].isoformat() if since else None},
                           policy=policy, open_disputes=dispute_rules.open_disputes_count(
                               db.session, current_user))


EXPORT_BATCH = 500
"""Evaluations read at a time for an export: the list is walked on its key, a batch at a time,
so that an export of every evaluation never sits in memory whole."""


def _export(fmt: str, page: evaluation_queries.EvaluationPage,
            next_page: Any, today: dt.date, now: dt.datetime) -> Any:
    """The list as a table: every row the page's filters select (the first batch is read
    here, so a refused filter is a 400 before the download starts), with the ids the page
    links to, times in the viewer's zone as the page shows them."""
    zone = current_user.timezone or "UTC"
    local = ZoneInfo(zone)

    def when(value: dt.datetime | None) -> dt.datetime | None:
        return value.astimezone(local).replace(tzinfo=None) if value is not None else None

    def rows() -> Any:
        batch = page
        while True:
            for e in batch.rows:
                row = evaluation_queries.waiting(e, today, now)
                yield [e.id, e.interaction_id, e.interaction.channel,
                       when(e.interaction.started_at), e.agent_id, e.agent.display_name,
                       e.evaluator_id, e.evaluator.display_name, when(e.submitted_at),
                       e.due_on, row.age_days, row.overdue, e.status_label, e.targeted,
                       e.score, e.critical_fail]
            if batch.before is None:
                return
            batch = next_page(batch.before)

    return table_response(
        fmt, "evaluations", "Evaluations",
        ["evaluation id", "interaction id", "channel", f"interaction started ({zone})",
         "agent id", "agent", "evaluator id", "evaluator", f"submitted ({zone})", "due",
         "waiting days", "overdue", "status", "targeted", "score", "critical fail"],
        rows(), widths=[11, 11, 9, 19, 9, 24, 11, 24, 19, 11, 8, 8, 22, 9, 8, 8])


def _since_arg(policy: ev.Policy) -> tuple[dt.date, dt.datetime] | None:
    """``since`` (YYYY-MM-DD): submitted on that day or later, the day's start in the site's
    zone (how a scorecard's period begins); a 400 naming the format otherwise."""
    raw = request.args.get("since", "")
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise BadInput(f"The parameter 'since' is a day as YYYY-MM-DD, not {raw[:20]!r}.") \
            from None
    start = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(policy.timezone or "UTC"))
    return day, start.astimezone(dt.UTC)


def _page(evaluation: Evaluation, status: int = 200, *, form: EvaluationForm | None = None,
          answers: dict | None = None, notes: dict | None = None,
          errors: dict | None = None, ack: AcknowledgeForm | None = None,
          dispute: DisputeForm | None = None) -> Any:
    editable = ev.is_editable_by(current_user, evaluation)
    if form is None and editable:  # the scoring form is shown to its evaluator alone
        form = EvaluationForm(formdata=None, version=evaluation.version,
                              comment=evaluation.comment)
    definition = evaluation.form_version.definition
    result = None
    shown_answers = evaluation.answers if answers is None else answers
    scoring_form = ev.form_of(evaluation)
    try:
        result = ev.preview(scoring_form, shown_answers)
    except QMError:
        result = None
    policy = _policy()
    # the agent's response (acknowledge, dispute) is asked on a released evaluation
    responds = (evaluation.agent_id == current_user.id
                and evaluation.status == EvaluationStatus.RELEASED.value)
    # each revision's feedback as written for its answers (the latest is what the page shows)
    history = ev.feedback_history(evaluation.revisions)
    if notes is None:
        notes = ({k: f.text for k, f in history[-1].items()} if history
                 else evaluation.notes)
    return render_template(
        "scoring/evaluations/evaluation.html", evaluation=evaluation, editable=editable, form=form,
        links=record_links("evaluation", evaluation),
        **_transcript_context(evaluation.interaction),
        definition=definition, answers=shown_answers,
        notes=notes, errors=errors or {},
        # who wrote feedback that is not the evaluator's (a reviewer's, with a decision)
        note_sources={k: f.source for k, f in history[-1].items() if f.revision > 1}
        if history else {},
        revision_notes={r.number: {k: f.text for k, f in h.items()}
                        for r, h in zip(evaluation.revisions, history, strict=True)},
        result=result, comments=ev.can_read_comments(current_user, evaluation),
        critical_lines=critical_words(scoring_form, result),
        # the agent's two forms, built only for the page that shows them (the release and
        # reassign forms carry the request's CSRF token alone)
        ack=ack or (AcknowledgeForm(formdata=None) if responds else None),
        dispute=dispute or (DisputeForm(formdata=None) if responds else None),
        last_day=ev.last_day_to_dispute(evaluation, policy),
        window_open=ev.window_open(evaluation, policy, utcnow()),
        agent_zone=ev.agent_zone(evaluation, policy).key, policy=policy,
        responds=responds,
        can_release=can(current_user, "evaluation.release", evaluation),
        evaluators=_evaluators() if can(current_user, "sampling.manage") else [],
        reviewable=[d for d in evaluation.disputes if d.status == DisputeStatus.OPEN.value
                    and dispute_rules.may_review(current_user, d)],
    ), status


def _transcript_context(interaction: Any) -> dict[str, Any]:
    """What ``scoring/_transcript.html`` and the player beside it need, for the evaluation
    screen and the dispute review alike."""
    transcript = texts.shown_transcript(db.session, interaction)
    latest = flagging.latest_flag(db.session, interaction)
    # what flagged it, with the words highlighted; not for the agent, whose evaluation it is
    shown = (flag_queries.of_interaction(db.session, interaction, latest=latest)[0]
             if can(current_user, "flag.view", interaction) else [])
    return {
        "transcript": transcript, "written": written.view(interaction, transcript),
        "shown_body": texts.shown_body(db.session, interaction, transcript),
        "review_flag": None if flag_queries.shows_problem(shown) else latest,
        "flags_shown": shown, "flag_marks": flag_queries.marks_of(shown),
        "can_listen": can(current_user, "recording.listen", interaction),
    }


def _evaluators() -> list[tuple[int, str]]:
    ids = evaluation_queries.active_evaluators(db.session)
    return [(u.id, u.label) for u in db.session.scalars(
        select(User).where(User.id.in_(ids)).order_by(User.display_name))]


@bp.get("/evaluations/<int:evaluation_id>")
@permission_required("evaluation.view")
def evaluation(evaluation_id: int) -> Any:
    return _page(_evaluation(evaluation_id))


@bp.post("/evaluations/<int:evaluation_id>")
@permission_required("evaluation.score")
def save_evaluation(evaluation_id: int) -> Any:
    item = _evaluation(evaluation_id)
    form = EvaluationForm()
    answers, notes = answers_from(request.form, ev.form_of(item).questions())
    if not form.validate_on_submit():
        return _page(item, 400, form=form, answers=answers, notes=notes)
    submit = form.action.data == "submit"
    call = ev.submit if submit else ev.save_draft
    extra = {"policy": _policy()} if submit else {}
    try:
        commit_write(lambda: call(db.session, current_user, item.id, answers, notes=notes,
                                  comment=form.comment.data or "",
                                  expected_version=form.version.data, **extra))
    except QMError as exc:
        db.session.rollback()
        item = _evaluation(evaluation_id)
        if isinstance(exc, StaleEdit):
            # Keep what was typed, and let the next save go through knowingly.
            form.version.data = item.version
            flash("Someone else saved this evaluation after you opened it. Your answers are "
                  "kept below; saving again replaces theirs with yours.", "danger")
        else:
            flash(str(exc), "danger")
        return _page(item, exc.status, form=form, answers=answers, notes=notes,
                     errors=getattr(exc, "errors", {}))
    if submit:
        flash("Evaluation submitted" + (" and released to the agent."
                                        if item.status == "released"
                                        else "; it waits for release."), "success")
        return redirect(url_for("evaluations.evaluations"))
    flash("Draft saved.", "success")
    return redirect(url_for("evaluations.evaluation", evaluation_id=item.id))


@bp.post("/evaluations/<int:evaluation_id>/preview")
@permission_required("evaluation.view")
def preview(evaluation_id: int) -> Any:
    """The live score of the answers on the screen: the one scoring function, as JSON."""
    return preview_response(ev.form_of(_evaluation(evaluation_id)))


def critical_words(form: Any, result: Any) -> list[str]:
    """A missed critical question in words (what it zeroed, what the score would have been),
    for a page's ``#live-reasons``; empty when nothing critical was missed."""
    effect = rules.critical_effect(form, result) if result is not None else None
    return effect.sentences() if effect else []


def preview_response(form: Any) -> Any:
    """The posted answers scored on ``form`` (partial), as JSON; misfits answer 400."""
    answers, _notes = answers_from(request.form, form.questions())
    try:
        result = ev.preview(form, ev.clean_answers(form, answers))
    except QMError as exc:
        return jsonify({"error": str(exc), "errors": getattr(exc, "errors", {})}), 400
    # the critical fail in words, for pages that show it so (``data-words`` on ``#live-reasons``)
    return jsonify({**ev.result_json(result),
                    "critical_text": " ".join(critical_words(form, result))})


def _action(evaluation_id: int, run: Any, message: str, **forms: Any) -> Any:
    item = _evaluation(evaluation_id)
    try:
        commit_write(lambda: run(item))
    except QMError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        for form in forms.values():
            field_errors(form, exc)
        return _page(_evaluation(evaluation_id), exc.status, **forms)
    flash(message, "success")
    return redirect(url_for("evaluations.evaluation", evaluation_id=evaluation_id))


@bp.post("/evaluations/<int:evaluation_id>/release")
@permission_required("evaluation.release")
def release(evaluation_id: int) -> Any:
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        abort(400)
    return _action(evaluation_id, lambda item: ev.release(db.session, current_user, item.id),
                   "Released to the agent.")


@bp.post("/evaluations/<int:evaluation_id>/acknowledge")
@permission_required("evaluation.respond")
def acknowledge(evaluation_id: int) -> Any:
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return _page(_evaluation(evaluation_id), 400, ack=form)
    return _action(evaluation_id, lambda item: ev.acknowledge(
        db.session, current_user, item.id, form.comment.data or "", policy=_policy()),
        "Thank you: the evaluation is acknowledged.", ack=form)


@bp.post("/evaluations/<int:evaluation_id>/dispute")
@permission_required("evaluation.respond")
def dispute(evaluation_id: int) -> Any:
    form = DisputeForm()
    if not form.validate_on_submit():
        return _page(_evaluation(evaluation_id), 400, dispute=form)
    return _action(evaluation_id, lambda item: ev.dispute(
        db.session, current_user, item.id, form.reason.data or "", policy=_policy()),
        "Your dispute is with a reviewer; you will see the decision here.", dispute=form)


@bp.post("/evaluations/<int:evaluation_id>/reassign")
@permission_required("sampling.manage")
def reassign(evaluation_id: int) -> Any:
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        abort(400)
    evaluator_id = id_arg(request.form, "evaluator_id") or 0
    return _action(evaluation_id, lambda item: ev.reassign(db.session, current_user, item.id,
                                                           evaluator_id), "Reassigned.")


@bp.get("/disputes")
@permission_required("dispute.view")
def disputes() -> Any:
    reviewer = can(current_user, "dispute.review")
    policy, now = _policy(), utcnow()
    return render_template("scoring/evaluations/disputes.html", reviewer=reviewer,
                           review_days=policy.review_days,
                           rows=[dispute_rules.waiting(d, policy.review_days, now)
                                 for d in dispute_rules.list_disputes(db.session, current_user)])


@bp.get("/disputes/<int:dispute_id>")
@permission_required("dispute.view")
def dispute_page(dispute_id: int) -> Any:
    return _dispute_page(dispute_id)


@bp.post("/disputes/<int:dispute_id>")
@permission_required("dispute.review")
def dispute_decision(dispute_id: int) -> Any:
    return _dispute_page(dispute_id)


def _dispute_page(dispute_id: int) -> Any:
    try:
        item = dispute_rules.get_dispute(db.session, current_user, dispute_id)
    except NotFound:
        abort(404)
    evaluation = item.evaluation
    form = DecisionForm(version=item.version)
    questions = ev.form_of(evaluation).questions()
    # ``notes`` are the reviewer's new feedback, empty until they write some; the feedback in
    # force is shown beside each question (to those who may read comments)
    answers, notes = (answers_from(request.form, questions) if request.method == "POST"
                      else (evaluation.answers, {}))

    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        status = 400
        if not form.validate_on_submit():
            problems = [e for f in form for e in f.errors]
            flash("Nothing was decided: " + " ".join(problems) + " What you typed is kept "
                  "below.", "danger")
        else:
            try:
                decided = commit_write(lambda: dispute_rules.decide(
                    db.session, current_user, item.id, form.outcome.data,
                    form.comment.data or "", answers=answers, notes=notes,
                    expected_version=form.version.data))
            except QMError as exc:
                db.session.rollback()
                show_errors(form, exc)
                errors = getattr(exc, "errors", {})
                status = exc.status
                item = dispute_rules.get_dispute(db.session, current_user, dispute_id)
                evaluation = item.evaluation
                if isinstance(exc, StaleEdit):
                    form.version.data = item.version
            else:
                flash(f"Dispute {decided.status}; the agent sees the decision.", "success")
                return redirect(url_for("evaluations.evaluation",
                                        evaluation_id=decided.evaluation_id))
    try:  # the score of the answers on the page (changed ones, after a refusal)
        result = ev.preview(ev.form_of(evaluation), answers)
    except QMError:
        result = None
    critical_lines = critical_words(ev.form_of(evaluation), result)
    comments = ev.can_read_comments(current_user, evaluation)
    history = ev.feedback_history(evaluation.revisions)
    feedback = history[-1] if history and comments else {}
    return render_template("scoring/evaluations/dispute.html", dispute=item, evaluation=evaluation,
                           form=form, definition=evaluation.form_version.definition,
                           answers=answers, notes=notes, errors=errors, comments=comments,
                           result=result, critical_lines=critical_lines,
                           prior_notes={k: f.text for k, f in feedback.items()},
                           note_sources={k: f.source for k, f in feedback.items()},
                           **_transcript_context(evaluation.interaction),
                           may_decide=dispute_rules.may_review(current_user, item)
                           and item.status == DisputeStatus.OPEN.value), status
