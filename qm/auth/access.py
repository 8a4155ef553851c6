"""Who may call a route: the access decorators of pages and API routes (which also label each
route for the permission-matrix test), the API's bearer-token check, and ``can`` for templates."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, request
from flask_login import current_user

from qm.auth.permissions import can, scope_for
from qm.auth.tokens import user_for_token
from qm.web import api_error, db, login_manager

F = TypeVar("F", bound=Callable[..., Any])


PUBLIC = "public"
AUTHENTICATED = "authenticated"


def _mark(view: Any, access: str) -> None:
    view._qm_access = access


def public(view: F) -> F:
    """Anyone, logged in or not (login page, health check)."""
    _mark(view, PUBLIC)
    return view


def access_of(app: Any, endpoint: str) -> str | None:
    """Who may call ``endpoint``: PUBLIC, AUTHENTICATED, a permission name, or None if the
    route declares nothing (which the permission-matrix test refuses)."""
    if endpoint in app.extensions["qm"]["public_endpoints"]:
        return PUBLIC
    return getattr(app.view_functions[endpoint], "_qm_access", None)


def login_required(view: F) -> F:
    """Any logged-in user; what they then see is scoped inside."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    _mark(wrapper, AUTHENTICATED)
    return wrapper  # type: ignore[return-value]


def permission_required(permission: str) -> Callable[[F], F]:
    """A logged-in user whose roles give ``permission`` at some scope.

    Records are checked again inside (``require(actor, permission, record)``), since a scope
    narrower than ALL depends on the record.
    """
    scope_for(None, permission)  # unknown permission names fail at import, not at request time

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if scope_for(current_user, permission) is None:
                abort(403)
            return view(*args, **kwargs)

        _mark(wrapper, permission)
        return wrapper  # type: ignore[return-value]

    return decorator


def api_user() -> Any:
    if "qm_api_user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user = None
        if scheme.lower() == "bearer" and token.strip():
            user = user_for_token(db.session, token.strip())
            if user is not None:
                db.session.commit()  # last_used_at
        g.qm_api_user = user
    return g.qm_api_user


def api_permission(permission: str | None) -> Callable[[F], F]:
    """An API caller with a valid token whose roles give ``permission`` (None: any valid token)."""
    if permission is not None:
        scope_for(None, permission)

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = api_user()
            if user is None:
                abort(api_error(401, "Send a valid API token: 'Authorization: Bearer qm_...'."))
            if permission is not None and scope_for(user, permission) is None:
                abort(api_error(403, f"Your roles do not give the permission '{permission}'."))
            return view(*args, **kwargs)

        _mark(wrapper, permission or AUTHENTICATED)
        return wrapper  # type: ignore[return-value]

    return decorator


def user_can(permission: str, record: Any = None) -> bool:
    return can(current_user, permission, record)
