"""Scoring forms: versions freeze on publish, import/export round-trips, the demo's ISO form."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import factories
import pytest
from sqlalchemy import func, select

from scoring.demo import FORM_FILE
from scoring.forms import rules
from scoring.forms import services as form_services
from scoring.forms.models import FormVersion


def test_publishing_freezes_and_editing_makes_a_new_draft(session):
    v1 = factories.create_form(session)
    assert (v1.number, v1.status) == (1, "published")
    frozen = copy.deepcopy(v1.definition)
    answers = {"greet": "yes", "verify": "yes"}
    before = rules.score(rules.form_from_dict(v1.definition), answers)

    changed = copy.deepcopy(factories.SIMPLE_FORM)
    changed["sections"][0]["questions"][0]["points"] = 5
    v2 = form_services.import_form(session, factories.SYSTEM, changed)
    assert (v2.number, v2.status) == (2, "draft")
    assert v1.definition == frozen and v1.status == "published"
    changed["sections"][0]["questions"][1]["points"] = 3  # a draft is edited in place
    assert form_services.import_form(session, factories.SYSTEM, changed).id == v2.id

    form_services.publish_form(session, factories.SYSTEM, v1.form_id)
    session.commit()
    session.expire_all()
    versions = session.scalars(select(FormVersion).order_by(FormVersion.number)).all()
    assert [(v.number, v.status) for v in versions] == [(1, "retired"), (2, "published")]
    # The old version still scores exactly as it did.
    again = rules.score(rules.form_from_dict(versions[0].definition), answers)
    assert again == before and again.total == Decimal("100.00")


def test_the_same_import_twice_changes_nothing(session):
    first = factories.create_form(session)
    second = factories.create_form(session)
    assert first.id == second.id
    assert session.scalar(select(func.count(FormVersion.id))) == 1


def test_publish_needs_a_draft(session):
    from qm.errors import InvalidInput

    version = factories.create_form(session)
    with pytest.raises(InvalidInput, match="no draft"):
        form_services.publish_form(session, factories.SYSTEM, version.form_id)


def test_cli_import_export_round_trip(runner, tmp_path, people):
    path = tmp_path / "form.json"
    path.write_text(json.dumps(factories.SIMPLE_FORM))
    result = runner.invoke("forms", "import", str(path), "--publish")
    assert result.exit_code == 0 and "version 1 (published)" in result.output
    exported = json.loads(runner.invoke("forms", "export", "Test form").output)
    assert exported["sections"] == factories.SIMPLE_FORM["sections"]
    assert exported["version"] == 1 and exported["status"] == "published"
    assert "v1 published" in runner.invoke("forms", "list").output


def test_cli_refuses_a_broken_form(runner, session, tmp_path, people):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "Bad", "sections": [{"key": "s", "questions": [
        {"key": "q", "text": "x", "type": "essay"}]}]}))
    result = runner.invoke("forms", "import", str(path))
    assert result.exit_code == 1 and "unknown type 'essay'" in result.output
    path.write_text("{not json")
    assert "is not JSON" in runner.invoke("forms", "import", str(path)).output
    assert session.scalar(select(func.count(FormVersion.id))) == 0


def test_api_forms(client, session, people):
    from qm.auth import tokens

    _t, admin = tokens.create_token(session, factories.SYSTEM, people["admin"].id, name="a")
    _t, agent = tokens.create_token(session, factories.SYSTEM, people["agent_a"].id,
                                           name="b")
    session.commit()
    headers = {"Authorization": f"Bearer {admin}"}
    created = client.post("/api/v1/forms?publish=true", json=factories.SIMPLE_FORM,
                          headers=headers)
    assert created.status_code == 201 and created.get_json()["status"] == "published"
    listing = client.get("/api/v1/forms", headers=headers).get_json()
    assert listing[0]["versions"] == [{"number": 1, "status": "published"}]
    version = client.get(f"/api/v1/forms/{listing[0]['id']}/versions/1", headers=headers)
    assert version.get_json()["sections"] == factories.SIMPLE_FORM["sections"]
    bad = client.post("/api/v1/forms", json={"name": "X", "sections": []}, headers=headers)
    assert bad.status_code == 400 and "at least one section" in bad.get_json()["message"]
    assert client.get("/api/v1/forms",
                      headers={"Authorization": f"Bearer {agent}"}).status_code == 403
    # A new draft through the API, then published through the API: v1 retires.
    changed = copy.deepcopy(factories.SIMPLE_FORM)
    changed["sections"][0]["weight"] = 2
    draft = client.post("/api/v1/forms", json=changed, headers=headers)
    assert (draft.status_code, draft.get_json()["status"]) == (201, "draft")
    form_id = listing[0]["id"]
    published = client.post(f"/api/v1/forms/{form_id}/publish", headers=headers)
    assert published.status_code == 200 and published.get_json()["version"] == 2
    again = client.post(f"/api/v1/forms/{form_id}/publish", headers=headers)
    assert again.status_code == 400 and "no draft" in again.get_json()["message"]
    listing = client.get("/api/v1/forms", headers=headers).get_json()
    assert listing[0]["versions"] == [{"number": 1, "status": "retired"},
                                      {"number": 2, "status": "published"}]


def test_the_demo_form_covers_the_iso_competencies():
    data = json.loads(FORM_FILE.read_text("utf-8"))
    form = rules.form_from_dict(data)
    tags = {c for q in form.questions().values() for c in q.competencies}
    assert {"6.3.2", "6.3.3", "6.3.4"} <= tags
    keys = set(form.questions())
    for practice in ("greeting", "identification", "questions", "accuracy", "disclosure",
                     "empathy", "outcome", "closing"):
        assert practice in keys
    perfect = {"greeting": "yes", "identification": "yes", "questions": 5, "reason": "question",
               "accuracy": "yes", "systems": "yes", "outcome": "resolved", "disclosure": "yes",
               "vulnerability": rules.NA, "empathy": 5, "clarity": "yes", "went_beyond": "no",
               "rude": "no", "summary": "yes", "closing": "yes", "follow_up_date": rules.NA}
    assert rules.score(form, perfect).total == Decimal("100.00")
    failed = rules.score(form, {**perfect, "identification": "no"})
    assert failed.total == Decimal("0.00") and failed.critical_fail
