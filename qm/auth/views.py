"""Login, one's own account and API tokens, and the administration of users and teams."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, select

from qm import audit
from qm.auth import services
from qm.auth import tokens as token_services
from qm.auth.access import login_required, permission_required, public
from qm.auth.forms import (
    ConfirmForm,
    LoginForm,
    NewUserForm,
    PasswordForm,
    ProfileForm,
    ResetPasswordForm,
    TeamForm,
    TokenForm,
    UserForm,
)
from qm.auth.models import ONE_USER_WITH_ACCESS, WITH_ACCESS, ApiToken, Team, User, UserRole
from qm.auth.permissions import Role, can, scope_clause
from qm.errors import QMError
from qm.inputs import version_of
from qm.web import db, limiter, login_manager, save_form, show_errors

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(ident: str) -> User | None:
    user_id, _, generation = ident.partition(":")
    if not user_id.isdigit() or not generation.isdigit():
        return None
    user = db.session.execute(_user_statement(), {"user_id": int(user_id)}
                              ).unique().scalar_one_or_none()
    if user is None or not user.active or user.auth_generation != int(generation):
        return None  # password changed or account closed since this cookie was issued
    return user


def _user_statement() -> Any:
    """The statement that loads the request's user, built once per app: SQLAlchemy computes a
    statement's cache key (a walk of its options and columns) once per statement object, so a
    statement reused with a bound id skips that walk on every request."""
    extension = current_app.extensions["qm"]
    stmt = extension.get("user_statement")
    if stmt is None:
        stmt = extension["user_statement"] = (
            select(User).options(*ONE_USER_WITH_ACCESS, *extension.get("user_load", ()))
            .where(User.id == bindparam("user_id")))
    return stmt


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_key() -> str:
    return "login-user:" + (request.form.get("username") or "").strip().lower()[:254]


@bp.route("/login", methods=["GET", "POST"])
# Only failed logins count: a shift of agents logging in from one office address is not an
# attack; ten wrong passwords for one name, or many from one address, are.
@limiter.limit(lambda: current_app.config["QM_LOGIN_ADDRESS_RATE_LIMIT"], methods=["POST"],
               deduct_when=lambda response: response.status_code == 401)
@limiter.limit(lambda: current_app.config["QM_LOGIN_RATE_LIMIT"], methods=["POST"],
               key_func=_login_key, deduct_when=lambda response: response.status_code == 401)
@public
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session, form.username.data, form.password.data)
        db.session.commit()
        if user is None:
            flash("Wrong username or password, or the account is closed.", "danger")
            return render_template("auth/login.html", form=form), 401
        session.clear()  # a fresh session on login: no fixation
        login_user(user, remember=form.remember.data)
        return redirect(_safe_next(request.args.get("next")) or url_for("core.index"))
    return render_template("auth/login.html", form=form), (400 if form.errors else 200)


@bp.post("/logout")
@login_required
def logout() -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Any:
    profile = ProfileForm(prefix="profile", data={"timezone": current_user.timezone})
    password = PasswordForm(prefix="pw")
    status = 200
    if request.method == "POST":
        try:
            if "profile-timezone" in request.form and profile.validate_on_submit():
                services.update_own_profile(db.session, current_user,
                                            timezone=profile.timezone.data)
                db.session.commit()
                flash("Saved.", "success")
                return redirect(url_for("auth.account"))
            if "pw-new_password" in request.form and password.validate_on_submit():
                services.set_password(db.session, current_user, current_user.id,
                                      password.new_password.data,
                                      current_password=password.current_password.data)
                db.session.commit()
                login_user(current_user)  # keep this session; every other one ends
                flash("Password changed. Your other sessions have been logged out and your "
                      "API tokens revoked.", "success")
                return redirect(url_for("auth.account"))
            status = 400
        except QMError as exc:
            db.session.rollback()
            show_errors(password if "pw-new_password" in request.form else profile, exc)
            status = exc.status
    return render_template("auth/account.html", profile=profile, password=password), status


@bp.route("/account/tokens", methods=["GET", "POST"])
@permission_required("token.manage")
def tokens() -> Any:
    form = TokenForm()
    new_token = None
    status = 200
    if form.validate_on_submit():
        try:
            _token, new_token = token_services.create_token(
                db.session, current_user, current_user.id, name=form.name.data,
                expires_days=form.expires_days.data,
            )
            db.session.commit()
            form = TokenForm(formdata=None)
        except QMError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            status = exc.status
    elif form.errors:
        status = 400
    rows = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id)
        .order_by(ApiToken.created_at.desc())
    ).all()
    return render_template("auth/tokens.html", form=form, tokens=rows, new_token=new_token,
                           revoke_form=ConfirmForm()), status


@bp.post("/account/tokens/<int:token_id>/revoke")
@permission_required("token.manage")
def revoke_token(token_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    token = db.session.get(ApiToken, token_id)
    if token is None or not can(current_user, "token.manage", token):
        abort(404)
    token_services.revoke_token(db.session, current_user, token_id)
    db.session.commit()
    flash(f"Token '{token.name}' revoked.", "success")
    return redirect(url_for("auth.tokens"))


# --- users -----------------------------------------------------------------------------------

def _visible_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not can(current_user, "user.view", user):
        abort(404)
    return user


@bp.get("/users")
@permission_required("user.view")
def users() -> Any:
    q = (request.args.get("q") or "").strip().lower()
    role = request.args.get("role") or ""
    stmt = select(User).where(scope_clause(current_user, "user.view", User.id, User.team_id))
    if q:
        like = f"%{q}%"
        stmt = stmt.where(User.username.like(like) | User.display_name.ilike(like)
                          | User.email.like(like))
    if role:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    rows = db.session.scalars(stmt.options(*WITH_ACCESS[:1]).order_by(User.username)
                              .limit(500)).all()
    return render_template("auth/users.html", users=rows, q=q, role=role, roles=list(Role))


def _team_choices() -> list[tuple[str, str]]:
    teams = db.session.scalars(select(Team).order_by(Team.name)).all()
    return [("", "(no team)")] + [(str(t.id), t.name) for t in teams]


def _user_form_values(form: UserForm) -> dict[str, Any]:
    return {
        "display_name": form.display_name.data,
        "email": form.email.data or "",
        "roles": form.roles.data,
        "grants": form.grants.data,
        "team_id": int(form.team_id.data) if form.team_id.data else None,
        "timezone": form.timezone.data,
    }


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("user.manage")
def new_user() -> Any:
    form = NewUserForm()
    form.team_id.choices = _team_choices()
    outcome = save_form(
        form,
        lambda: services.create_user(db.session, current_user, username=form.username.data,
                                     password=form.password.data, **_user_form_values(form)),
        lambda user: redirect(url_for("auth.user", user_id=user.id)),
        lambda user: f"User {user.username} created.",
    )
    if not isinstance(outcome, int):
        return outcome
    return render_template("auth/user_form.html", form=form, user=None), outcome


def _user_page(target: User, reset_form: ResetPasswordForm) -> str:
    entries = audit.history(db.session, "users", target.id)
    return render_template("auth/user.html", user=target, history=entries, reset_form=reset_form)


@bp.get("/users/<int:user_id>")
@permission_required("user.view")
def user(user_id: int) -> Any:
    return _user_page(_visible_user(user_id), ResetPasswordForm())


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@permission_required("user.manage")
def edit_user(user_id: int) -> Any:
    target = _visible_user(user_id)
    form = UserForm(obj=target) if request.method == "GET" else UserForm()
    form.team_id.choices = _team_choices()
    if request.method == "GET":
        form.roles.data = sorted(target.roles)
        form.grants.data = sorted(target.grants)
        form.team_id.data = str(target.team_id or "")
        form.version.data = str(target.version)
    form.username.data = target.username  # not editable: history refers to it
    outcome = save_form(
        form,
        lambda: services.update_user(db.session, current_user, user_id,
                                     expected_version=version_of(form),
                                     active=form.active.data, **_user_form_values(form)),
        lambda _user: redirect(url_for("auth.user", user_id=user_id)),
    )
    if not isinstance(outcome, int):
        return outcome
    return render_template("auth/user_form.html", form=form, user=target), outcome


@bp.post("/users/<int:user_id>/password")
@permission_required("user.manage")
def reset_password(user_id: int) -> Any:
    target = _visible_user(user_id)
    form = ResetPasswordForm()
    outcome = save_form(
        form,
        lambda: services.set_password(db.session, current_user, target.id,
                                      form.new_password.data),
        lambda _user: redirect(url_for("auth.user", user_id=user_id)),
        f"Password of {target.username} reset; their sessions were ended and their API tokens "
        "revoked.",
    )
    if not isinstance(outcome, int):
        return outcome
    # Refused: the page again, the reason beside the field.
    return _user_page(target, form), outcome


# --- teams -----------------------------------------------------------------------------------

def _visible_team(team_id: int) -> Team:
    team = db.session.get(Team, team_id)
    if team is None or not can(current_user, "team.view", team):
        abort(404)
    return team


@bp.get("/teams")
@permission_required("team.view")
def teams() -> Any:
    stmt = select(Team).order_by(Team.name)
    rows = [t for t in db.session.scalars(stmt) if can(current_user, "team.view", t)]
    return render_template("auth/teams.html", teams=rows)


def _lead_choices() -> list[tuple[int, str]]:
    stmt = (select(User).join(UserRole)
            .where(UserRole.role.in_([Role.TEAM_LEAD.value, Role.ADMIN.value]), User.active)
            .order_by(User.display_name))
    return [(u.id, u.label) for u in db.session.scalars(stmt).unique()]


@bp.route("/teams/new", methods=["GET", "POST"])
@permission_required("team.manage")
def new_team() -> Any:
    form = TeamForm()
    form.lead_ids.choices = _lead_choices()
    outcome = save_form(
        form,
        lambda: services.create_team(db.session, current_user, name=form.name.data,
                                     description=form.description.data or "",
                                     lead_ids=form.lead_ids.data),
        lambda team: redirect(url_for("auth.team", team_id=team.id)),
        lambda team: f"Team {team.name} created.",
    )
    if not isinstance(outcome, int):
        return outcome
    return render_template("auth/team_form.html", form=form, team=None), outcome


@bp.get("/teams/<int:team_id>")
@permission_required("team.view")
def team(team_id: int) -> Any:
    target = _visible_team(team_id)
    entries = audit.history(db.session, "teams", target.id)
    return render_template("auth/team.html", team=target, history=entries)


@bp.route("/teams/<int:team_id>/edit", methods=["GET", "POST"])
@permission_required("team.manage")
def edit_team(team_id: int) -> Any:
    target = _visible_team(team_id)
    form = TeamForm(obj=target) if request.method == "GET" else TeamForm()
    form.lead_ids.choices = _lead_choices()
    if request.method == "GET":
        form.lead_ids.data = [u.id for u in target.leads]
        form.version.data = str(target.version)
    outcome = save_form(
        form,
        lambda: services.update_team(db.session, current_user, team_id,
                                     expected_version=version_of(form),
                                     name=form.name.data, description=form.description.data or "",
                                     active=form.active.data, lead_ids=form.lead_ids.data),
        lambda _team: redirect(url_for("auth.team", team_id=team_id)),
    )
    if not isinstance(outcome, int):
        return outcome
    return render_template("auth/team_form.html", form=form, team=target), outcome
