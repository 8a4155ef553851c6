"""Flask glue shared by every domain's views and API: the request's database session, the
extensions, the API's error body, saving a form and sending a recording. Who may call a route
is ``qm.auth.access``."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import (
    current_app,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf import CSRFProtect
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from qm.config import Settings
from qm.db import finish, kept_while
from qm.errors import Conflict, NotFound, QMError, StaleEdit
from qm.storage import RecordingStore

T = TypeVar("T")


login_manager = LoginManager()


csrf = CSRFProtect()


limiter = Limiter(key_func=get_remote_address, default_limits=[])


class _Database:
    """``db.session`` is the current request's (or app context's) session."""

    @property
    def session(self) -> Session:
        if "qm_session" not in g:
            g.qm_session = current_app.extensions["qm"]["session_factory"]()
        return g.qm_session

    @property
    def engine(self) -> Any:
        return current_app.extensions["qm"]["engine"]

    def close(self, exc: BaseException | None = None) -> None:
        session = g.pop("qm_session", None)
        if session is not None:
            finish(session, failed=exc is not None)


db = _Database()


LIST_TTL_S = 30.0
"""How long a worker reuses a list it keeps (``kept``): a change made through the same worker
shows at once, one made elsewhere (another worker, the command line) within this time."""


def kept(key: tuple[Any, ...], build: Callable[[], T], *, version: Any = None) -> T:
    """``build()``, reused by this app for ``LIST_TTL_S`` under ``key`` while ``version`` (of
    what the list is made from, e.g. ``qm.auth.models.people_version()``) stays the same: for
    the lists a page offers on every request and that change seldom, such as the five hundred
    agents of a filter."""
    return kept_while(current_app.extensions["qm"].setdefault("kept", {}), key, build,
                      version=version, ttl_s=LIST_TTL_S, limit=KEPT_LISTS)


KEPT_LISTS = 256
"""Lists an app keeps at most (one per scope in use: the site's, each lead's teams)."""


def api_error(status: int, message: str, **extra: Any) -> Any:
    body = {"code": status, "status": _STATUS_NAMES.get(status, "Error"), "message": message}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="qm"'
    return response


_STATUS_NAMES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
                 422: "Unprocessable Entity", 429: "Too Many Requests",
                 500: "Internal Server Error"}


def field_errors(form: Any, exc: QMError) -> None:
    """Put a service's field errors beside the fields of ``form`` that have them."""
    for name, message in getattr(exc, "errors", {}).items():
        if name in form:
            form[name].errors = [*form[name].errors, message]


def show_errors(form: Any, exc: QMError) -> None:
    """Put a service's field errors beside the fields, and its sentence on top of the page."""
    field_errors(form, exc)
    flash(str(exc), "danger")


def commit_write(write: Callable[[], T]) -> T:
    """Run a service's write and commit it; races the database caught become our errors.

    A failed write raises (a ``QMError``); the caller rolls back and shows it with the user's
    input still on the page.
    """
    try:
        result = write()
        db.session.commit()
    except StaleDataError:
        # The version check failed inside the UPDATE: someone saved in the same instant.
        raise StaleEdit("record") from None
    except IntegrityError:
        # Two writes raced past the service's duplicate check; the database said no.
        raise Conflict("The same record was just saved by someone else; nothing was "
                       "written. Check the list before saving again.") from None
    return result


def save_form(
    form: Any,
    write: Callable[[], T],
    done: Callable[[T], Any],
    message: str | Callable[[T], str] = "Saved.",
) -> Any:
    """The one shape of a form POST: validate, write through a service, commit, flash, go on.

    Returns ``done(result)`` (a redirect) after a commit, or else the status with which to
    render the form again, the user's input in it: 200 (not submitted), 400 (invalid), or the
    status of the service's error (409 for a stale edit...). A failed write is rolled back.
    """
    if not form.validate_on_submit():
        return 400 if form.errors else 200
    try:
        result = commit_write(write)
    except QMError as exc:
        db.session.rollback()
        show_errors(form, exc)
        return exc.status
    flash(message(result) if callable(message) else message, "success")
    return done(result)


def publish_page(form: Any, write: Callable[[], T], done: Callable[[T], Any],
                 message: Callable[[T], str], *, what: str, back: str) -> Any:
    """The one shape of a "publish this draft" POST (a scoring form, a competency framework):
    ``done(version)`` after a commit; an incomplete request (no draft number or version) is an
    error page asking to reload ``what``'s page; a refusal of the service (a stale draft, nothing
    to publish) was flashed and shows on that page, ``back``."""
    outcome = save_form(form, write, done, message)
    if not isinstance(outcome, int):
        return outcome
    if outcome == 400 and form.errors:
        return render_template("errors/error.html", status=400,
                               message=f"The publish request was incomplete; reload the "
                                       f"{what}'s page and try again."), 400
    return redirect(back)


def import_page(form: Any, run: Callable[[], Any],
                summary: Callable[[Any], str]) -> tuple[Any, int]:
    """The one shape of an import page's POST: validate, import through a service, commit,
    flash the summary (a warning when rows failed). Returns the report (None when nothing was
    imported) and the status to render the page with; a refused file is rolled back. The
    report says whether every row went in (``ok``)."""
    if not form.validate_on_submit():
        return None, 400 if form.errors else 200
    try:
        report = run()
        db.session.commit()
    except QMError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return None, exc.status
    flash(summary(report), "success" if report.ok else "warning")
    return report, 200


