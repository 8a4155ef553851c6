"""Login, sessions, passwords, CSRF and rate limiting."""

from __future__ import annotations

import factories
import pytest
from sqlalchemy import select

from qm.audit import AuditEntry


def test_login_with_username_or_email(client, auth, session, people):
    assert auth.login("agent.a").status_code == 302
    auth.logout()
    from qm.auth import services

    services.update_user(session, people["admin"], people["agent_a"].id,
                         email="Agent.A@Example.com")
    session.commit()
    assert auth.login("agent.a@example.com").status_code == 302
    auth.logout()
    response = client.post_form("/login", {"username": "nobody", "password": "x" * 12})
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)


def test_wrong_password_is_refused_and_audited(client, auth, session, people):
    response = auth.login("agent.a", "not-the-password")
    assert response.status_code == 401
    assert client.get("/").status_code == 302  # still anonymous
    failed = session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login_failed"))
    assert [e.entity_id for e in failed] == [str(people["agent_a"].id)]


def test_deactivated_user_cannot_log_in_and_is_logged_out(client, auth, session, people):
    from qm.auth import services

    assert auth.login("agent.a").status_code == 302
    services.update_user(session, people["admin"], people["agent_a"].id, active=False)
    session.commit()
    assert client.get("/").status_code == 302  # the open session ended with the account
    assert auth.login("agent.a").status_code == 401


def test_session_cookie_flags(client, auth, people):
    response = auth.login("agent.a")
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie"
                  and v.startswith("qm_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookie_setting(app_config, people):
    from qm.app import create_app

    app = create_app({**app_config, "secure_cookies": True})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_post_without_csrf_token_is_refused(client, auth, people):
    response = client.post("/login", data={"username": "agent.a",
                                           "password": factories.PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_logout_needs_a_post_with_csrf(client, auth, people):
    auth.login("agent.a")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def test_login_attempts_are_rate_limited(client, people):
    statuses = [client.post_form("/login", {"username": "agent.a", "password": "wrong-pass"})
                .status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    # Even the right password waits out the limit.
    response = client.post_form("/login", {"username": "agent.a",
                                            "password": factories.PASSWORD})
    assert response.status_code == 429


def test_next_parameter_cannot_redirect_off_site(client, people):
    token = client.csrf_token("/login")
    for target, expected in (("/interactions", "/interactions"),
                             ("https://evil.example/", "/"), ("//evil.example", "/")):
        response = client.post(f"/login?next={target}", data={
            "csrf_token": token, "username": "agent.a", "password": factories.PASSWORD})
        assert response.status_code == 302
        assert response.location == expected, target
        client.post_form("/logout", page="/account")
        token = client.csrf_token("/login")


def test_password_change_ends_other_sessions(app, auth, client, people):
    other = app.test_client()
    other_auth = type(auth)(other)
    other_auth.login("agent.a")
    assert other.get("/").status_code == 200
    auth.login("agent.a")
    response = client.post_form("/account", {
        "pw-current_password": factories.PASSWORD,
        "pw-new_password": "a-brand-new-password",
        "pw-confirm": "a-brand-new-password",
    }, page="/account")
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 302  # the other one is over
    auth.logout()
    assert auth.login("agent.a", "a-brand-new-password").status_code == 302


def test_password_change_needs_the_current_password(client, auth, people):
    auth.login("agent.a")
    response = client.post_form("/account", {
        "pw-current_password": "wrong-password", "pw-new_password": "a-brand-new-password",
        "pw-confirm": "a-brand-new-password"}, page="/account")
    assert response.status_code == 400
    assert "current password is not right" in response.get_data(as_text=True)


@pytest.mark.parametrize("password", ["short", "", "nine-char"])
def test_password_policy(session, people, password):
    from qm.auth import services
    from qm.errors import InvalidInput

    with pytest.raises(InvalidInput, match="at least 10 characters"):
        services.set_password(session, people["admin"], people["agent_a"].id, password)


def test_passwords_are_stored_hashed(session, people):
    from qm.auth import services

    services.set_password(session, people["admin"], people["agent_a"].id, "plain-text-secret")
    session.commit()
    stored = people["agent_a"].password_hash
    assert "plain-text-secret" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_a_request_loads_its_user_and_their_access_in_one_statement(app, client, auth, session,
                                                                    people):
    """The user of every request, with roles, grants, led teams and the bell's unread count:
    one round trip, not one per collection (issue 19: the per-request cost). Both by session
    cookie and by API token."""
    from sqlalchemy import event

    from qm.auth import tokens

    lead = people["lead_a"]
    _token, plaintext = tokens.create_token(session, factories.SYSTEM, lead.id, name="t")
    session.commit()
    seen: list[str] = []
    engine = app.extensions["qm"]["engine"]

    def note(_conn, _cursor, statement, _params, _context, _many):
        seen.append(statement)

    def access_statements() -> list[str]:
        return [s for s in seen if "user_roles" in s or "permission_grants" in s
                or "team_leads" in s]

    auth.login("lead.a")
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get("/account").status_code == 200
        assert len(access_statements()) == 1, access_statements()
        # the bell's unread count comes with the user, in that same statement
        assert not [s for s in seen if "notifications" in s and "user_roles" not in s], seen
        seen.clear()
        assert app.test_client().get("/api/v1/me", headers={
            "Authorization": f"Bearer {plaintext}"}).status_code == 200
        assert len(access_statements()) == 1, access_statements()
    finally:
        event.remove(engine, "before_cursor_execute", note)
