"""Every write about people and access. Functions take ``(session, actor, ...)`` and flush."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from qm import audit
from qm.auth.models import PermissionGrant, Team, User, UserRole
from qm.auth.passwords import check_password_policy
from qm.auth.permissions import GRANTABLE, Role, require
from qm.auth.queries import find_user, get_team, get_user
from qm.auth.tokens import revoke_user_tokens
from qm.db import utcnow
from qm.errors import Conflict, InvalidInput, StaleEdit

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# Checked against when the username is unknown, so that a miss costs as long as a hit.
_DUMMY_HASH = generate_password_hash("not-a-password-of-anyone")


def user_snapshot(user: User) -> dict[str, Any]:
    return audit.snapshot(
        user,
        roles=sorted(user.roles),
        grants=sorted(user.grants),
        led_team_ids=sorted(user.led_team_ids),
    )


def team_snapshot(team: Team) -> dict[str, Any]:
    return audit.snapshot(team, lead_ids=sorted(u.id for u in team.leads))


def _clean_roles(roles: Iterable[str]) -> list[str]:
    cleaned = sorted({str(r).strip() for r in roles if str(r).strip()})
    valid = {r.value for r in Role}
    unknown = [r for r in cleaned if r not in valid]
    if unknown:
        raise InvalidInput(
            f"Unknown role {', '.join(unknown)}; roles are {', '.join(sorted(valid))}.",
            {"roles": "Unknown role."},
        )
    if not cleaned:
        raise InvalidInput("A user needs at least one role.", {"roles": "Choose a role."})
    return cleaned


def _clean_grants(grants: Iterable[str]) -> list[str]:
    cleaned = sorted({g.strip() for g in grants if g.strip()})
    bad = [g for g in cleaned if g not in GRANTABLE]
    if bad:
        raise InvalidInput(
            f"{', '.join(bad)} cannot be granted; grantable: {', '.join(GRANTABLE)}."
        )
    return cleaned


def _check_timezone(tz: str) -> str:
    if tz not in available_timezones() and tz != "UTC":
        raise InvalidInput(f"Unknown time zone {tz!r}.", {"timezone": "Unknown time zone."})
    ZoneInfo(tz)
    return tz


def _check_unique(session: Session, user: User | None, username: str, email: str | None) -> None:
    clash = session.scalar(select(User).where(User.username == username))
    if clash is not None and clash is not user:
        raise Conflict(f"The username {username!r} is taken.")
    if email:
        clash = session.scalar(select(User).where(User.email == email))
        if clash is not None and clash is not user:
            raise Conflict(f"The e-mail address {email!r} belongs to another user.")


def create_user(
    session: Session,
    actor: Any,
    *,
    username: str,
    display_name: str,
    roles: Iterable[str],
    password: str | None = None,
    password_hash: str | None = None,
    email: str | None = None,
    team_id: int | None = None,
    timezone: str = "UTC",
    grants: Iterable[str] = (),
) -> User:
    require(actor, "user.manage")
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise InvalidInput(
            "A username is 2-80 lowercase letters, digits, dots, dashes or underscores.",
            {"username": "Use a-z, 0-9, '.', '-' or '_'."},
        )
    email = (email or "").strip().lower() or None
    if email and not EMAIL_RE.match(email):
        raise InvalidInput(f"{email!r} is not an e-mail address.", {"email": "Not an address."})
    role_list = _clean_roles(roles)
    _check_unique(session, None, username, email)
    if team_id is not None:
        get_team(session, team_id)
    if password is not None:
        check_password_policy(password, username, email)
        password_hash = generate_password_hash(password)
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        email=email,
        password_hash=password_hash or "",
        team_id=team_id,
        timezone=_check_timezone(timezone),
        role_rows=[UserRole(role=r) for r in role_list],
        grant_rows=[PermissionGrant(permission=g) for g in _clean_grants(grants)],
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.created", user, after=user_snapshot(user))
    return user


def update_user(
    session: Session,
    actor: Any,
    user_id: int,
    *,
    expected_version: int | None = None,
    display_name: str | None = None,
    email: str | None = None,
    roles: Iterable[str] | None = None,
    grants: Iterable[str] | None = None,
    team_id: int | None | type[...] = ...,
    timezone: str | None = None,
    active: bool | None = None,
) -> User:
    require(actor, "user.manage")
    user = get_user(session, user_id)
    if expected_version is not None and user.version != expected_version:
        raise StaleEdit("user")
    before = user_snapshot(user)
    if display_name is not None:
        user.display_name = display_name.strip() or user.username
    if email is not None:
        new_email = email.strip().lower() or None
        if new_email and not EMAIL_RE.match(new_email):
            raise InvalidInput(f"{new_email!r} is not an e-mail address.")
        _check_unique(session, user, user.username, new_email)
        user.email = new_email
    if roles is not None:
        role_list = _clean_roles(roles)
        if user.id == getattr(actor, "id", None) and Role.ADMIN.value not in role_list:
            raise InvalidInput("You cannot remove your own administrator role.")
        if Role.ADMIN.value in user.roles and Role.ADMIN.value not in role_list:
            _keep_an_admin(session, user)
        user.role_rows = [UserRole(role=r) for r in role_list]
    if grants is not None:
        user.grant_rows = [PermissionGrant(permission=g) for g in _clean_grants(grants)]
    if team_id is not ...:
        if team_id is not None:
            get_team(session, team_id)  # type: ignore[arg-type]
        user.team_id = team_id  # type: ignore[assignment]
    if timezone is not None:
        user.timezone = _check_timezone(timezone)
    deactivated = False
    if active is not None and active != user.active:
        if not active:
            if user.id == getattr(actor, "id", None):
                raise InvalidInput("You cannot deactivate your own account.")
            if Role.ADMIN.value in user.roles:
                _keep_an_admin(session, user)
            user.auth_generation += 1  # ends the user's sessions at once
            deactivated = True
        user.active = active
    _flush_and_audit_update(session, actor, user, before, user_snapshot)
    if deactivated:
        # Revoked, not merely refused while inactive: reactivating must not revive them.
        revoke_user_tokens(session, actor, user, reason="user deactivated")
    return user


def update_own_profile(session: Session, actor: Any, *, timezone: str) -> User:
    """What every user may change about themselves."""
    user = get_user(session, actor.id)
    before = user_snapshot(user)
    user.timezone = _check_timezone(timezone.strip())
    _flush_and_audit_update(session, actor, user, before, user_snapshot)
    return user


def _flush_and_audit_update(
    session: Session, actor: Any, record: Any, before: dict[str, Any], snap: Any
) -> None:
    """Flush, and audit the change if there was one.

    A change held in another table (roles, grants, team leads) leaves the row itself untouched;
    marking a column modified makes the row's UPDATE, and its version check, happen all the same.
    """
    if snap(record) != before:
        flag_modified(record, "created_at")
    session.flush()
    after = snap(record)
    if after != before:
        kind = record.__tablename__.rstrip("s")
        audit.record(session, actor, f"{kind}.updated", record, before=before, after=after)


def _keep_an_admin(session: Session, leaving: User) -> None:
    others = session.scalar(
        select(func.count(User.id))
        .join(UserRole)
        .where(UserRole.role == Role.ADMIN.value, User.active.is_(True), User.id != leaving.id)
    )
    if not others:
        raise InvalidInput("qm needs at least one active administrator; appoint another first.")


def set_password(
    session: Session,
    actor: Any,
    user_id: int,
    new_password: str,
    *,
    current_password: str | None = None,
) -> User:
    user = get_user(session, user_id)
    if getattr(actor, "id", None) == user.id:
        if current_password is None or not check_password_hash(user.password_hash or _DUMMY_HASH,
                                                               current_password):
            raise InvalidInput("Your current password is not right.",
                               {"current_password": "Not right."})
    else:
        require(actor, "user.manage")
    check_password_policy(new_password, user.username, user.email, field="new_password")
    user.password_hash = generate_password_hash(new_password)
    user.auth_generation += 1  # ends the user's sessions at once
    session.flush()
    revoked = revoke_user_tokens(session, actor, user, reason="password changed")
    audit.record(session, actor, "user.password_changed", user,
                 after={"auth_generation": user.auth_generation,
                        "tokens_revoked": sorted(t.id for t in revoked)})
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user whose password this is, if active; ``None`` otherwise (and the try is audited)."""
    user = find_user(session, username) if username else None
    ok = check_password_hash(user.password_hash if user and user.password_hash else _DUMMY_HASH,
                             password)
    if user is None or not ok or not user.active:
        audit.record(
            session, None, "auth.login_failed",
            # An unknown name may be a password typed in the wrong field: never log it as typed.
            entity_type="users", entity_id=user.id if user else "unknown:" + hashlib.sha256(
                username.strip().lower().encode()).hexdigest()[:16],
            after={"reason": "inactive" if (user and ok) else "bad credentials"},
        )
        return None
    # Written past the ORM so that logging in does not bump the row's version: an admin
    # editing this user meanwhile must not get a conflict for it.
    now = utcnow()
    session.execute(update(User).where(User.id == user.id).values(last_login_at=now)
                    .execution_options(synchronize_session=False))
    set_committed_value(user, "last_login_at", now)
    audit.record(session, user, "auth.login", user)
    return user


