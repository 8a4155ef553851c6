"""Documents with frozen versions: a scoring form, a competency framework. A document is a name
over a series of versions; a published version never changes (evaluations and assessments
point at what was in force), a change becomes the next draft, publishing retires the version it
replaces, and every step is audited.

The models mix in ``VersionColumns``; the services call ``save_draft`` and ``publish`` with
their own audit names. Nothing here knows what a definition holds: each domain checks its own.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from qm import audit
from qm.db import UTCDateTime, utcnow
from qm.errors import InvalidInput, StaleEdit


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class VersionColumns:
    """The columns of one version of a document; the model adds its parent's key."""

    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=VersionStatus.DRAFT.value)
    definition: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        # optimistic locking: a save against a version someone else changed is refused
        return {"version_id_col": cls.__table__.c.version}


def save_draft(session: Session, actor: Any, document: Any, definition: dict[str, Any], *,
               make_version: Any, action: str, expected: tuple[int, int] | None = None,
               stale: str = "draft") -> Any:
    """The version of ``document`` that holds ``definition``: the latest when it holds it
    already (importing a file twice changes nothing), the latest draft updated, or a new draft
    (``make_version(number=...)``) after a published version.

    ``expected`` is the (number, version) of the latest version the editor started from: when
    another save came in between, nothing is written (``StaleEdit``). ``action`` names the
    audit entries (``<action>.created`` / ``<action>.updated``).
    """
    latest = document.versions[-1] if document.versions else None
    if (expected is not None and latest is not None
            and (latest.number, latest.version) != tuple(expected)):
        raise StaleEdit(stale)
    if latest is not None and latest.definition == definition:
        return latest
    if latest is not None and latest.status == VersionStatus.DRAFT.value:
        before = audit.snapshot(latest)
        latest.definition = definition
        session.flush()
        audit.record(session, actor, f"{action}.updated", latest, before=before,
                     after=audit.snapshot(latest))
        return latest
    version = make_version(number=(latest.number + 1) if latest else 1, definition=definition,
                           created_by_id=getattr(actor, "id", None))
    session.add(version)
    session.flush()
    audit.record(session, actor, f"{action}.created", version, after=audit.snapshot(version))
    return version


def publish(session: Session, actor: Any, document: Any, *, action: str, what: str,
            expected: tuple[int, int] | None = None) -> Any:
    """Publish ``document``'s draft: frozen from now on; the published version it replaces
    retires. ``expected`` is the (number, version) of the draft the publisher looked at: a
    draft changed since is refused, so nobody publishes content they have not seen."""
    draft = next((v for v in document.versions if v.status == VersionStatus.DRAFT.value), None)
    if draft is None:
        raise InvalidInput(f"{what} {document.name!r} has no draft to publish.")
    if expected is not None and (draft.number, draft.version) != tuple(expected):
        raise StaleEdit("draft")
    for old in document.versions:
        if old.status == VersionStatus.PUBLISHED.value:
            before = audit.snapshot(old)
            old.status = VersionStatus.RETIRED.value
            session.flush()
            audit.record(session, actor, f"{action}.retired", old, before=before,
                         after=audit.snapshot(old))
    before = audit.snapshot(draft)
    draft.status = VersionStatus.PUBLISHED.value
    draft.published_at = utcnow()
    draft.published_by_id = getattr(actor, "id", None)
    session.flush()
    audit.record(session, actor, f"{action}.published", draft, before=before,
                 after=audit.snapshot(draft))
    return draft


def current(document: Any, number: int | None = None) -> Any:
    """A given version (None when there is no such number), or the published one (else the
    newest) when no number is given."""
    if number is None:
        published = [v for v in document.versions if v.status == VersionStatus.PUBLISHED.value]
        return published[-1] if published else (document.versions[-1]
                                                 if document.versions else None)
    return next((v for v in document.versions if v.number == number), None)
