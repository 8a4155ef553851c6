"""Fixtures in the flaskr style (app, client, runner, auth) on a real database.

SQLite by default: the schema is migrated once into a template file, and every test gets its own
copy. With QM_TEST_DATABASE_URL set (PostgreSQL), the schema is migrated once per run and every
table is emptied after each test.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import factories
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from qm import migrations
from qm.app import create_app
from qm.db import Base, make_engine, make_session_factory

PG_URL = os.environ.get("QM_TEST_DATABASE_URL", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("QM_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set QM_SLOW_TESTS=1 to run it (CI does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def db_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database: a SQLite template file, or the PostgreSQL test database."""
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:  # start from nothing, so the migrations are what is tested
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        migrations.upgrade(engine)
        engine.dispose()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "qm.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return str(path)


@pytest.fixture
def database_url(db_template: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        yield PG_URL
        engine = make_engine(PG_URL)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return
    path = tmp_path / "db" / "qm.sqlite3"
    path.parent.mkdir()
    shutil.copyfile(db_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "secret_key": "test-secret-key",
        "TESTING": True,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(app_config)
    yield application
    application.extensions["qm"]["engine"].dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session of its own on the app's database, for arranging and asserting."""
    s = make_session_factory(app.extensions["qm"]["engine"])()
    yield s
    s.rollback()
    s.close()


class Client(FlaskClient):
    """The test client, plus CSRF-aware form posts, as a browser would send them."""

    def csrf_token(self, page: str = "/login") -> str:
        if not self.application.config.get("WTF_CSRF_ENABLED", True):
            return ""
        html = self.get(page).get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post_form(self, url: str, data: dict[str, Any] | None = None, *, page: str | None = None,
                  **kwargs: Any) -> Any:
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token(page or url))
        return self.post(url, data=data, **kwargs)


@pytest.fixture
def client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


class AuthActions:
    def __init__(self, client: Client) -> None:
        self.client = client

    def login(self, username: str, password: str = factories.PASSWORD) -> Any:
        return self.client.post_form("/login", {"username": username, "password": password},
                                     page="/login")

    def logout(self) -> Any:
        return self.client.post_form("/logout", page="/account")


@pytest.fixture
def auth(client: Client) -> AuthActions:
    return AuthActions(client)


class Runner:
    """Runs the real `qm` command against the test database."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.cli = CliRunner()

    def invoke(self, *args: str, input: str | None = None) -> Any:
        from qm.cli import main

        return self.cli.invoke(main, list(args), env=self.env, input=input,
                               catch_exceptions=False)


@pytest.fixture
def runner(app_config: dict[str, Any]) -> Runner:
    return Runner({"QM_DATABASE_URL": app_config["database_url"],
                   "QM_DATA_DIR": str(app_config["data_dir"]),
                   "QM_SECRET_KEY": "test-secret-key"})


@pytest.fixture
def people(session: Session) -> dict[str, Any]:
    """A small centre: two teams, one lead each, two agents each, and one user per other role."""
    lead_a = factories.create_user(session, "lead.a", roles=["team_lead"])
    lead_b = factories.create_user(session, "lead.b", roles=["team_lead"])
    team_a = factories.create_team(session, "Team A", leads=[lead_a])
    team_b = factories.create_team(session, "Team B", leads=[lead_b])
    result = {
        "team_a": team_a, "team_b": team_b, "lead_a": lead_a, "lead_b": lead_b,
        "agent_a": factories.create_user(session, "agent.a", team=team_a),
        "agent_a2": factories.create_user(session, "agent.a2", team=team_a),
        "agent_b": factories.create_user(session, "agent.b", team=team_b),
        "admin": factories.create_user(session, "admin", roles=["admin"]),
        "qa": factories.create_user(session, "qa", roles=["qa_evaluator"]),
        "hr": factories.create_user(session, "hr", roles=["hr"]),
        "auditor": factories.create_user(session, "auditor", roles=["auditor"]),
    }
    session.commit()
    return result