def create_team(
    session: Session,
    actor: Any,
    *,
    name: str,
    description: str = "",
    lead_ids: Iterable[int] = (),
) -> Team:
    require(actor, "team.manage")
    name = name.strip()
    if not name:
        raise InvalidInput("A team needs a name.", {"name": "Required."})
    if session.scalar(select(Team).where(Team.name == name)) is not None:
        raise Conflict(f"A team named {name!r} exists already.")
    team = Team(name=name, description=description.strip())
    team.leads = [get_user(session, uid) for uid in lead_ids]
    session.add(team)
    session.flush()
    audit.record(session, actor, "team.created", team, after=team_snapshot(team))
    return team


def update_team(
    session: Session,
    actor: Any,
    team_id: int,
    *,
    expected_version: int | None = None,
    name: str | None = None,
    description: str | None = None,
    active: bool | None = None,
    lead_ids: Iterable[int] | None = None,
) -> Team:
    require(actor, "team.manage")
    team = get_team(session, team_id)
    if expected_version is not None and team.version != expected_version:
        raise StaleEdit("team")
    before = team_snapshot(team)
    if name is not None and name.strip() != team.name:
        name = name.strip()
        if not name:
            raise InvalidInput("A team needs a name.", {"name": "Required."})
        if session.scalar(select(Team).where(Team.name == name)) is not None:
            raise Conflict(f"A team named {name!r} exists already.")
        team.name = name
    if description is not None:
        team.description = description.strip()
    if active is not None:
        team.active = active
    if lead_ids is not None:
        team.leads = [get_user(session, uid) for uid in sorted(set(lead_ids))]
    _flush_and_audit_update(session, actor, team, before, team_snapshot)
    return team