def settings() -> Settings:
    """The running app's settings (``create_app``'s, not the environment's)."""
    return current_app.extensions["qm"]["settings"]


def person_panels(person: Any) -> list[dict[str, Any]]:
    """What other domains say about ``person`` to the current user, for a page about that person
    (the scorecard): every provider in ``app.extensions["qm"]["person_panels"]`` is called as
    ``provider(session, viewer, person)`` and returns panels (dicts: title, lines, and optionally
    link and link_text). The page's domain need not know the others."""
    panels: list[dict[str, Any]] = []
    for provider in current_app.extensions["qm"].get("person_panels", []):
        panels.extend(provider(db.session, current_user, person))
    return panels


def record_links(kind: str, record: Any) -> list[dict[str, str]]:
    """Actions other domains offer on a record of ``kind`` ("evaluation"), for its page: every
    provider in ``app.extensions["qm"]["record_links"][kind]`` is called as
    ``provider(session, viewer, record)`` and returns links (dicts: text, href)."""
    links: list[dict[str, str]] = []
    for provider in current_app.extensions["qm"].get("record_links", {}).get(kind, []):
        links.extend(provider(db.session, current_user, record))
    return links


def recording_store() -> RecordingStore:
    return RecordingStore(settings().recordings_dir)


def send_recording(record: Any) -> Any:
    """A record's stored recording, for the web page's player and the API alike.

    ``conditional=True`` answers Range requests, so a player seeks without a full download.
    The caller has checked the permission for this record.
    """
    if not record.recording_path:
        raise NotFound("Recording", message="There is no recording for this record.")
    path = recording_store().path(record.recording_path)
    if not path.is_file():
        raise NotFound("Recording", message="The recording is missing from the recording "
                                            "store (removed by retention?).")
    response = send_file(path, mimetype=record.recording_type or "application/octet-stream",
                         conditional=True, etag=record.recording_sha256, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def localtime(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC datetime shown in the viewer's own time zone."""
    if value is None:
        return ""
    return value.astimezone(viewer_zone()).strftime(fmt)


_MARK = 7_391_846_205_113  # an id no link holds otherwise: where a row's id goes in its link


def id_href(endpoint: str, arg: str) -> Callable[[int], str]:
    """``url_for(endpoint, **{arg: id})`` for the many rows of a list (a template global):
    the link is built once, with a marker where the id goes, and each row's link is the id put
    in its place. An integer's part of a URL is its decimal digits (werkzeug's ``int``
    converter), so the links are ``url_for``'s own; fifty rows are spared fifty builds of the
    URL map (~15 us each). Anything but an int is built by ``url_for``."""
    built = url_for(endpoint, **{arg: _MARK})
    head, mark, tail = built.partition(str(_MARK))
    if not mark or str(_MARK) in tail:  # a marker already in the path: no shortcut
        return lambda value: url_for(endpoint, **{arg: value})

    def href(value: int) -> str:
        if type(value) is not int or value < 0:
            return url_for(endpoint, **{arg: value})
        return f"{head}{value}{tail}"

    return href


def fixed_url(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint, **values)`` for the links every page carries the same (a template
    global: the stylesheets, the menu's account and log-out links), built once per app and
    script root rather than on every page. Only for links whose values are the same for
    every viewer; a link to a record is ``url_for`` or ``id_href``."""
    store = current_app.extensions["qm"].setdefault("fixed_urls", {})
    key = (request.script_root if has_request_context() else None, endpoint,
           *sorted(values.items()))
    found = store.get(key)
    if found is None:
        if len(store) >= FIXED_URLS_KEPT:  # a proxy sending many script roots: start again
            store.clear()
        found = store[key] = url_for(endpoint, **values)
    return found


FIXED_URLS_KEPT = 256


def viewer_zone() -> ZoneInfo:
    """The viewer's time zone (UTC for nobody), looked up once per request: a page of fifty
    rows shows fifty times in it."""
    zone = g.get("qm_zone")
    if zone is None:
        zone = g.qm_zone = ZoneInfo(getattr(current_user, "timezone", None) or "UTC")
    return zone


def select_options(choices: Iterable[tuple[Any, str]], selected: Any = None) -> Markup:
    """``<option>`` elements for (value, label) pairs, ``selected`` marked (a template global).
    Escaped in one pass, and the last few lists remembered: a filter of five hundred agents,
    the same on every page of a list, is a lookup, not five hundred turns of a template loop."""
    pairs = tuple(choices)
    try:
        return _options(pairs, selected)
    except TypeError:  # an unhashable value: build it afresh
        return _options.__wrapped__(pairs, selected)


@functools.lru_cache(maxsize=32)
def _options(pairs: tuple[tuple[Any, str], ...], selected: Any) -> Markup:
    parts = []
    for value, label in pairs:
        mark = " selected" if value == selected else ""
        parts.append(f'<option value="{escape(str(value))}"{mark}>{escape(label)}</option>')
    return Markup("".join(parts))  # noqa: S704 - every value and label escaped above
