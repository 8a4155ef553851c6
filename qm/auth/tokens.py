"""Every write about people and access. Functions take ``(session, actor, ...)`` and flush."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from qm import audit
from qm.auth.models import ONE_USER_WITH_ACCESS, ApiToken, User
from qm.auth.permissions import require
from qm.auth.queries import get_user
from qm.db import utcnow
from qm.errors import InvalidInput, NotFound

TOKEN_PREFIX = "qm_"  # noqa: S105 - a marker, not a secret


def hash_token(plaintext: str) -> str:
    # Tokens are 256 random bits: a fast hash is safe here and keeps each API call cheap.
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    actor: Any,
    user_id: int,
    *,
    name: str,
    expires_days: int | None = None,
) -> tuple[ApiToken, str]:
    """A new token; the plaintext is returned once and never stored."""
    user = get_user(session, user_id)
    require(actor, "token.manage", user)
    name = name.strip()
    if not name:
        raise InvalidInput("Name the token after what uses it.", {"name": "Required."})
    if expires_days is not None and expires_days < 1:
        raise InvalidInput("A token lives at least one day.", {"expires_days": "At least 1."})
    secret = secrets.token_urlsafe(32)
    plaintext = f"{TOKEN_PREFIX}{secret}"
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=plaintext[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_token(plaintext),
        expires_at=utcnow() + dt.timedelta(days=expires_days) if expires_days else None,
    )
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.created", token, after=audit.snapshot(token))
    return token, plaintext


def revoke_token(session: Session, actor: Any, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("API token", token_id)
    require(actor, "token.manage", token)
    if token.revoked_at is None:
        _revoke(session, actor, token)
    return token


def _revoke(session: Session, actor: Any, token: ApiToken, reason: str | None = None) -> None:
    """One revocation, audited as ``token.revoked`` (with its reason when it came with
    something else: a password change, a deactivation)."""
    before = audit.snapshot(token)
    token.revoked_at = utcnow()
    session.flush()
    after = audit.snapshot(token)
    audit.record(session, actor, "token.revoked", token, before=before,
                 after=after if reason is None else {**after, "reason": reason})


def revoke_user_tokens(session: Session, actor: Any, user: User, *, reason: str
                       ) -> list[ApiToken]:
    """Revoke every token of ``user`` not revoked yet: a password change or a deactivation
    takes away what the old trust gave. Each is audited as ``token.revoked``, with the reason.

    The caller has checked that ``actor`` may do what led here (reset, change, deactivate).
    """
    tokens = list(session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id)))
    for token in tokens:
        _revoke(session, actor, token, reason)
    return tokens


def user_for_token(session: Session, plaintext: str) -> User | None:
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    # the token, its user and the user's access in one statement: every API call pays it
    token = session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext))
        .options(joinedload(ApiToken.user).options(*ONE_USER_WITH_ACCESS))
    ).unique().scalar_one_or_none()
    now = utcnow()
    if token is None or not token.is_usable(now) or not token.user.active:
        return None
    # Usage is noted at most once a minute: a busy integration must not write on every call.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        token.last_used_at = now
    return token.user
