"""Hardening of people and access: API tokens die with the account's trust, and one password rule
holds for the web, the API and the CLI alike."""

from __future__ import annotations

import getpass

import factories
import pytest
from sqlalchemy import select

from qm.audit import AuditEntry
from qm.auth import queries as auth_queries
from qm.auth import services, tokens
from qm.auth.models import ApiToken, User
from qm.demo import DEMO_PASSWORD

GOOD = "a-long-and-fine-password"
WEAK = ["aaaaaaaaaa", "1234567890", "password123"]
NEW_NAME = "night.agent"  # 11 characters: refused as a password for being the name, not short


def new_token(session, username: str) -> str:
    user = auth_queries.find_user(session, username)
    _token, plaintext = tokens.create_token(session, factories.SYSTEM, user.id, name="test")
    session.commit()
    return plaintext


def api_get(client, plaintext: str) -> int:
    return client.get("/api/v1/interactions",
                      headers={"Authorization": f"Bearer {plaintext}"}).status_code


def tokens_of(session, user: User) -> list[ApiToken]:
    session.expire_all()
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))


def revocations(session, reason: str) -> list[AuditEntry]:
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "token.revoked"))
    return [e for e in entries if (e.after or {}).get("reason") == reason]


def logs_in(session, username: str, password: str) -> bool:
    session.expire_all()
    ok = services.authenticate(session, username, password) is not None
    session.rollback()
    return ok


def audit_of(session, user: User, action: str) -> AuditEntry:
    return session.scalars(select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.entity_id == str(user.id))
        .order_by(AuditEntry.seq.desc())).first()


# --- 1. tokens die with the account's trust ---------------------------------------------------

def test_admin_password_reset_on_the_web_revokes_the_users_tokens(client, auth, session, people):
    first, second = new_token(session, "agent.a"), new_token(session, "agent.a")
    admins = new_token(session, "admin")
    assert api_get(client, first) == 200
    auth.login("admin")
    agent = people["agent_a"]
    response = client.post_form(f"/users/{agent.id}/password", {"new_password": GOOD},
                                page=f"/users/{agent.id}")
    assert response.status_code == 302
    assert api_get(client, first) == 401 and api_get(client, second) == 401
    assert api_get(client, admins) == 200  # only the user's own tokens
    assert all(t.revoked_at is not None for t in tokens_of(session, agent))
    # Audited like a revocation by hand, one entry per token, with the reason.
    entries = revocations(session, "password changed")
    assert sorted(int(e.entity_id) for e in entries) == sorted(
        t.id for t in tokens_of(session, agent))
    assert {e.actor_name for e in entries} == {"admin"}
    changed = audit_of(session, agent, "user.password_changed")
    assert changed.after["tokens_revoked"] == sorted(t.id for t in tokens_of(session, agent))


def test_admin_password_reset_through_the_api_revokes_the_users_tokens(client, session, people):
    agents = new_token(session, "agent.a")
    admins = new_token(session, "admin")
    assert api_get(client, agents) == 200
    response = client.post(f"/api/v1/users/{people['agent_a'].id}/password",
                           headers={"Authorization": f"Bearer {admins}"},
                           json={"password": GOOD})
    assert response.status_code == 204, response.get_data(as_text=True)
    assert api_get(client, agents) == 401
    assert api_get(client, admins) == 200
    assert len(revocations(session, "password changed")) == 1
    # The new password is the one that logs in now.
    assert logs_in(session, "agent.a", GOOD)


def test_own_password_change_revokes_ones_tokens(client, auth, session, people):
    plaintext = new_token(session, "agent.a")
    auth.login("agent.a")
    response = client.post_form("/account", {
        "pw-current_password": factories.PASSWORD, "pw-new_password": GOOD, "pw-confirm": GOOD,
    }, page="/account")
    assert response.status_code == 302
    assert api_get(client, plaintext) == 401
    entries = revocations(session, "password changed")
    assert [e.actor_name for e in entries] == ["agent.a"]


def test_deactivation_revokes_and_reactivation_does_not_restore(client, auth, session, people):
    plaintext = new_token(session, "agent.a")
    agent = people["agent_a"]
    auth.login("admin")
    # Deactivated on the web: the "active" box left unticked.
    response = client.post_form(f"/users/{agent.id}/edit", {
        "version": str(agent.version), "username": agent.username,
        "display_name": agent.display_name, "roles": ["agent"],
        "team_id": str(people["team_a"].id), "timezone": "UTC",
    }, page=f"/users/{agent.id}/edit")
    assert response.status_code == 302, response.get_data(as_text=True)
    session.expire_all()
    assert not session.get(User, agent.id).active
    assert all(t.revoked_at is not None for t in tokens_of(session, agent))
    assert len(revocations(session, "user deactivated")) == 1
    services.update_user(session, people["admin"], agent.id, active=True)
    session.commit()
    assert api_get(client, plaintext) == 401  # the old token stays dead
    assert api_get(client, new_token(session, "agent.a")) == 200  # a new one works


def test_deactivation_in_the_service_revokes_for_every_caller(client, session, people):
    plaintext = new_token(session, "agent.b")
    services.update_user(session, factories.SYSTEM, people["agent_b"].id, active=False)
    services.update_user(session, factories.SYSTEM, people["agent_b"].id, active=True)
    session.commit()
    assert api_get(client, plaintext) == 401


