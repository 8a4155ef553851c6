"""Writes about role profiles and assessments. Functions take ``(session, actor, ...)`` and
flush, never commit; every change is audited; a bad value is a sentence and writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.frameworks import definition as defs
from competencies.frameworks import queries as framework_queries
from competencies.frameworks.models import CompetencyFramework
from competencies.profiles import gaps
from competencies.profiles.models import (
    Assessment,
    AssessmentMethod,
    CompetencyProfile,
    ProfileKind,
    ProfileMember,
)
from qm import audit
from qm.auth.models import User
from qm.auth.permissions import require
from qm.db import utcnow
from qm.errors import Conflict, InvalidInput, NotFound, StaleEdit

MAX_EVIDENCE = 2000


def _framework(session: Session, framework_id: int) -> tuple[CompetencyFramework,
                                                             defs.Framework]:
    framework = session.get(CompetencyFramework, framework_id)
    if framework is None:
        raise NotFound("Competency framework", framework_id)
    return framework, framework_queries.parsed(framework_queries.version_of(framework))


def _known(parsed: defs.Framework, code: str, framework: CompetencyFramework) -> None:
    if code not in parsed.by_code():
        message = f"{code!r} is not a competency of {framework.name!r}."
        raise InvalidInput(message, {"competency_code": message})


def save_profile(session: Session, actor: Any, *, framework_id: int, kind: str, name: str,
                 requirements: Mapping[str, int],
                 expected_version: int | None = None) -> CompetencyProfile:
    """Create or replace the requirements of the profile (framework, kind, name)."""
    require(actor, "competency.manage")
    framework, kind, name, cleaned = _checked(session, framework_id, kind, name, requirements)
    profile = _profile_named(session, framework.id, kind, name)
    before = None
    if profile is None:
        profile = CompetencyProfile(framework_id=framework.id, kind=kind, name=name,
                                    requirements={})
        session.add(profile)
    else:
        if expected_version is not None and profile.version != expected_version:
            raise StaleEdit("competency profile")
        before = audit.snapshot(profile)
    profile.requirements = cleaned
    profile.updated_at = utcnow()
    profile.updated_by_id = getattr(actor, "id", None)
    session.flush()
    audit.record(session, actor, "competency_profile.saved", profile, before=before,
                 after=audit.snapshot(profile))
    return profile


def _checked(session: Session, framework_id: int, kind: str, name: str,
             requirements: Mapping[str, Any]) -> tuple[CompetencyFramework, str, str,
                                                       dict[str, int]]:
    """A profile's kind, name and requirements as stored, or ``InvalidInput`` saying what is
    wrong: a kind other than role, queue or client, no name, a code the framework's current
    version lacks, a level that is not a whole number on its scale."""
    framework, parsed = _framework(session, framework_id)
    if kind not in {k.value for k in ProfileKind}:
        raise InvalidInput(f"A profile is for a role, a queue or a client, not {kind!r}.",
                           {"kind": "Choose role, queue or client."})
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise InvalidInput("Name the profile (1 to 120 characters).", {"name": "Required."})
    cleaned: dict[str, int] = {}
    for code, level in requirements.items():
        _known(parsed, code, framework)
        if not isinstance(level, int) or isinstance(level, bool):
            raise InvalidInput(f"The level required of {code} must be a whole number.")
        try:
            cleaned[code] = gaps.check_level(level, parsed.top)
        except InvalidInput as exc:
            raise InvalidInput(f"{code}: {exc}", {code: str(exc)}) from None
    return framework, kind, name, dict(sorted(cleaned.items()))


def _profile_named(session: Session, framework_id: int, kind: str,
                   name: str) -> CompetencyProfile | None:
    return session.scalar(select(CompetencyProfile).where(
        CompetencyProfile.framework_id == framework_id, CompetencyProfile.kind == kind,
        CompetencyProfile.name == name))


def _get_profile(session: Session, profile_id: int) -> CompetencyProfile:
    profile = session.get(CompetencyProfile, profile_id)
    if profile is None:
        raise NotFound("Competency profile", profile_id)
    return profile


def _taken(kind: str, name: str) -> Conflict:
    return Conflict(f"There is a {kind} profile named {name!r} already; edit that one, or "
                    "choose another name.")


def create_profile(session: Session, actor: Any, *, framework_id: int, kind: str, name: str,
                   requirements: Mapping[str, int]) -> CompetencyProfile:
    """A new profile; unlike ``save_profile``, one of the same framework, kind and name is
    refused rather than replaced (a page's "New profile" must not overwrite another's)."""
    require(actor, "competency.manage")
    framework, kind, name, cleaned = _checked(session, framework_id, kind, name, requirements)
    if _profile_named(session, framework.id, kind, name) is not None:
        raise _taken(kind, name)
    profile = CompetencyProfile(framework_id=framework.id, kind=kind, name=name,
                                requirements=cleaned, updated_at=utcnow(),
                                updated_by_id=getattr(actor, "id", None))
    session.add(profile)
    session.flush()
    audit.record(session, actor, "competency_profile.saved", profile,
                 after=audit.snapshot(profile))
    return profile


def update_profile(session: Session, actor: Any, profile_id: int, *, kind: str, name: str,
                   requirements: Mapping[str, int],
                   expected_version: int) -> CompetencyProfile:
    """Change a profile's kind, name and requirements. ``expected_version`` is the version the
    editor loaded: a profile saved since is refused (``StaleEdit``) and nothing is written."""
    require(actor, "competency.manage")
    profile = _get_profile(session, profile_id)
    if profile.version != expected_version:
        raise StaleEdit("competency profile")
    _, kind, name, cleaned = _checked(session, profile.framework_id, kind, name, requirements)
    other = _profile_named(session, profile.framework_id, kind, name)
    if other is not None and other.id != profile.id:
        raise _taken(kind, name)
    before = audit.snapshot(profile)
    profile.kind, profile.name, profile.requirements = kind, name, cleaned
    profile.updated_at = utcnow()
    profile.updated_by_id = getattr(actor, "id", None)
    session.flush()
    audit.record(session, actor, "competency_profile.saved", profile, before=before,
                 after=audit.snapshot(profile))
    return profile


def unassign_profile(session: Session, actor: Any, profile_id: int, user_id: int) -> None:
    """Take the profile from one holder; what their profile required no longer counts for
    them (their assessments stay)."""
    require(actor, "competency.manage")
    profile = _get_profile(session, profile_id)
    member = next((m for m in profile.members if m.user_id == user_id), None)
    if member is None:
        user = session.get(User, user_id)
        who = user.display_name if user is not None else f"User #{user_id}"
        raise InvalidInput(f"{who} does not hold the profile {profile.label!r}.")
    profile.members.remove(member)
    session.flush()
    audit.record(session, actor, "competency_profile.unassigned", profile,
                 before={"user_ids": [user_id]})


def assign_profile(session: Session, actor: Any, profile_id: int,
                   user_ids: Iterable[int]) -> list[int]:
    """Give ``user_ids`` the profile; those who hold it already are left alone. Returns the ids
    newly assigned."""
    require(actor, "competency.manage")
    profile = _get_profile(session, profile_id)
    holding = {m.user_id for m in profile.members}
    added = []
    for user_id in dict.fromkeys(user_ids):
        if session.get(User, user_id) is None:
            raise InvalidInput(f"There is no user #{user_id}.")
        if user_id not in holding:
            profile.members.append(ProfileMember(user_id=user_id))
            added.append(user_id)
    session.flush()
    if added:
        audit.record(session, actor, "competency_profile.assigned", profile,
                     after={"user_ids": added})
    return added


def assess(session: Session, actor: Any, *, user_id: int, framework_id: int,
           competency_code: str, level: int, assessed_on: dt.date, method: str,
           evidence: str = "", suggested_level: int | None = None, override_reason: str = "",
           today: dt.date | None = None) -> Assessment:
    """Record an agent's level on a competency. Earlier assessments stay as they were.

    When QA evidence suggested a level (``suggested_level``) and the assessor chose another,
    the reason is required: the matrix shows both, and the reason says why they differ.
    """
    user = session.get(User, user_id)
    if user is None:
        raise InvalidInput(f"There is no user #{user_id}.")
    require(actor, "competency.assess", user)
    if getattr(actor, "id", None) == user.id:
        raise Conflict("Nobody assesses their own competencies.")
    framework, parsed = _framework(session, framework_id)
    _known(parsed, competency_code, framework)
    level = gaps.check_level(level, parsed.top)
    if method not in {m.value for m in AssessmentMethod}:
        raise InvalidInput(f"The method is one of {', '.join(m.value for m in AssessmentMethod)}"
                           f"; not {method!r}.", {"method": "Choose a method."})
    today = today or dt.date.today()
    if assessed_on > today:
        raise InvalidInput(f"An assessment cannot be dated in the future ({assessed_on} is "
                           f"after {today}).", {"assessed_on": "In the future."})
    evidence = (evidence or "").strip()
    if len(evidence) > MAX_EVIDENCE:
        raise InvalidInput(f"Evidence is at most {MAX_EVIDENCE} characters.")
    override_reason = (override_reason or "").strip()
    if suggested_level is not None and suggested_level != level and not override_reason:
        message = (f"QA evidence suggests level {suggested_level}; say why you chose {level}.")
        raise InvalidInput(message, {"override_reason": message})
    item = Assessment(user_id=user.id, framework_id=framework.id,
                      competency_code=competency_code, level=level, assessed_on=assessed_on,
                      method=method, evidence=evidence, suggested_level=suggested_level,
                      override_reason=override_reason, assessor_id=getattr(actor, "id", None))
    session.add(item)
    session.flush()
    audit.record(session, actor, "competency_assessment.recorded", item,
                 after=audit.snapshot(item))
    return item
