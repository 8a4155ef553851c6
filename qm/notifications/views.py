"""The notifications page (newest first, unread marked, paged), opening one, "mark all read",
the e-mail choice, and the bell every page shows (``bell``, the app's context processor)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from qm.auth.access import login_required
from qm.inputs import id_arg
from qm.notifications import queries, services
from qm.notifications.forms import ActionForm, OpenForm, SettingsForm
from qm.web import commit_write, db, save_form, settings

log = logging.getLogger("qm.notifications")

bp = Blueprint("notifications", __name__)


def bell() -> dict[str, Any]:
    """For every template: ``unread_notifications()``, the current user's unread count, asked
    only by a page that shows the bell (one COUNT query)."""
    return {"unread_notifications": _unread}


def _unread() -> int | None:
    if not current_user.is_authenticated:
        return None
    loaded = getattr(current_user, "unread_notifications", None)
    if loaded is not None:  # loaded with the user (``user_load``): no query of its own
        return int(loaded)
    try:
        return queries.unread_count(db.session, current_user.id)
    except SQLAlchemyError:  # the page (an error page, say) still renders, without a count
        log.exception("the unread count failed")
        db.session.rollback()
        return None


def _incomplete() -> Any:
    return render_template("errors/error.html", status=400,
                           message="The request was incomplete or its form had expired; "
                                   "reload the notifications page and try again."), 400


@bp.get("/notifications")
@login_required
def notifications() -> Any:
    before = id_arg(request.args, "before")
    result = queries.page(db.session, current_user.id, before=before,
                          limit=settings().page_size)
    return render_template(
        "notifications/notifications.html", page=result, before=before,
        open_form=OpenForm(), action_form=ActionForm(),
        choice=services.choice_of(db.session, current_user.id),
        mail_configured=bool(settings().smtp_url), has_address=bool(current_user.email))


@bp.post("/notifications/open")
@login_required
def open_notification() -> Any:
    """Mark one read and go where it points (its own page when it points nowhere)."""
    form = OpenForm()
    if not form.validate_on_submit():
        return _incomplete()
    item = commit_write(lambda: services.mark_read(db.session, current_user,
                                                   form.notification_id.data))
    if item.link and services.is_local(item.link):
        return redirect(item.link)
    return redirect(url_for("notifications.notifications"))


@bp.post("/notifications/read")
@login_required
def read_all() -> Any:
    if not ActionForm().validate_on_submit():
        return _incomplete()
    count = commit_write(lambda: services.mark_all_read(db.session, current_user))
    flash(f"{count} notification(s) marked read." if count else "Nothing was unread.",
          "success")
    return redirect(url_for("notifications.notifications"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def notification_settings() -> Any:
    form = SettingsForm()
    if request.method == "GET":
        form.email.data = services.choice_of(db.session, current_user.id)
    outcome = save_form(
        form, lambda: services.save_choice(db.session, current_user, form.email.data),
        lambda _row: redirect(url_for("notifications.notifications")),
        "Your e-mail choice is saved.")
    if isinstance(outcome, int):
        return render_template("notifications/settings.html", form=form,
                               mail_configured=bool(settings().smtp_url),
                               has_address=bool(current_user.email)), outcome
    return outcome
