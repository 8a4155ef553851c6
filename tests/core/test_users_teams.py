"""Administration of users and teams, in the UI and with the CLI."""

from __future__ import annotations

import factories
import pytest
from sqlalchemy import select

from qm.auth import services
from qm.auth.models import Team, User
from qm.errors import Conflict, InvalidInput


def test_admin_creates_a_user_in_the_ui(client, auth, session, people):
    auth.login("admin")
    response = client.post_form("/users/new", {
        "username": "new.agent", "display_name": "New Agent", "email": "new@example.com",
        "roles": ["agent"], "team_id": str(people["team_a"].id), "timezone": "Europe/Paris",
        "password": "a-long-password", "active": "y",
    }, page="/users/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    user = session.scalar(select(User).where(User.username == "new.agent"))
    assert user.roles == ("agent",) and user.team_id == people["team_a"].id
    auth.logout()
    assert auth.login("new.agent", "a-long-password").status_code == 302


def test_a_taken_username_keeps_the_form(client, auth, people):
    auth.login("admin")
    response = client.post_form("/users/new", {
        "username": "agent.a", "display_name": "Someone Typed This", "roles": ["agent"],
        "team_id": "", "timezone": "UTC", "password": "a-long-password"}, page="/users/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "is taken" in page and "Someone Typed This" in page  # nothing typed is lost


def test_stale_edit_is_refused_and_keeps_the_edit(client, auth, session, people):
    auth.login("admin")
    target = people["agent_a"]
    form_version = target.version
    services.update_user(session, people["admin"], target.id, display_name="Changed Meanwhile")
    session.commit()
    response = client.post_form(f"/users/{target.id}/edit", {
        "version": str(form_version), "username": target.username,
        "display_name": "My Edit", "roles": ["agent"], "team_id": "", "timezone": "UTC",
        "active": "y"}, page=f"/users/{target.id}/edit")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else saved this user" in page and "My Edit" in page
    session.expire_all()
    assert session.get(User, target.id).display_name == "Changed Meanwhile"


def test_double_submit_of_a_new_user_creates_one(client, auth, session, people):
    auth.login("admin")
    data = {"username": "twice", "display_name": "Twice", "roles": ["agent"], "team_id": "",
            "timezone": "UTC", "password": "a-long-password"}
    token = client.csrf_token("/users/new")
    first = client.post("/users/new", data={**data, "csrf_token": token})
    second = client.post("/users/new", data={**data, "csrf_token": token})
    assert first.status_code == 302 and second.status_code == 409
    assert len(session.scalars(select(User).where(User.username == "twice")).all()) == 1


def test_admin_cannot_lock_themselves_out(session, people):
    admin = people["admin"]
    with pytest.raises(InvalidInput, match="your own administrator role"):
        services.update_user(session, admin, admin.id, roles=["agent"])
    with pytest.raises(InvalidInput, match="your own account"):
        services.update_user(session, admin, admin.id, active=False)


def test_the_last_admin_stays(session, people):
    other_admin = factories.create_user(session, "admin2", roles=["admin"])
    services.update_user(session, other_admin, people["admin"].id, active=False)
    with pytest.raises(InvalidInput, match="at least one active administrator"):
        services.update_user(session, factories.SYSTEM, other_admin.id, roles=["agent"])


def test_teams_with_leads(client, auth, session, people):
    auth.login("admin")
    response = client.post_form("/teams/new", {
        "name": "Retention", "description": "Save desk",
        "lead_ids": [str(people["lead_b"].id)]}, page="/teams/new")
    assert response.status_code == 302
    team = session.scalar(select(Team).where(Team.name == "Retention"))
    assert [u.username for u in team.leads] == ["lead.b"]
    with pytest.raises(Conflict):
        services.create_team(session, factories.SYSTEM, name="Retention")
    page = client.get(f"/teams/{team.id}").get_data(as_text=True)
    assert "team.created" in page  # its history


def test_changing_team_leads_is_versioned_and_audited(session, people):
    team = people["team_a"]
    version = team.version
    services.update_team(session, factories.SYSTEM, team.id, lead_ids=[people["lead_b"].id])
    session.commit()
    assert team.version == version + 1
    from qm import audit

    entry = audit.history(session, "teams", team.id)[0]
    assert entry.action == "team.updated"
    assert dict((f, (o, n)) for f, o, n in entry.changes())["lead_ids"] == (
        [people["lead_a"].id], [people["lead_b"].id])


def test_cli_creates_users_and_teams(runner, session):
    result = runner.invoke("teams", "create", "Night shift")
    assert result.exit_code == 0, result.output
    result = runner.invoke("users", "create", "night.agent", "--role", "agent", "--team",
                           "Night shift", "--name", "Night Agent", "--password-stdin",
                           input="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert "roles agent" in result.output
    listing = runner.invoke("users", "list").output
    assert "night.agent" in listing and "Night shift" in listing
    bad = runner.invoke("users", "create", "x.x", "--role", "agent", "--password-stdin",
                        input="short\n")
    assert bad.exit_code == 1 and "at least 10 characters" in bad.output
    unknown_team = runner.invoke("users", "create", "y.y", "--role", "agent", "--team", "Nope",
                                 "--password-stdin", input="a-long-password\n")
    assert unknown_team.exit_code == 1 and "No team named 'Nope'" in unknown_team.output
