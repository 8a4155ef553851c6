"""Migrations create exactly what the models describe, on SQLite and PostgreSQL, and the app
refuses to run on a schema that is behind."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from qm import migrations
from qm.app import create_app
from qm.db import Base, make_engine
from qm.errors import SchemaNotCurrent


def test_migrated_schema_matches_the_models(app):
    migrations.load_models()
    engine = app.extensions["qm"]["engine"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_app_refuses_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    with pytest.raises(SchemaNotCurrent, match="qm db upgrade"):
        create_app({"database_url": url, "data_dir": tmp_path, "secret_key": "k"})


def test_app_refuses_a_schema_that_is_behind(tmp_path, runner):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    with engine.begin() as conn:  # pretend the database is one revision older
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'an-older-rev'")
    with pytest.raises(SchemaNotCurrent, match="newer qm"):
        create_app({"database_url": url, "data_dir": tmp_path, "secret_key": "k"})
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")
    with pytest.raises(SchemaNotCurrent, match="Run `qm db upgrade`"):
        create_app({"database_url": url, "data_dir": tmp_path, "secret_key": "k"})


def test_cli_names_the_fix_when_the_schema_is_missing(tmp_path):
    from click.testing import CliRunner

    from qm.cli import main

    env = {"QM_DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}",
           "QM_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["users", "list"], env=env)
    assert result.exit_code == 1
    assert "qm db upgrade" in result.output
    assert CliRunner().invoke(main, ["db", "current"], env=env).exit_code == 1
    upgraded = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0 and "migrated from empty to" in upgraded.output
    assert CliRunner().invoke(main, ["db", "current"], env=env).exit_code == 0
    assert CliRunner().invoke(main, ["users", "list"], env=env).exit_code == 0


def test_downgrade_to_base_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    migrations.downgrade(engine, "base")
    assert migrations.current_revision(engine) is None
    migrations.upgrade(engine)
    assert migrations.current_revision(engine) == migrations.head_revision()


def test_downgrade_and_upgrade_keep_the_rows_of_a_database_in_use(tmp_path):
    """On SQLite a column with an expression default, or a dropped column, makes batch mode
    rebuild the table; with foreign keys on, dropping a table that others point at fails, and
    a half-done migration was left behind. Every row must survive a round trip through the
    revisions that change tables holding data."""
    import factories
    from sqlalchemy import func, select

    from qm.db import make_session_factory
    from qm.interactions.models import Interaction
    from scoring.evaluations import services as ev
    from scoring.evaluations.models import Evaluation, EvaluationAnswer

    engine = make_engine(f"sqlite:///{tmp_path / 'in-use.sqlite3'}")
    migrations.upgrade(engine)
    session = make_session_factory(engine)()
    factories.create_form(session)
    agent = factories.create_user(session, "agent.m", roles=["agent"])
    qa = factories.create_user(session, "qa.m", roles=["qa_evaluator"])
    for _ in range(3):
        item = ev.start_evaluation(session, qa, factories.create_interaction(session, agent))
        ev.submit(session, qa, item.id, {"greet": "yes", "verify": "yes"})
    session.commit()

    def counts() -> tuple[int, int, int]:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Interaction, Evaluation, EvaluationAnswer))

    before = counts()
    assert before[1] == 3 and before[2] > 0
    session.close()
    migrations.downgrade(engine, "0005")
    assert migrations.current_revision(engine) == "0005"
    migrations.upgrade(engine)
    assert migrations.current_revision(engine) == migrations.head_revision()
    assert counts() == before
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
