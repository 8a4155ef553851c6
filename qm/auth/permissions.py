"""The one permission table. Views, the API, the CLI and services all ask ``can``/``require``.

A permission maps each role to a *scope*: ``ALL`` records, the records of the ``TEAM``s a user
leads, or the user's ``OWN`` records. A role absent from a permission does not have it. Records
tell their scope through two attributes, ``scope_owner_id`` (the agent the record is about) and
``scope_team_id`` (the team it belongs to).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import ColumnElement, bindparam, false, or_, true

from qm.errors import PermissionDenied


class Role(enum.StrEnum):
    ADMIN = "admin"
    QA_EVALUATOR = "qa_evaluator"
    TEAM_LEAD = "team_lead"
    AGENT = "agent"
    HR = "hr"
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.QA_EVALUATOR: "QA evaluator",
    Role.TEAM_LEAD: "Team lead",
    Role.AGENT: "Agent",
    Role.HR: "HR / training",
    Role.AUDITOR: "Auditor (read-only)",
}


class Scope(enum.IntEnum):
    OWN = 1
    TEAM = 2
    ALL = 3


A, Q, L, G, H, U = (Role.ADMIN, Role.QA_EVALUATOR, Role.TEAM_LEAD, Role.AGENT, Role.HR,
                    Role.AUDITOR)
ALL, TEAM, OWN = Scope.ALL, Scope.TEAM, Scope.OWN

# permission -> {role: scope}. Auditors read everything and change nothing.
class _Table(dict):  # type: ignore[type-arg]
    """A table ``scope_for`` reads: setting or removing an entry (a site's variant of the
    table, a test's) forgets the answers ``_scope`` remembered from the old one."""

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        _scope.cache_clear()

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        _scope.cache_clear()


PERMISSIONS: dict[str, dict[Role, Scope]] = _Table({
    # interactions (calls, chats, e-mails) and their recordings
    "interaction.view": {A: ALL, Q: ALL, L: TEAM, G: OWN, U: ALL},
    "interaction.create": {A: ALL, Q: ALL},
    "interaction.edit": {A: ALL},
    "interaction.import": {A: ALL},
    "recording.listen": {A: ALL, Q: ALL, L: TEAM, G: OWN, U: ALL},
    # people
    "user.view": {A: ALL, H: ALL, U: ALL, L: TEAM, Q: ALL},
    "user.manage": {A: ALL},
    "team.view": {A: ALL, H: ALL, U: ALL, L: TEAM, Q: ALL},
    "team.manage": {A: ALL},
    # the audit log as a whole (a record's own history follows the record's view permission)
    "audit.view": {A: ALL, U: ALL},
    # the clause-6 evidence pack: every record of a period in one zip, for an audit
    "evidence.build": {A: ALL, U: ALL},
    # one's own API tokens
    "token.manage": {A: OWN, Q: OWN, L: OWN, G: OWN, H: OWN, U: OWN},
    # scoring forms: QA leads get form.manage as a grant
    "form.view": {A: ALL, Q: ALL, L: ALL, U: ALL},
    "form.manage": {A: ALL},
    # evaluations: agents see their own once released; evaluators score their assignments
    "evaluation.view": {A: ALL, Q: ALL, L: TEAM, G: OWN, U: ALL},
    "evaluation.score": {A: ALL, Q: ALL},
    "evaluation.release": {A: ALL, L: TEAM},
    "evaluation.respond": {G: OWN},  # acknowledge or dispute one's own evaluation
    "dispute.review": {A: ALL, Q: ALL, L: TEAM},
    # reading disputes and sampling rules without acting on them: what an auditor does
    "dispute.view": {A: ALL, Q: ALL, L: TEAM, U: ALL},
    "sampling.view": {A: ALL, L: TEAM, U: ALL},
    "sampling.manage": {A: ALL},
    # running the weekly draw: leads for their teams' rules (rules stay the admins')
    "sampling.run": {A: ALL, L: TEAM},
    # calibration sessions: leads run them for their teams; invited users score in them
    "calibration.view": {A: ALL, Q: ALL, L: TEAM, U: ALL},
    "calibration.manage": {A: ALL, L: TEAM},
    "calibration.score": {A: ALL, Q: ALL, L: ALL},
    # a transcript's text before redaction (kept only with QM_KEEP_RAW_TRANSCRIPTS)
    "transcript.read_raw": {A: ALL},
    # scorecards and team / evaluator reports
    "report.view": {A: ALL, Q: ALL, L: TEAM, U: ALL},
    # evaluations' free-text comments: HR only through a grant
    "evaluation.read_comments": {A: ALL, Q: ALL, L: TEAM, G: OWN, U: ALL},
    # competency frameworks: everyone reads the definitions; HR keeps them
    "competency.view": {A: ALL, Q: ALL, L: ALL, G: ALL, H: ALL, U: ALL},
    "competency.manage": {A: ALL, H: ALL},
    # an agent's level on a competency: leads assess their teams, HR everyone
    "competency.assess": {A: ALL, H: ALL, L: TEAM},
    # skills and training records
    "skills.view": {A: ALL, H: ALL, U: ALL, L: TEAM, G: OWN},
    "skills.manage": {A: ALL, H: ALL},
    # notices of a change (6.5): each recipient sees and acknowledges their own, leads follow
    # their teams' acknowledgements, HR writes and publishes them
    "notice.view": {A: ALL, H: ALL, U: ALL, L: TEAM, G: OWN, Q: OWN},
    "notice.manage": {A: ALL, H: ALL},
    # coaching logs: leads coach their teams, agents see and acknowledge their own, HR reads
    "coaching.view": {A: ALL, H: ALL, U: ALL, L: TEAM, G: OWN},
    "coaching.manage": {A: ALL, L: TEAM},
    # the complaint register (ISO 10002): QA and admins handle every complaint, leads those
    # linked to an interaction of their teams' agents, auditors read them all
    "complaint.view": {A: ALL, Q: ALL, L: TEAM, U: ALL},
    "complaint.manage": {A: ALL, Q: ALL, L: TEAM},
    # the site's working-day calendar (holidays), which every complaint's clock reads
    "calendar.manage": {A: ALL},
    # named flags: evaluators work the review queue (confirm, dismiss, add a missed flag),
    # leads for their teams; auditors read the flags and how they measure; admins (or a grant)
    # edit phrases, train and activate versions
    "flag.view": {A: ALL, Q: ALL, L: TEAM, U: ALL},
    "flag.review": {A: ALL, Q: ALL, L: TEAM},
    "flag.manage": {A: ALL},
    # operational KPIs (FCR, ASA, abandonment, AHT, CSAT, NPS) beside QA results: leads for
    # their teams; admins import the telephony and survey exports
    "kpi.view": {A: ALL, Q: ALL, L: TEAM, U: ALL},
    "kpi.import": {A: ALL},
})

# Permissions that come with another: whoever may change sampling rules may read them, also
# when the change comes from a grant rather than a role.
IMPLIED_BY: dict[str, tuple[str, ...]] = _Table({
    "sampling.view": ("sampling.manage", "sampling.run"), "sampling.run": ("sampling.manage",),
    "dispute.view": ("dispute.review",), "flag.view": ("flag.review", "flag.manage")})

# Permissions that an admin may grant to one user beyond their roles (scope ALL).
GRANTABLE = ("evaluation.read_comments", "audit.view", "interaction.import", "form.manage",
             "sampling.manage", "evaluation.release", "calibration.manage", "flag.manage")


class Actor(Protocol):
    id: int | None
    roles: Collection[str]
    grants: Collection[str]
    led_team_ids: Collection[int]


@dataclass(frozen=True)
class SystemActor:
    """The operator at a shell (CLI, demo builder, migrations): trusted like an admin."""

    name: str = "system"
    id: None = None
    roles: frozenset[str] = frozenset({Role.ADMIN.value})
    grants: frozenset[str] = field(default_factory=frozenset)
    led_team_ids: frozenset[int] = field(default_factory=frozenset)
    is_authenticated: bool = True

    @property
    def label(self) -> str:
        return self.name


def scope_for(actor: Actor | None, permission: str) -> Scope | None:
    """The widest scope any of the actor's roles or grants gives for ``permission``."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    unwrap = getattr(actor, "_get_current_object", None)
    if unwrap is not None:  # Flask-Login's current_user: look through the proxy once
        actor = unwrap()
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    if isinstance(actor, SystemActor):
        return ALL
    return _scope(frozenset(actor.roles), frozenset(actor.grants), permission)


@functools.lru_cache(maxsize=4096)
def _scope(roles: frozenset[str], grants: frozenset[str], permission: str) -> Scope | None:
    """``scope_for`` of a set of roles and grants: a pure function of them, so remembered (a
    page asks it a few dozen times, for the navbar, its buttons and its rows)."""
    if permission in grants:
        return ALL
    table = PERMISSIONS[permission]
    scopes = [table[Role(r)] for r in roles if Role(r) in table]
    scopes += [scope for implying in IMPLIED_BY.get(permission, ())
               if (scope := _scope(roles, grants, implying)) is not None]
    return max(scopes) if scopes else None


def can(actor: Actor | None, permission: str, record: Any = None) -> bool:
    unwrap = getattr(actor, "_get_current_object", None)
    if unwrap is not None:
        actor = unwrap()
    scope = scope_for(actor, permission)
    if scope is None:
        return False
    if record is None or scope is ALL:
        return True
    assert actor is not None
    owner = getattr(record, "scope_owner_id", None)
    if owner is not None and owner == actor.id:
        return True
    if scope is TEAM:
        team = getattr(record, "scope_team_id", None)
        return team is not None and team in actor.led_team_ids
    return False


def require(actor: Actor | None, permission: str, record: Any = None) -> None:
    if not can(actor, permission, record):
        raise PermissionDenied(permission)


def scope_clause(
    actor: Actor | None, permission: str, owner_col: Any, team_col: Any | None = None,
    params: dict[str, Any] | None = None,
) -> ColumnElement[bool]:
    """A WHERE clause that keeps only the rows ``actor`` may see under ``permission``.

    With ``params`` (a dict), the actor's id and teams go into the clause as the named
    parameters ``viewer_id`` and ``viewer_teams`` and their values into ``params``: the clause
    is then the same for every actor of the same scope (see ``scope_shape``), so a statement
    built with it can be built once and executed with each actor's ``params``."""
    scope = scope_for(actor, permission)
    if scope is None:
        return false()
    if scope is ALL:
        return true()
    assert actor is not None
    own = owner_col == as_param(params, "viewer_id", actor.id)
    if scope is TEAM and team_col is not None and actor.led_team_ids:
        return or_(own, team_col.in_(as_param(params, "viewer_teams",
                                              sorted(actor.led_team_ids), expanding=True)))
    return own


def as_param(params: dict[str, Any] | None, name: str, value: Any, *,
             expanding: bool = False) -> Any:
    """``value`` for a clause: as it is without ``params``; with them, the named parameter
    ``name``, its value put in ``params`` (``expanding`` for a list in ``IN``)."""
    if params is None:
        return value
    params[name] = value
    return bindparam(name, expanding=expanding)


def scope_params(actor: Actor) -> dict[str, Any]:
    """Every value ``as_param`` may bind for ``actor`` in ``scope_clause`` (and clauses built
    on it): a clause built once per ``scope_shape`` takes the ones it names from here."""
    return {"viewer_id": getattr(actor, "id", None),
            "viewer_teams": sorted(getattr(actor, "led_team_ids", ()))}


def scope_shape(actor: Actor | None, permission: str) -> tuple[Scope | None, bool]:
    """What decides the form of ``scope_clause(..., params=...)`` for ``actor``: the scope, and
    whether it holds a team list. Actors of the same shape get the same clause."""
    scope = scope_for(actor, permission)
    return scope, bool(scope is TEAM and actor is not None and actor.led_team_ids)
