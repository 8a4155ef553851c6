"""/api/v1: tokens, the OpenAPI document, and the same permission rules as the web app."""

from __future__ import annotations

import factories
import pytest
from sqlalchemy import select

from qm.auth import queries as auth_queries
from qm.auth import tokens
from qm.auth.models import ApiToken


@pytest.fixture
def token(session, people):
    def make(username: str, **kwargs) -> str:
        user = auth_queries.find_user(session, username)
        _token, plaintext = tokens.create_token(session, factories.SYSTEM, user.id,
                                                       name="test", **kwargs)
        session.commit()
        return plaintext
    return make


def bearer(plaintext: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plaintext}"}


def test_openapi_document_is_generated_from_the_code(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in ("/api/v1/me", "/api/v1/users", "/api/v1/teams", "/api/v1/interactions",
                 "/api/v1/interactions/{interaction_id}", "/api/v1/audit"):
        assert path in paths, path
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    create = paths["/api/v1/interactions"]["post"]
    schema_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert {"agent", "channel", "started_at"} <= set(schema["required"])


def test_no_token_no_access(client, people):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/me", headers=bearer("qm_not-a-real-token")).status_code == 401


def test_a_session_cookie_does_not_open_the_api(client, auth, people):
    # The API is exempt from CSRF because it never accepts cookies.
    auth.login("admin")
    assert client.get("/api/v1/me").status_code == 401


def test_token_identifies_its_user(client, token):
    response = client.get("/api/v1/me", headers=bearer(token("lead.a")))
    assert response.status_code == 200
    body = response.get_json()
    assert body["username"] == "lead.a" and body["roles"] == ["team_lead"]


def test_tokens_are_stored_hashed(session, token):
    plaintext = token("agent.a")
    rows = session.scalars(select(ApiToken)).all()
    assert rows and all(plaintext not in (r.token_hash, r.prefix) for r in rows)
    assert any(r.token_hash == tokens.hash_token(plaintext) for r in rows)


def test_revoked_and_expired_tokens_stop_working(client, session, token, people):
    plaintext = token("agent.a")
    assert client.get("/api/v1/me", headers=bearer(plaintext)).status_code == 200
    row = session.scalar(select(ApiToken).where(
        ApiToken.token_hash == tokens.hash_token(plaintext)))
    tokens.revoke_token(session, people["agent_a"], row.id)
    session.commit()
    assert client.get("/api/v1/me", headers=bearer(plaintext)).status_code == 401

    import datetime as dt

    expiring = token("agent.a", expires_days=1)
    row = session.scalar(select(ApiToken).where(
        ApiToken.token_hash == tokens.hash_token(expiring)))
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    session.commit()
    assert client.get("/api/v1/me", headers=bearer(expiring)).status_code == 401


def test_one_user_cannot_revoke_anothers_token(session, people, token):
    from qm.errors import PermissionDenied

    token("agent.b")
    other = session.scalar(select(ApiToken).where(ApiToken.user_id == people["agent_b"].id))
    with pytest.raises(PermissionDenied):
        tokens.revoke_token(session, people["agent_a"], other.id)


def test_token_page_shows_the_token_once(client, auth, session, people):
    auth.login("qa")
    response = client.post_form("/account/tokens", {"name": "dialler sync"},
                                page="/account/tokens")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "qm_" in page
    plaintext = page.split('id="new-token">', 1)[1].split("<", 1)[0]
    assert client.get("/api/v1/me", headers=bearer(plaintext)).get_json()["username"] == "qa"
    again = client.get("/account/tokens").get_data(as_text=True)
    assert plaintext not in again and "dialler sync" in again


def test_cli_issues_a_working_token(client, runner, people):
    result = runner.invoke("tokens", "create", "agent.a", "--name", "script")
    assert result.exit_code == 0
    plaintext = result.stdout.strip().splitlines()[-1]
    assert client.get("/api/v1/me", headers=bearer(plaintext)).get_json()["username"] == "agent.a"


def test_api_create_and_read_interaction(client, token, people):
    headers = bearer(token("qa"))
    payload = {"source": "dialler", "external_id": "CALL-1", "agent": "agent.a",
               "channel": "voice", "started_at": "2026-11-20T09:30:00+01:00", "duration_s": 240}
    response = client.post("/api/v1/interactions", json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["started_at"].startswith("2026-11-20T08:30:00")  # stored in UTC
    assert created["team_id"] == people["team_a"].id
    again = client.post("/api/v1/interactions", json=payload, headers=headers)
    assert again.status_code == 409 and "exists already" in again.get_json()["message"]
    read = client.get(f"/api/v1/interactions/{created['id']}", headers=headers)
    assert read.get_json()["external_id"] == "CALL-1"
    history = client.get(f"/api/v1/interactions/{created['id']}/history", headers=headers)
    assert [e["action"] for e in history.get_json()] == ["interaction.created"]


def test_api_validation_errors_name_the_field(client, token, people):
    response = client.post("/api/v1/interactions", headers=bearer(token("qa")),
                           json={"agent": "agent.a", "channel": "fax",
                                 "started_at": "yesterday"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert "channel" in errors and "started_at" in errors
    unknown_agent = client.post("/api/v1/interactions", headers=bearer(token("qa")), json={
        "agent": "ghost", "channel": "chat", "started_at": "2026-11-20T09:30:00Z"})
    assert unknown_agent.status_code == 400
    assert "no user 'ghost'" in unknown_agent.get_json()["message"]


def test_api_scopes_match_the_web(client, session, token, people):
    own = factories.create_interaction(session, people["agent_a"])
    other = factories.create_interaction(session, people["agent_b"])
    session.commit()
    headers = bearer(token("agent.a"))
    listing = client.get("/api/v1/interactions", headers=headers).get_json()
    assert [i["id"] for i in listing["items"]] == [own.id]
    assert client.get(f"/api/v1/interactions/{other.id}", headers=headers).status_code == 404
    create = client.post("/api/v1/interactions", headers=headers, json={
        "agent": "agent.a", "channel": "chat", "started_at": "2026-11-20T09:30:00Z"})
    assert create.status_code == 403
    assert client.get("/api/v1/users", headers=headers).status_code == 403


def test_api_pages_with_a_cursor(client, session, token, people):
    made = {factories.create_interaction(session, people["agent_a"]).id for _ in range(7)}
    session.commit()
    headers = bearer(token("admin"))
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/interactions?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=headers).get_json()
        seen += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == 7 and set(seen) == made  # no row twice, none missed


def test_api_import_reports_bad_rows(client, token, people):
    csv_text = ("external_id,agent,channel,started_at\n"
                "A1,agent.a,voice,2026-11-20T09:00:00Z\n"
                "A2,agent.a,carrier-pigeon,2026-11-20T09:00:00Z\n")
    response = client.post("/api/v1/interactions/import?source=api-test", data=csv_text,
                           headers={**bearer(token("admin")), "Content-Type": "text/csv"})
    body = response.get_json()
    assert response.status_code == 200
    assert body["created"] == 1 and body["failed"] == 1
    assert body["errors"][0]["line"] == 3 and "carrier-pigeon" in body["errors"][0]["reason"]
