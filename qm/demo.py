"""`qm demo`: a small contact centre to look around in. Idempotent: a re-run adds nothing."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select
from werkzeug.security import generate_password_hash

from qm import domains, migrations
from qm.auth import services
from qm.auth.models import Team, User
from qm.auth.permissions import SystemActor
from qm.config import DOMAINS, Settings
from qm.db import make_session_factory

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed for the demo on purpose

TEAMS = [
    ("Billing", "Invoices, payments and refunds", ["lead1"]),
    ("Technical support", "Connectivity, devices and outages", ["lead2"]),
]

# username, full name, roles, team
PEOPLE: list[tuple[str, str, list[str], str | None]] = [
    ("admin", "Ada Admin", ["admin"], None),
    ("qa1", "Quinn Abbott", ["qa_evaluator"], None),
    ("qa2", "Rosa Quintero", ["qa_evaluator"], None),
    ("lead1", "Lena Park", ["team_lead"], None),
    ("lead2", "Tomas Brandt", ["team_lead"], None),
    ("hr1", "Hana Ruiz", ["hr"], None),
    ("auditor1", "Otto Auditor", ["auditor"], None),
    ("agent1", "Amira Haddad", ["agent"], "Billing"),
    ("agent2", "Ben Okafor", ["agent"], "Billing"),
    ("agent3", "Chloe Martin", ["agent"], "Billing"),
    ("agent4", "Dev Patel", ["agent"], "Billing"),
    ("agent5", "Elena Rossi", ["agent"], "Technical support"),
    ("agent6", "Farid Nasser", ["agent"], "Technical support"),
    ("agent7", "Grace Liu", ["agent"], "Technical support"),
    ("agent8", "Hugo Silva", ["agent"], "Technical support"),
]


def build(settings: Settings, engine: Engine,
          echo: Callable[[str], Any] = print) -> list[tuple[str, str]]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    where = engine.url.render_as_string(hide_password=True)
    echo(f"Database: {where}")
    migrations.upgrade(engine)
    domains.load()
    actor = SystemActor("demo")
    session = make_session_factory(engine, settings)()
    try:
        created = _seed_people(session, actor)
        session.commit()
        echo(f"People: {created} users created ({len(PEOPLE) - created} were there already).")
        for name in DOMAINS:
            if importlib.util.find_spec(f"{name}.demo") is not None:
                module = importlib.import_module(f"{name}.demo")
                message = module.seed(session, actor, settings)
                session.commit()
                if message:
                    echo(message)
    finally:
        session.close()
    return [(username, ", ".join(roles)) for username, _n, roles, _t in PEOPLE]


def _seed_people(session: Any, actor: SystemActor) -> int:
    password_hash = generate_password_hash(DEMO_PASSWORD)
    teams: dict[str, Team] = {t.name: t for t in session.scalars(select(Team))}
    existing = set(session.scalars(select(User.username)))
    created = 0
    for username, display_name, roles, _team in PEOPLE:
        if username in existing:
            continue
        services.create_user(session, actor, username=username, display_name=display_name,
                             roles=roles, password_hash=password_hash,
                             email=f"{username}@demo.example")
        created += 1
    for name, description, leads in TEAMS:
        if name not in teams:
            lead_ids = [session.scalar(select(User.id).where(User.username == u)) for u in leads]
            teams[name] = services.create_team(session, actor, name=name,
                                               description=description, lead_ids=lead_ids)
    for username, _n, _r, team in PEOPLE:
        user = session.scalar(select(User).where(User.username == username))
        if team and user.team_id is None:
            services.update_user(session, actor, user.id, team_id=teams[team].id)
    return created
