"""Interaction pages: list and search, detail with history and audio, create, correct, import."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from qm import audit
from qm.auth.access import permission_required
from qm.auth.models import User, UserRole, people_version
from qm.auth.permissions import ALL, Role, can, scope_clause, scope_for
from qm.auth.queries import visible_teams
from qm.errors import InvalidInput
from qm.inputs import id_arg, version_of
from qm.interactions import importing
from qm.interactions import services as interaction_services
from qm.interactions.models import CHANNELS, DIRECTIONS, Interaction
from qm.interactions.retention import set_legal_hold
from qm.spreadsheets import export_format, table_response
from qm.web import (
    db,
    import_page,
    kept,
    localtime,
    record_links,
    recording_store,
    save_form,
    send_recording,
    settings,
)
from scoring.evaluations import services as ev
from scoring.evaluations.forms import AcknowledgeForm
from scoring.evaluations.models import Evaluation
from scoring.evaluations.services import visible
from scoring.interactions import queries
from scoring.interactions.forms import ImportForm, InteractionForm
from scoring.review import dashboard as review_panel
from scoring.sampling import services as sampling
from transcription import flagging, texts, written
from transcription.flagging import queries as flag_queries

bp = Blueprint("interactions", __name__)


# The only query arguments carried from one list page to the next.
FILTER_ARGS = ("q", "agent_id", "team_id", "channel", "direction", "queue", "date_from",
               "date_to", "flagged")


def _visible(interaction_id: int, permission: str = "interaction.view") -> Interaction:
    interaction = db.session.get(Interaction, interaction_id)
    if interaction is None or not can(current_user, permission, interaction):
        abort(404)  # out of scope looks the same as absent: ids are not a side channel
    return interaction


def _filters_from(args: Any) -> queries.InteractionFilters:
    def day(name: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(args.get(name, "")) if args.get(name) else None
        except ValueError:
            flash(f"{args.get(name)!r} is not a date (YYYY-MM-DD); the filter was left out.",
                  "warning")
            return None

    return queries.InteractionFilters(
        q=args.get("q", "").strip(),
        agent_id=id_arg(args, "agent_id"),
        team_id=id_arg(args, "team_id"),
        channel=args.get("channel", ""),
        direction=args.get("direction", ""),
        queue=args.get("queue", ""),
        date_from=day("date_from"),
        date_to=day("date_to"),
        timezone=current_user.timezone or "UTC",
        # a model's suspicion is for the people who choose what to evaluate
        flagged=bool(args.get("flagged")) and can(current_user, "evaluation.score"),
    )


def _agents(visible_to: Any = None) -> list[tuple[int, str, str]]:
    """(id, username, label) of active agents: three columns, not 500 user objects."""
    stmt = (select(User.id, User.username, User.display_name).join(UserRole)
            .where(UserRole.role == Role.AGENT.value, User.active)
            .order_by(User.display_name))
    if visible_to is not None:
        stmt = stmt.where(scope_clause(visible_to, "user.view", User.id, User.team_id))
    return [(i, username, f"{name} ({username})") for i, username, name in db.session.execute(stmt)]


class TeamChoice(NamedTuple):
    """A team as the filter offers it (kept between requests: not an ORM object)."""

    id: int
    name: str


def _scope_key(actor: Any, permission: str) -> tuple[Any, ...]:
    """What decides the rows ``scope_clause(actor, permission, ...)`` keeps: the scope, and
    for a narrower one the user and the teams they lead."""
    scope = scope_for(actor, permission)
    if scope is ALL or scope is None:
        return (scope,)
    return (scope, actor.id, tuple(sorted(actor.led_team_ids)))


def _agent_choices() -> list[tuple[str, str]]:
    return [(username, label) for _i, username, label in _agents()]


@bp.get("/interactions")
@permission_required("interaction.view")
def interactions() -> Any:
    fmt = export_format(request.args)
    filters = _filters_from(request.args)
    if fmt:
        return _export(fmt, filters)
    page_size = settings().page_size
    cursor = request.args.get("cursor")
    try:
        page = queries.list_shown(db.session, current_user, filters, cursor=cursor,
                                  limit=page_size)
    except InvalidInput as exc:  # a mangled link: say so, and show the newest
        flash(str(exc), "warning")
        cursor = None
        page = queries.list_shown(db.session, current_user, filters, limit=page_size)
    # The filter lists offer only the people and teams this user may see; the agents (five
    # hundred at a large site) are kept a while per scope (``kept``), not read every page.
    agents = kept(("interactions.agents", *_scope_key(current_user, "user.view")),
                  lambda: [(i, label) for i, _username, label
                           in _agents(visible_to=current_user)], version=people_version())
    teams = kept(("interactions.teams", *_scope_key(current_user, "team.view")),
                 lambda: [TeamChoice(t.id, t.name)
                          for t in visible_teams(db.session, current_user)],
                 version=people_version())
    if len(agents) <= 1:
        agents = []  # an agent filtering by themselves is no filter
    if len(teams) <= 1:
        teams = []
    newest_args = {k: v for k, v in request.args.items() if v and k in FILTER_ARGS}
    next_args = {**newest_args, "cursor": page.next_cursor} if page.next_cursor else None
    return render_template("scoring/interactions/interactions.html", page=page, filters=filters,
                           agents=agents, teams=teams, channels=CHANNELS,
                           directions=DIRECTIONS, next_args=next_args, newest_args=newest_args,
                           first_page=not cursor)


EXPORT_BATCH = 500
"""Interactions read at a time for an export, walked on the list's key (started, id)."""


