"""/api/v1: the caller, users and teams, and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import abort
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from qm.audit import AuditEntry
from qm.auth import passwords, services
from qm.auth.access import api_permission, api_user
from qm.auth.models import WITH_ACCESS, Team, User
from qm.auth.permissions import GRANTABLE, Role, can, scope_clause
from qm.inputs import Id, Text
from qm.schemas import AuditEntrySchema
from qm.web import api_error, db

blp = Blueprint("api-auth", __name__, url_prefix="/api/v1", description="People and access")
audit_blp = Blueprint("api-audit", __name__, url_prefix="/api/v1", description="Audit log")


class UserSchema(Schema):
    id = fields.Int(dump_only=True)
    username = Text(required=True)
    display_name = fields.Str(required=True)
    email = fields.Email(allow_none=True)
    roles = fields.List(fields.Str(validate=validate.OneOf([r.value for r in Role])),
                        required=True)
    grants = fields.List(fields.Str(validate=validate.OneOf(GRANTABLE)), load_default=list)
    team_id = Id(allow_none=True)
    timezone = fields.Str(load_default="UTC")
    active = fields.Bool(dump_only=True)
    version = fields.Int(dump_only=True)


class UserCreateSchema(UserSchema):
    password = fields.Str(load_only=True, required=True)


class PasswordSchema(Schema):
    password = fields.Str(load_only=True, required=True,
                          metadata={"description": "the new password"})
    current_password = fields.Str(load_only=True, load_default=None,
                                  metadata={"description": "needed to change one's own"})


class TeamSchema(Schema):
    id = fields.Int(dump_only=True)
    name = Text(required=True)
    description = fields.Str(load_default="")
    active = fields.Bool(dump_only=True)
    lead_ids = fields.List(Id(), load_default=list)
    version = fields.Int(dump_only=True)


class AuditQuerySchema(Schema):
    entity_type = fields.Str()
    entity_id = fields.Str()
    action = fields.Str()
    before = Id(metadata={"description": "only entries with seq below this (paging)"})
    limit = fields.Int(load_default=100, validate=validate.Range(1, 1000))


@contextmanager
def _password_refusal_is_422(field: str = "password") -> Iterator[None]:
    """The service's password rule refuses a field of the request body: answer as flask-smorest
    answers any invalid field, 422 with ``errors.json.<field>``."""
    try:
        yield
    except passwords.PasswordRefused as exc:
        db.session.rollback()
        abort(api_error(422, str(exc), errors={"json": {field: [exc.field_message]}}))


def _team_dump(team: Team) -> dict[str, Any]:
    return {"id": team.id, "name": team.name, "description": team.description,
            "active": team.active, "lead_ids": [u.id for u in team.leads],
            "version": team.version}


@blp.get("/me")
@api_permission(None)
@blp.response(200, UserSchema)
def me() -> Any:
    """The user the token belongs to."""
    return api_user()


@blp.get("/users")
@api_permission("user.view")
@blp.response(200, UserSchema(many=True))
def list_users() -> Any:
    """Users the caller may see."""
    actor = api_user()
    stmt = select(User).where(scope_clause(actor, "user.view", User.id, User.team_id))
    return db.session.scalars(stmt.options(*WITH_ACCESS[:2]).order_by(User.username)).all()


@blp.post("/users")
@api_permission("user.manage")
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
def create_user(data: dict[str, Any]) -> Any:
    """Create a user (administrators)."""
    with _password_refusal_is_422():
        user = services.create_user(db.session, api_user(), **data)
    db.session.commit()
    return user


@blp.get("/users/<int:user_id>")
@api_permission("user.view")
@blp.response(200, UserSchema)
def get_user(user_id: int) -> Any:
    user = db.session.get(User, user_id)
    if user is None or not can(api_user(), "user.view", user):
        abort(api_error(404, f"User {user_id} does not exist or is not visible to you."))
    return user


@blp.post("/users/<int:user_id>/password")
@api_permission("user.manage")
@blp.arguments(PasswordSchema)
@blp.response(204)
def set_user_password(data: dict[str, Any], user_id: int) -> Any:
    """Set a user's password (administrators): their sessions end and their API tokens are
    revoked."""
    user = db.session.get(User, user_id)
    if user is None or not can(api_user(), "user.view", user):
        abort(api_error(404, f"User {user_id} does not exist or is not visible to you."))
    with _password_refusal_is_422():
        services.set_password(db.session, api_user(), user.id, data["password"],
                              current_password=data["current_password"])
    db.session.commit()
    return None


@blp.get("/teams")
@api_permission("team.view")
@blp.response(200, TeamSchema(many=True))
def list_teams() -> Any:
    actor = api_user()
    teams = db.session.scalars(select(Team).order_by(Team.name)).all()
    return [_team_dump(t) for t in teams if can(actor, "team.view", t)]


@blp.post("/teams")
@api_permission("team.manage")
@blp.arguments(TeamSchema)
@blp.response(201, TeamSchema)
def create_team(data: dict[str, Any]) -> Any:
    team = services.create_team(db.session, api_user(), **data)
    db.session.commit()
    return _team_dump(team)


@audit_blp.get("/audit")
@api_permission("audit.view")
@audit_blp.arguments(AuditQuerySchema, location="query")
@audit_blp.response(200, AuditEntrySchema(many=True))
def list_audit(args: dict[str, Any]) -> Any:
    """Audit entries, newest first; page with ``before`` = the last ``seq`` you received."""
    stmt = select(AuditEntry)
    for field in ("entity_type", "entity_id", "action"):
        if args.get(field):
            stmt = stmt.where(getattr(AuditEntry, field) == args[field])
    if args.get("before"):
        stmt = stmt.where(AuditEntry.seq < args["before"])
    return db.session.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(args["limit"])).all()


def register(api: Api) -> None:
    api.register_blueprint(blp)
    api.register_blueprint(audit_blp)

