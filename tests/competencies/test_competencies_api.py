"""/api/v1 for competencies, skills and training: the same rules and scope as the pages."""

from __future__ import annotations

import datetime as dt

import factories
import pytest

from competencies.frameworks import services as framework_services
from competencies.profiles import services as profiles
from competencies.training import services as training
from qm.auth import tokens

FRAMEWORK = {"name": "API framework", "groups": [
    {"code": "6.3.2", "competencies": [{"code": "6.3.2", "name": "Communication"}]}]}


@pytest.fixture
def world(session, people):
    framework = framework_services.import_framework(session, factories.SYSTEM, FRAMEWORK,
                                                    publish=True).framework
    role = profiles.save_profile(session, factories.SYSTEM, framework_id=framework.id,
                                 kind="role", name="agent", requirements={"6.3.2": 3})
    profiles.assign_profile(session, factories.SYSTEM, role.id,
                            [people["agent_a"].id, people["agent_b"].id])
    session.commit()
    return framework


def _headers(session, user) -> dict[str, str]:
    _token, plaintext = tokens.create_token(session, factories.SYSTEM, user.id, name="t")
    session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def test_frameworks_and_their_versions(client, session, people, world):
    headers = _headers(session, people["agent_a"])
    listing = client.get("/api/v1/competencies", headers=headers).json
    assert listing == [{"id": world.id, "name": "API framework", "description": "",
                        "versions": [{"number": 1, "status": "published"}]}]
    exported = client.get(f"/api/v1/competencies/{world.id}/versions/1", headers=headers).json
    assert exported["groups"][0]["competencies"][0]["code"] == "6.3.2"
    assert client.get(f"/api/v1/competencies/{world.id}/versions/9",
                      headers=headers).status_code == 404


def test_skills_scope_and_assessments(client, session, people, world):
    lead = _headers(session, people["lead_a"])
    agent_a, agent_b = people["agent_a"].id, people["agent_b"].id
    before = client.get(f"/api/v1/skills/{agent_a}", headers=lead).json
    assert before["gaps"] == [{"code": "6.3.2", "required": 3, "current": None, "short_by": 3}]
    assert client.get(f"/api/v1/skills/{agent_b}", headers=lead).status_code == 404
    body = {"competency_code": "6.3.2", "level": 2, "assessed_on": "2026-11-30",
            "method": "observation", "evidence": "two calls"}
    made = client.post(f"/api/v1/skills/{agent_a}/assessments", json=body, headers=lead)
    assert made.status_code == 201 and made.json["level"] == 2
    after = client.get(f"/api/v1/skills/{agent_a}", headers=lead).json
    assert after["current"] == {"6.3.2": 2} and after["gaps"][0]["short_by"] == 1
    refused = client.post(f"/api/v1/skills/{agent_a}/assessments",
                          json={**body, "level": 9}, headers=lead)
    assert refused.status_code == 400 and "off the scale 0 to 4" in refused.json["message"]
    own = _headers(session, people["agent_a"])
    assert client.get(f"/api/v1/skills/{agent_a}", headers=own).status_code == 200
    assert client.post(f"/api/v1/skills/{agent_a}/assessments", json=body,
                       headers=own).status_code == 403


def test_training_due_and_import(client, session, people, world):
    today = dt.date.today()
    course = training.save_course(session, factories.SYSTEM, {
        "name": "Refresher", "kind": "refresher", "refresh_months": 1})
    training.record_completion(session, factories.SYSTEM, user_id=people["agent_a"].id,
                               course_id=course.id, completed_on=today - dt.timedelta(days=40),
                               today=today)
    session.commit()
    hr = _headers(session, people["hr"])
    due = client.get("/api/v1/training/due", headers=hr).json
    assert [(r["username"], r["status"]) for r in due] == [("agent.a", "overdue")]
    assert client.get("/api/v1/training/due", headers=_headers(session, people["lead_b"])).json \
        == []
    csv = ("username,course,completed_on\n"
           f"agent.b,Refresher,{today.isoformat()}\n"
           "nobody,Refresher,2026-01-01\n")
    result = client.post("/api/v1/training/import", data=csv.encode(), headers={
        **hr, "Content-Type": "text/csv"}).json
    assert result["created"] == 1 and result["errors"][0]["line"] == 3
    again = client.post("/api/v1/training/import", data=csv.encode(), headers={
        **hr, "Content-Type": "text/csv"}).json
    assert again["created"] == 0 and again["already_there"] == 1
    assert client.post("/api/v1/training/import", data=csv.encode(), headers={
        **_headers(session, people["lead_a"]), "Content-Type": "text/csv"}).status_code == 403


def test_profiles_and_their_holders(client, session, people, world):
    hr, lead = _headers(session, people["hr"]), _headers(session, people["lead_a"])
    # a lead sees the holders of their teams, and how many hold it in all
    listing = client.get("/api/v1/skills/profiles", headers=lead).json
    assert [(p["kind"], p["name"], p["holders"], p["holders_count"]) for p in listing] == [
        ("role", "agent", [people["agent_a"].id], 2)]
    everyone = client.get("/api/v1/skills/profiles", headers=hr).json
    assert everyone[0]["holders"] == sorted([people["agent_a"].id, people["agent_b"].id])
    body = {"framework_id": world.id, "kind": "queue", "name": "Billing",
            "requirements": {"6.3.2": 4}}
    assert client.post("/api/v1/skills/profiles", headers=lead, json=body).status_code == 403
    made = client.post("/api/v1/skills/profiles", headers=hr, json=body)
    assert made.status_code == 201 and made.json["requirements"] == {"6.3.2": 4}
    assert client.post("/api/v1/skills/profiles", headers=hr, json=body).status_code == 409
    off_scale = client.post("/api/v1/skills/profiles", headers=hr, json={
        **body, "name": "Other", "requirements": {"6.3.2": 9}})
    assert off_scale.status_code == 400 and "off the scale" in off_scale.json["message"]
    unknown = client.post("/api/v1/skills/profiles", headers=hr, json={
        **body, "name": "Other", "requirements": {"NOPE": 1}})
    assert unknown.status_code == 400 and "'NOPE' is not a competency" in unknown.json["message"]
    profile_id, version = made.json["id"], made.json["version"]
    saved = client.put(f"/api/v1/skills/profiles/{profile_id}", headers=hr, json={
        "kind": "queue", "name": "Billing", "requirements": {"6.3.2": 3}, "version": version})
    assert saved.status_code == 200 and saved.json["requirements"] == {"6.3.2": 3}
    stale = client.put(f"/api/v1/skills/profiles/{profile_id}", headers=hr, json={
        "kind": "queue", "name": "Billing", "requirements": {"6.3.2": 1}, "version": version})
    assert stale.status_code == 409
    given = client.post(f"/api/v1/skills/profiles/{profile_id}/members", headers=hr,
                        json={"user_ids": [people["agent_a"].id]})
    assert given.json["assigned"] == [people["agent_a"].id]
    assert client.delete(f"/api/v1/skills/profiles/{profile_id}/members/"
                         f"{people['agent_a'].id}", headers=hr).status_code == 204
    assert client.delete(f"/api/v1/skills/profiles/{profile_id}/members/"
                         f"{people['agent_a'].id}", headers=hr).status_code == 400
    assert client.get("/api/v1/skills/profiles", headers=hr).json[0]["holders"] == []