def _export(fmt: str, filters: queries.InteractionFilters) -> Any:
    """Every interaction the page's filters select, newest first as the page lists them, a
    batch at a time; the page's columns plus the ids, the start in the viewer's zone and the
    duration in seconds (0: not known) beside the page's label."""
    zone = current_user.timezone or "UTC"
    local = ZoneInfo(zone)

    def rows() -> Any:
        cursor = None
        while True:
            page = queries.list_shown(db.session, current_user, filters, cursor=cursor,
                                      limit=EXPORT_BATCH)
            for i in page.rows:
                yield [i.id, i.started_at.astimezone(local).replace(tzinfo=None), i.agent_id,
                       i.agent_name, i.team_id, i.team_name or "",
                       i.channel, i.direction, i.queue, i.duration_s, i.duration_label,
                       i.customer_ref or "", i.source, i.external_id]
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    return table_response(
        fmt, "interactions", "Interactions",
        ["interaction id", f"started ({zone})", "agent id", "agent", "team id", "team",
         "channel", "direction", "queue", "duration (s)", "duration", "customer", "source",
         "external id"],
        rows(), widths=[11, 19, 9, 24, 8, 18, 9, 9, 16, 10, 9, 18, 12, 20])


@bp.route("/interactions/new", methods=["GET", "POST"])
@permission_required("interaction.create")
def new_interaction() -> Any:
    form = InteractionForm()
    form.agent.choices = _agent_choices()

    def create() -> Interaction:
        upload = form.recording.data
        return interaction_services.create_interaction(
            db.session, current_user, form.values(), store=recording_store(),
            recording=upload.stream if upload else None,
            recording_name=upload.filename if upload else None,
            timezone=current_user.timezone or "UTC",
        )

    outcome = save_form(
        form, create,
        lambda item: redirect(url_for("interactions.interaction", interaction_id=item.id)),
        "Interaction saved.",
    )
    if not isinstance(outcome, int):
        return outcome
    return render_template("scoring/interactions/interaction_form.html", form=form,
                           interaction=None), outcome


@bp.get("/interactions/<int:interaction_id>")
@permission_required("interaction.view")
def interaction(interaction_id: int) -> Any:
    item = _visible(interaction_id)
    history = audit.history(db.session, "interactions", item.id)
    evaluations = [e for e in db.session.scalars(
        select(Evaluation).where(Evaluation.interaction_id == item.id).order_by(Evaluation.id))
        if visible(current_user, e)]
    transcript = texts.shown_transcript(db.session, item)
    panel = review_panel.interaction_panel(db.session, current_user, item)
    return render_template("scoring/interactions/interaction.html", interaction=item,
                           history=history, written=written.view(item, transcript),
                           shown_body=texts.shown_body(db.session, item, transcript),
                           can_listen=can(current_user, "recording.listen", item),
                           evaluations=evaluations, transcript=transcript,
                           # unless the panel shows the evaluation model's flag already
                           review_flag=None if panel and flag_queries.shows_problem(
                               panel["shown"]) else flagging.latest_flag(db.session, item),
                           flag_panel=panel,
                           links=record_links("interaction", item))