def test_cli_set_password_revokes_the_users_tokens(client, runner, session, people):
    plaintext = new_token(session, "agent.a")
    result = runner.invoke("users", "set-password", "agent.a", "--password-stdin",
                           input=GOOD + "\n")
    assert result.exit_code == 0, result.output
    assert api_get(client, plaintext) == 401
    assert [e.actor_name for e in revocations(session, "password changed")] == [
        f"cli:{getpass.getuser()}"]


# --- 2. one password rule everywhere ------------------------------------------------------------

WEAK_CASES = [*WEAK, NEW_NAME.upper()]
MESSAGES = {
    "aaaaaaaaaa": "one character repeated",
    "1234567890": "too common",
    "password123": "too common",
    NEW_NAME.upper(): "must not be the username",
}


@pytest.mark.parametrize("password", WEAK_CASES)
def test_the_api_refuses_a_weak_password(client, session, people, password):
    headers = {"Authorization": f"Bearer {new_token(session, 'admin')}"}
    data = {"username": NEW_NAME, "display_name": "Night Agent", "roles": ["agent"]}
    response = client.post("/api/v1/users", headers=headers, json={**data, "password": password})
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert "password" in body["errors"]["json"]
    assert MESSAGES[password] in body["message"]
    assert session.scalar(select(User).where(User.username == NEW_NAME)) is None
    # A good password still goes through.
    response = client.post("/api/v1/users", headers=headers, json={**data, "password": GOOD})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert logs_in(session, NEW_NAME, GOOD)


@pytest.mark.parametrize("password", WEAK)
def test_the_api_password_reset_refuses_a_weak_password(client, session, people, password):
    response = client.post(f"/api/v1/users/{people['agent_a'].id}/password", headers={
        "Authorization": f"Bearer {new_token(session, 'admin')}"}, json={"password": password})
    assert response.status_code == 422
    assert "password" in response.get_json()["errors"]["json"]
    assert logs_in(session, "agent.a", factories.PASSWORD)


@pytest.mark.parametrize("password", WEAK_CASES)
def test_the_new_user_form_refuses_a_weak_password(client, auth, session, people, password):
    auth.login("admin")
    response = client.post_form("/users/new", {
        "username": NEW_NAME, "display_name": "Night Agent", "roles": ["agent"], "team_id": "",
        "timezone": "UTC", "password": password}, page="/users/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert MESSAGES[password] in page
    assert 'name="password"' in page and "is-invalid" in page  # shown beside the field
    assert "Night Agent" in page  # what was typed is kept
    assert session.scalar(select(User).where(User.username == NEW_NAME)) is None


@pytest.mark.parametrize("password", [*WEAK, "AGENT.A.Smith@Example.com", "agent.a.smith"])
def test_the_account_form_refuses_a_weak_password(client, auth, session, people, password):
    services.update_user(session, factories.SYSTEM, people["agent_a"].id,
                         email="agent.a.smith@example.com")
    session.commit()
    auth.login("agent.a")
    response = client.post_form("/account", {
        "pw-current_password": factories.PASSWORD, "pw-new_password": password,
        "pw-confirm": password}, page="/account")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "choose another" in page and "is-invalid" in page
    auth.logout()
    assert auth.login("agent.a").status_code == 302  # the old password still holds


def test_the_admin_reset_form_shows_the_refusal_beside_the_field(client, auth, people):
    auth.login("admin")
    agent = people["agent_a"]
    response = client.post_form(f"/users/{agent.id}/password", {"new_password": "password123"},
                                page=f"/users/{agent.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "too common" in page and "is-invalid" in page


@pytest.mark.parametrize("password", WEAK_CASES)
def test_the_cli_refuses_a_weak_password(runner, session, people, password):
    result = runner.invoke("users", "create", NEW_NAME, "--role", "agent", "--password-stdin",
                           input=password + "\n")
    assert result.exit_code == 1
    assert MESSAGES[password] in result.output and "Traceback" not in result.output
    assert result.output.startswith("Error: ")  # one clean line, as click says it
    result = runner.invoke("users", "create", NEW_NAME, "--role", "agent", "--password-stdin",
                           input=GOOD + "\n")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("password", [*WEAK, "Agent.A.Smith"])
def test_cli_set_password_refuses_a_weak_password(runner, session, people, password):
    services.update_user(session, factories.SYSTEM, people["agent_a"].id,
                         email="agent.a.smith@example.com")
    session.commit()
    result = runner.invoke("users", "set-password", "agent.a", "--password-stdin",
                           input=password + "\n")
    assert result.exit_code == 1
    assert "choose another" in result.output and "Traceback" not in result.output
    assert logs_in(session, "agent.a", factories.PASSWORD)


def test_the_rule_itself():
    from qm.auth.passwords import PasswordRefused, check_password_policy

    for password in (GOOD, DEMO_PASSWORD, factories.PASSWORD):
        check_password_policy(password, "agent.a", "agent.a@example.com")
    cases = {
        "short": "at least 10 characters",
        "x" * 1025: "at most 1024 characters",
        "!!!!!!!!!!!!": "one character repeated",
        "QWERTYUIOP": "too common",
        "Password1234": "too common",
        "Agent.Smith": "must not be the username",
        "jane.doe.smith": "must not be the username or the e-mail address",
        "Jane.Doe.Smith@Example.com": "must not be the username or the e-mail address",
    }
    for password, message in cases.items():
        with pytest.raises(PasswordRefused, match=message) as refused:
            check_password_policy(password, "agent.smith", "jane.doe.smith@example.com",
                                  field="new_password")
        assert set(refused.value.errors) == {"new_password"}
