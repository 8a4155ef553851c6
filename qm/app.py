"""The application factory."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, render_template, request
from flask_smorest import Api
from flask_smorest.spec.plugins import integerconverter2paramschema
from markupsafe import Markup
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import qm
from qm import domains, migrations
from qm.auth.access import user_can
from qm.config import DOMAINS, Settings
from qm.errors import QMError
from qm.inputs import BadInput, IdConverter, check_request, refuse_large_bodies
from qm.web import (
    api_error,
    csrf,
    db,
    fixed_url,
    id_href,
    limiter,
    localtime,
    login_manager,
    select_options,
)

log = logging.getLogger("qm")

HERE = Path(__file__).parent


def _templates_dir() -> Path:
    # Installed: qm/templates (package data). Editable checkout: the repository's templates/.
    installed = HERE / "templates"
    return installed if (installed / "base.html").exists() else HERE.parent / "templates"


def create_app(config: Mapping[str, Any] | None = None, *, check_schema: bool = True) -> Flask:
    """Build the app. ``config`` holds Settings fields (lowercase) and Flask keys (uppercase)."""
    config = dict(config or {})
    fields = {f.name for f in dataclasses.fields(Settings)}
    settings = Settings(**{k: v for k, v in config.items() if k in fields})
    flask_overrides = {k: v for k, v in config.items() if k not in fields}

    app = Flask(
        "qm",
        template_folder=str(_templates_dir()),
        static_folder=str(HERE / "static"),
        static_url_path="/static",
    )
    # Before any route is added: every <int:...> in a path is an id within the database's range.
    app.url_map.converters["int"] = IdConverter
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_NAME="qm_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_DURATION=dt.timedelta(days=14),
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
        # A CSRF token lives as long as the session: an evaluator who spends two hours on a
        # form must not lose it to an expired token.
        WTF_CSRF_TIME_LIMIT=None,
        RATELIMIT_STORAGE_URI=settings.rate_limit_storage,
        RATELIMIT_HEADERS_ENABLED=True,
        QM_LOGIN_RATE_LIMIT=settings.login_rate_limit,
        QM_LOGIN_ADDRESS_RATE_LIMIT=settings.login_address_rate_limit,
        API_TITLE="qm API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "qm's REST API. Authenticate with a personal API token "
                     "(Account > API tokens): `Authorization: Bearer qm_...`. Every call is "
                     "checked against the same permission table as the web app."},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http",
                                                              "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )
    app.config.update(flask_overrides)
    if settings.proxy_hops:
        # The client's address (for rate limits) and scheme come from the trusted proxies.
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    # Outermost: a body declared too large is refused before sessions, CSRF or a view read it.
    app.wsgi_app = refuse_large_bodies(  # type: ignore[method-assign]
        app.wsgi_app, lambda: app.config["MAX_CONTENT_LENGTH"])

    from qm.db import make_engine, make_session_factory

    engine = make_engine(settings.database_url)
    if check_schema:
        migrations.check_schema(engine)
    app.extensions["qm"] = {
        "settings": settings,
        "engine": engine,
        "session_factory": make_session_factory(engine, settings),
    }
    app.teardown_appcontext(db.close)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    limiter.init_app(app)

    api = Api(app)
    api.register_converter(IdConverter, integerconverter2paramschema)
    from qm import views as core_views
    from qm.auth import api as auth_api
    from qm.auth import views as auth_views

    app.register_blueprint(core_views.bp)
    app.register_blueprint(auth_views.bp)
    from qm.notifications import views as notification_views

    app.register_blueprint(notification_views.bp)
    app.context_processor(notification_views.bell)  # the bell's unread count, on every page
    # ... loaded with the request's user, in the statement that loads them
    from sqlalchemy.orm import with_expression

    from qm.auth.models import User
    from qm.notifications import queries as notification_queries

    app.extensions["qm"].setdefault("user_load", []).append(
        with_expression(User.unread_notifications, notification_queries.unread_expression()))
    auth_api.register(api)
    from qm.notifications import api as notification_api

    notification_api.register(api)
    domains.load()
    for name in DOMAINS:
        module = importlib.import_module(name)
        if getattr(module, "__file__", None) is None:
            # a folder of the same name without __init__.py came first on sys.path
            raise RuntimeError(f"The {name!r} domain was imported as an empty namespace package "
                               f"from {list(module.__path__)}; put the qm checkout or its "
                               f"installed copy first on sys.path.")
        init = getattr(module, "init_app", None)
        if init is not None:
            init(app, api)
    # The API authenticates with bearer tokens only, never cookies, so CSRF cannot reach it.
    for blueprint in list(app.blueprints.values()):
        if (blueprint.url_prefix or "").startswith("/api/"):
            csrf.exempt(blueprint)

    # Endpoints of Flask and flask-smorest themselves: static files and the OpenAPI document.
    app.extensions["qm"]["public_endpoints"] = {"static", "api-docs.openapi_json"}

    _register_error_pages(app)
    app.before_request(lambda: check_request(request))
    _register_template_helpers(app)

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        )
        if settings.secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.path.startswith("/api/") or response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _register_error_pages(app: Flask) -> None:
    def render_error(status: int, message: str = "") -> Any:
        if is_api_request():
            return api_error(status, message or _default_message(status))
        return render_template("errors/error.html", status=status,
                               message=message or _default_message(status)), status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if exc.response is not None:  # an api_error(...) passed to abort()
            return exc.response
        status = exc.code or 500
        message = ""
        headers = {k: v for k, v in exc.get_headers() if k == "Allow"}  # 405 says what is
        data = getattr(exc, "data", None) or {}
        if status in (400, 422):
            message = _smorest_message(data) or (exc.description or "")
            if is_api_request() and data.get("messages"):
                # Field by field, as flask-smorest reports them: {"json": {"channel": [...]}}
                return api_error(status, message, errors=data["messages"])
        elif status == 429:
            message = "Too many attempts. Wait a minute, then try again."
        response = app.make_response(render_error(status, message))
        response.headers.update(headers)
        return response

    @app.errorhandler(BadInput)
    def bad_input(exc: BadInput) -> Any:
        return render_error(exc.status, str(exc))

    @app.errorhandler(QMError)
    def qm_error(exc: QMError) -> Any:
        db.session.rollback()
        if is_api_request():
            return api_error(exc.status, str(exc), errors=getattr(exc, "errors", {}))
        return render_error(exc.status, str(exc))

    @app.errorhandler(IntegrityError)
    def integrity(exc: IntegrityError) -> Any:
        # A race the services' own checks could not see: the database's constraint said no.
        db.session.rollback()
        # The type only: PostgreSQL's DETAIL quotes the failing row, which may be personal.
        log.info("integrity error on %s %s: %s", request.method, request.path,
                 type(exc.orig).__name__)
        message = ("The same record was just written by someone else; nothing was written. "
                   "Reload and check before trying again.")
        if is_api_request():
            return api_error(409, message)
        return render_error(409, message)

    @app.errorhandler(StatementError)
    @app.errorhandler(OverflowError)
    def unstorable(exc: Exception) -> Any:
        # A value the checks before the database did not catch, and the database (or its
        # driver) refused: a number past its range, a date it cannot hold. The request was
        # wrong, not the server; the parameters stay out of the log (they may be personal).
        orig = getattr(exc, "orig", exc)
        if not isinstance(exc, DataError) and not isinstance(orig, OverflowError):
            return unexpected(exc)  # our own bug (a naive datetime, say): a 500, logged
        db.session.rollback()
        log.info("value refused by the database on %s %s: %s", request.method, request.path,
                 type(orig).__name__)
        return render_error(422, "A value in the request is out of the range this site can "
                                 "store (a number or a date too large or too small, or text "
                                 "with a NUL character); nothing was written.")

    @app.errorhandler(StaleDataError)
    def stale(exc: StaleDataError) -> Any:
        db.session.rollback()
        return render_error(409, "Someone else saved this record at the same moment; nothing "
                                 "was written. Reload and apply your change again.")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the page must still render
            log.exception("rollback failed")
        return render_error(500)


def _smorest_message(data: Mapping[str, Any]) -> str:
    messages = data.get("messages") if isinstance(data, Mapping) else None
    if not messages:
        return ""
    parts = []
    for location, fields in messages.items():
        if isinstance(fields, Mapping):
            for field, errs in fields.items():
                text = "; ".join(map(str, errs)) if isinstance(errs, list) else errs
                parts.append(f"{field}: {text}")
        else:
            parts.append(f"{location}: {fields}")
    return "Invalid input. " + " ".join(parts)


def _default_message(status: int) -> str:
    return {
        400: "The request could not be understood.",
        401: "Log in first.",
        403: "You do not have access to this page. Ask an administrator if you need it.",
        404: "There is nothing here, or it is not visible to you.",
        405: "That action is not possible here.",
        409: "Someone else changed this first.",
        413: "The upload is larger than this site allows.",
        422: "A value in the request cannot be used.",
        429: "Too many attempts. Wait a minute, then try again.",
        500: "Something went wrong on our side. It has been logged; please try again.",
    }.get(status, "Something went wrong.")


NAVBARS_KEPT = 256
"""Rendered navbars a process keeps (one per set of roles and grants in use)."""


def _register_template_helpers(app: Flask) -> None:
    from qm.auth.permissions import ROLE_LABELS, Role

    def has_reports() -> bool:
        """Whether the reports home (``/reports``) lists anything for this user: the navbar's
        "Reports" shows then. The domains' providers only check permissions, no query."""
        from flask_login import current_user

        if not current_user.is_authenticated:
            return False
        return any(provider(current_user)
                   for provider in app.extensions["qm"].get("reports", []))

    navbars: dict[tuple[Any, ...], Markup] = {}

    def navbar_links() -> Markup:
        """The navbar's links (``_navbar.html``) for the current user. They depend only on the
        user's roles and grants (``has_reports`` asks permissions, no query), so each set of
        them is rendered once per process and reused: a page is spared some twenty permission
        checks and URL builds."""
        from flask_login import current_user

        user = current_user._get_current_object()
        key = (request.script_root, frozenset(user.roles), frozenset(user.grants))
        html = navbars.get(key)
        if html is None:
            if len(navbars) >= NAVBARS_KEPT:
                navbars.clear()
            # an autoescaped template's output: already safe HTML
            html = navbars[key] = Markup(render_template("_navbar.html"))  # noqa: S704
        return html

    app.jinja_env.globals.update(
        can=user_can,
        has_reports=has_reports,
        navbar_links=navbar_links,
        fixed_url=fixed_url,
        id_href=id_href,
        select_options=select_options,
        qm_version=qm.__version__,
        role_labels={r.value: ROLE_LABELS[r] for r in Role},
    )
    app.jinja_env.filters["localtime"] = localtime