@bp.post("/interactions/<int:interaction_id>/legal-hold")
@permission_required("interaction.edit")
def legal_hold(interaction_id: int) -> Any:
    _visible(interaction_id, "interaction.edit")
    if not FlaskForm().validate_on_submit():
        abort(400)
    hold = request.form.get("hold") == "1"
    set_legal_hold(db.session, current_user, interaction_id, hold)
    db.session.commit()
    flash("On legal hold: retention will not delete the recording." if hold
          else "Legal hold released.", "success")
    return redirect(url_for("interactions.interaction", interaction_id=interaction_id))


@bp.route("/interactions/<int:interaction_id>/edit", methods=["GET", "POST"])
@permission_required("interaction.edit")
def edit_interaction(interaction_id: int) -> Any:
    item = _visible(interaction_id, "interaction.edit")
    form = InteractionForm() if request.method == "POST" else InteractionForm(
        data={
            "version": str(item.version), "external_id": item.external_id,
            "agent": item.agent.username, "channel": item.channel,
            "direction": item.direction, "queue": item.queue,
            "started_at": _local_input(item.started_at),
            "duration_s": str(item.duration_s), "customer_ref": item.customer_ref or "",
            "body": _editable_body(item),
        }
    )
    form.agent.choices = _agent_choices()
    if item.agent.username not in dict(form.agent.choices):
        form.agent.choices.insert(0, (item.agent.username, f"{item.agent.label} (inactive)"))

    def correct() -> Interaction:
        values = form.values()
        values.pop("external_id")
        # What comes back as it was shown is no change: the start shown in local time to the
        # second (which cannot say which 02:30 of an autumn night it was, nor its microseconds)
        # and an agent who may have left since.
        if form.started_at.data == _local_input(item.started_at):
            values.pop("started_at")
        if form.agent.data == item.agent.username:
            values.pop("agent")
        sent = (values.get("body") or "").replace("\r\n", "\n").strip()
        if sent == _editable_body(item).strip():
            values.pop("body", None)  # the text as shown (redacted, for most) is no change
        return interaction_services.update_interaction(
            db.session, current_user, interaction_id, values,
            expected_version=version_of(form), timezone=current_user.timezone or "UTC")

    outcome = save_form(
        form, correct,
        lambda _item: redirect(url_for("interactions.interaction", interaction_id=interaction_id)),
    )
    if not isinstance(outcome, int):
        return outcome
    return render_template("scoring/interactions/interaction_form.html", form=form,
                           interaction=item), outcome


def _editable_body(item: Interaction) -> str:
    """The text an editor starts from: as typed for holders of ``transcript.read_raw``, else
    as everyone is shown it (redacted); sending it back unchanged changes nothing."""
    if can(current_user, "transcript.read_raw"):
        return item.body or ""
    return texts.shown_body(db.session, item) or ""


def _local_input(value: dt.datetime) -> str:
    return localtime(value, "%Y-%m-%d %H:%M:%S")


@bp.get("/interactions/<int:interaction_id>/recording")
@permission_required("recording.listen")
def recording(interaction_id: int) -> Any:
    return send_recording(_visible(interaction_id, "recording.listen"))


@bp.route("/interactions/import", methods=["GET", "POST"])
@permission_required("interaction.import")
def import_interactions() -> Any:
    form = ImportForm()
    report, status = import_page(
        form, lambda: importing.import_csv(
            db.session, current_user, form.file.data.stream,
            source=form.source.data.strip(), timezone=form.timezone.data.strip(),
            on_chunk=lambda _report: db.session.commit()),
        lambda report: f"{report.created} imported, {report.already_imported} already there, "
                       f"{len(report.errors)} rows with errors.")
    return render_template("scoring/interactions/import.html", form=form, report=report), status


@bp.post("/interactions/<int:interaction_id>/evaluate")
@permission_required("evaluation.score")
def evaluate_interaction(interaction_id: int) -> Any:
    interaction = _visible(interaction_id)
    form = AcknowledgeForm()  # any FlaskForm: the CSRF check
    if not form.validate_on_submit():
        abort(400)
    evaluation = ev.start_evaluation(
        db.session, current_user, interaction,
        form_id=sampling.rule_form_for(db.session, interaction))
    db.session.commit()
    return redirect(url_for("evaluations.evaluation", evaluation_id=evaluation.id))
