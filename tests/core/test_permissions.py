"""Every route x every role, generated from the route map: a route without a declared access
rule fails here, and so does a role that gets further than the permission table allows."""

from __future__ import annotations

import datetime
from typing import Any

import factories
import pytest
from werkzeug.routing import Rule

from competencies.frameworks import services as framework_services
from qm.auth import services as auth_services
from qm.auth import tokens as token_services
from qm.auth.access import AUTHENTICATED, PUBLIC, access_of
from qm.auth.permissions import PERMISSIONS, Role, can, scope_for

ANONYMOUS = "anonymous"


@pytest.fixture
def app_config(app_config):
    # CSRF has its own tests; here a forbidden POST must meet the role check, not the CSRF check.
    return {**app_config, "WTF_CSRF_ENABLED": False, "login_rate_limit": "1000 per minute"}


@pytest.fixture
def world(session, people):
    """One record of each kind, all inside the scope of agent.a and lead.a."""
    interaction = factories.create_interaction(session, people["agent_a"])
    form_version = factories.create_form(session)
    tokens = {}
    for role_user in ("admin", "qa", "lead_a", "agent_a", "hr", "auditor"):
        user = people[role_user]
        token, plaintext = token_services.create_token(session, factories.SYSTEM, user.id,
                                                      name="matrix")
        tokens[role_user] = (token, plaintext)
    # An evaluation of agent.a's contact, scored by qa, released and disputed; a sampling rule.
    from scoring.calibration import services as cal
    from scoring.sampling import services as sampling

    dispute = factories.create_dispute(session, people["qa"], interaction)
    evaluation = dispute.evaluation
    rule = sampling.save_rule(session, factories.SYSTEM, {"name": "Matrix rule",
                                                          "form_id": form_version.form_id})
    sample_run = sampling.run_sampling(session, factories.SYSTEM, "2026-W47")
    # A calibration session of team A in which every role that may score takes part.
    calibration_session = cal.create_session(
        session, people["lead_a"], title="Matrix calibration", form_id=None,
        interaction_ids=[interaction.id],
        participant_ids=[people["qa"].id, people["admin"].id, people["lead_a"].id],
        team_id=people["team_a"].id)
    # A published competency framework.
    framework = framework_services.import_framework(session, factories.SYSTEM, {
        "name": "Matrix framework",
        "groups": [{"code": "6.3.2", "competencies": [{"code": "6.3.2", "name": "Comms"}]}]},
        publish=True).framework
    # A notice published to every role's user, so each may read and acknowledge it.
    from competencies.notices import services as notices

    notice = notices.save_draft(session, factories.SYSTEM, {
        "title": "Matrix notice", "body": "Read me.", "category": "policy"})
    notices.publish(session, factories.SYSTEM, notice.id, notices.Audience(
        user_ids=tuple(people[u].id for u in ("admin", "qa", "lead_a", "agent_a", "hr",
                                              "auditor"))))
    # A role profile held by agent.a, and a course.
    from competencies.profiles import services as profiles
    from competencies.training import services as training

    profile = profiles.save_profile(session, factories.SYSTEM, framework_id=framework.id,
                                    kind="role", name="agent", requirements={"6.3.2": 2})
    profiles.assign_profile(session, factories.SYSTEM, profile.id, [people["agent_a"].id])
    course = training.save_course(session, factories.SYSTEM, {
        "name": "Matrix course", "kind": "product", "competencies": ["6.3.2"]})
    # A coaching session of agent.a (lead.a coaches), held, with an action item agent.a owns.
    from competencies.coaching import services as coaching

    coached = coaching.open_session(session, people["lead_a"], people["agent_a"].id, {
        "kind": "one_to_one", "planned_on": datetime.date.today()})
    action = coaching.add_action(session, people["lead_a"], coached.id, text="Listen first",
                                 owner_id=people["agent_a"].id, due_on=datetime.date.today())
    # A complaint about agent.a's contact (lead.a handles it), and a holiday in the calendar.
    from scoring.complaints import services as complaints

    complaint = complaints.open_complaint(session, people["lead_a"], {
        "customer_ref": "C-MATRIX", "summary": "Matrix complaint", "category": "service",
        "interaction_ids": [interaction.id]})
    holiday = complaints.add_holiday(session, factories.SYSTEM, datetime.date(2026, 12, 25),
                                     "Christmas")
    # The starter flags: a rule flag with its version 1 in use.
    from transcription.flagging import services as flags

    flags.install_starter(session)
    flag = flags.get_flag(session, "long silence")
    # The revoke route gets a token of its own, so the matrix does not cut off its own calls.
    spare, _ = token_services.create_token(session, factories.SYSTEM, people["agent_a"].id,
                                          name="spare")
    session.commit()
    return {
        "interaction_id": interaction.id,
        "form_id": form_version.form_id,
        "number": form_version.number,
        "user_id": people["agent_a"].id,
        "team_id": people["team_a"].id,
        "token_id": spare.id,
        "evaluation_id": evaluation.id,
        "dispute_id": dispute.id,
        "rule_id": rule.id,
        "run_id": sample_run.run_id,
        "session_id": calibration_session.id,
        "item_id": calibration_session.items[0].id,
        "framework_id": framework.id,
        "notice_id": notice.id,
        "profile_id": profile.id,
        "course_id": course.id,
        "action_id": action.id,
        "complaint_id": complaint.id,
        "holiday_id": holiday.id,
        "flag_id": flag.id,
        "tokens": {k: v[1] for k, v in tokens.items()},
    }


ROLE_USERS = {
    Role.ADMIN: "admin", Role.QA_EVALUATOR: "qa", Role.TEAM_LEAD: "lead_a",
    Role.AGENT: "agent_a", Role.HR: "hr", Role.AUDITOR: "auditor",
}


def _url(rule: Rule, world: dict[str, Any]) -> str:
    values = {}
    for arg in rule.arguments:
        assert arg in world, f"the matrix test has no value for <{arg}> in {rule.rule}"
        values[arg] = world[arg]
    return rule.build(values)[1]


def _routes(app) -> list[tuple[Rule, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule, method))
    return out


def test_every_route_declares_who_may_use_it(app):
    undeclared = [
        f"{rule.rule} ({rule.endpoint})"
        for rule, _method in _routes(app)
        if access_of(app, rule.endpoint) is None
    ]
    assert not undeclared, (
        "routes without an access rule (use @public, @login_required, @permission_required or "
        f"@api_permission): {undeclared}"
    )


def test_every_declared_permission_exists(app):
    for rule, _method in _routes(app):
        access = access_of(app, rule.endpoint)
        assert access in (PUBLIC, AUTHENTICATED) or access in PERMISSIONS, rule.rule


@pytest.mark.parametrize("role", [ANONYMOUS, *Role])
def test_route_matrix(app, client, auth, people, world, role):
    """Each role, each route, each method: 403 exactly where the permission table says no."""
    user = None
    if role != ANONYMOUS:
        user = people[ROLE_USERS[role]]
        assert auth.login(user.username).status_code == 302
    checked = 0
    failures = []
    for rule, method in _routes(app):
        if rule.endpoint == "static" or rule.endpoint == "auth.logout":
            continue  # static files are public; logging out would end the matrix early
        access = access_of(app, rule.endpoint)
        url = _url(rule, world)
        is_api = url.startswith("/api/")
        headers = {}
        if is_api and user is not None:
            headers["Authorization"] = f"Bearer {world['tokens'][ROLE_USERS[role]]}"
        response = client.open(url, method=method, headers=headers, data={})
        status = response.status_code
        checked += 1
        if access == PUBLIC:
            ok = status < 500 and status not in (401, 403)
        elif user is None:
            ok = status == 401 if is_api else (status == 302 and "/login" in response.location)
        elif access == AUTHENTICATED:
            ok = status < 500 and status not in (401, 403)
        else:
            allowed = scope_for(user, access) is not None
            ok = (status < 500 and status not in (401, 403)) if allowed else status == 403
        if not ok:
            failures.append(f"{method} {url} [{access}] -> {status}")
    assert checked > 20
    assert not failures, f"{role}: " + "; ".join(failures)


def test_the_agent_sees_only_their_own_interactions(client, auth, session, people):
    own = factories.create_interaction(session, people["agent_a"], customer_ref="OWN-1")
    other = factories.create_interaction(session, people["agent_a2"], customer_ref="OTHER-1")
    session.commit()
    auth.login("agent.a")
    listing = client.get("/interactions").get_data(as_text=True)
    assert "OWN-1" in listing and "OTHER-1" not in listing
    assert client.get(f"/interactions/{own.id}").status_code == 200
    # Out of scope answers exactly like a record that does not exist.
    assert client.get(f"/interactions/{other.id}").status_code == 404
    assert client.get("/interactions/999999").status_code == 404


def test_the_team_lead_sees_their_teams_only(client, auth, session, people):
    in_team = factories.create_interaction(session, people["agent_a2"], customer_ref="IN-TEAM")
    outside = factories.create_interaction(session, people["agent_b"], customer_ref="OUTSIDE")
    session.commit()
    auth.login("lead.a")
    listing = client.get("/interactions").get_data(as_text=True)
    assert "IN-TEAM" in listing and "OUTSIDE" not in listing
    assert client.get(f"/interactions/{in_team.id}").status_code == 200
    assert client.get(f"/interactions/{outside.id}").status_code == 404
    people_page = client.get("/users").get_data(as_text=True)
    assert "agent.a2" in people_page and "agent.b" not in people_page
    assert client.get(f"/users/{people['agent_b'].id}").status_code == 404
    assert client.get(f"/teams/{people['team_b'].id}").status_code == 404


def test_hr_sees_people_but_not_interactions_or_comments(client, auth, session, people):
    hr = people["hr"]
    assert can(hr, "user.view") and can(hr, "skills.view")
    assert not can(hr, "interaction.view")
    assert not can(hr, "evaluation.read_comments")
    auth.login("hr")
    assert client.get("/users").status_code == 200
    assert client.get("/interactions").status_code == 403


def test_a_grant_gives_hr_evaluation_comments(session, people):
    hr = auth_services.update_user(session, factories.SYSTEM, people["hr"].id,
                                   grants=["evaluation.read_comments"])
    session.commit()
    assert can(hr, "evaluation.read_comments")
    assert not can(hr, "interaction.view")  # a grant gives that one permission, nothing more


def test_the_auditor_reads_everything_and_changes_nothing(client, auth, session, people):
    interaction = factories.create_interaction(session, people["agent_b"])
    session.commit()
    auth.login("auditor")
    for url in ("/interactions", f"/interactions/{interaction.id}", "/users", "/teams", "/audit"):
        assert client.get(url).status_code == 200, url
    for url in ("/interactions/new", "/users/new", "/teams/new", "/interactions/import",
                f"/interactions/{interaction.id}/edit", f"/users/{people['hr'].id}/edit"):
        assert client.get(url).status_code == 403, url
    write_permissions = [p for p in PERMISSIONS if p.endswith((".manage", ".create", ".edit",
                                                              ".import"))
                         and p != "token.manage"]
    assert write_permissions
    assert not any(can(people["auditor"], p) for p in write_permissions)


def test_navigation_shows_each_role_what_it_may_use(client, auth, people):
    auth.login("agent.a")
    page = client.get("/").get_data(as_text=True)
    assert ">Interactions<" in page
    for hidden in (">People<", ">Audit log<", ">Import<", ">Teams<"):
        assert hidden not in page
    auth.logout()
    auth.login("admin")
    page = client.get("/").get_data(as_text=True)
    for shown in (">Interactions<", ">People<", ">Audit log<", ">Import<", ">Teams<"):
        assert shown in page


def test_filter_choices_offer_only_what_the_user_may_see(client, auth, people):
    auth.login("lead.a")
    page = client.get("/interactions").get_data(as_text=True)
    assert "Agent.A2" in page  # a member of the lead's team
    assert "Agent.B" not in page and "Team B" not in page


@pytest.mark.parametrize("path", [
    "/api/v1/interactions/{other}", "/api/v1/interactions/{other}/history",
    "/api/v1/interactions/{other}/recording", "/api/v1/users/{other_agent}",
])
def test_api_out_of_scope_ids_answer_404(client, session, people, path):
    other = factories.create_interaction(session, people["agent_b"])
    _token, plaintext = token_services.create_token(session, factories.SYSTEM,
                                                   people["lead_a"].id, name="t")
    session.commit()
    url = path.format(other=other.id, other_agent=people["agent_b"].id)
    response = client.get(url, headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 404, url


def test_a_changed_permission_table_is_read_afresh(people, monkeypatch):
    """``scope_for`` remembers its answers per set of roles; a site's (or a test's) change to
    the table must not leave an old answer behind, nor its undoing the changed one."""
    lead = people["lead_a"]
    assert can(lead, "evaluation.read_comments")
    table = {role: scope for role, scope in PERMISSIONS["evaluation.read_comments"].items()
             if role is not Role.TEAM_LEAD}
    with monkeypatch.context() as patched:
        patched.setitem(PERMISSIONS, "evaluation.read_comments", table)
        assert not can(lead, "evaluation.read_comments")
        assert scope_for(lead, "evaluation.read_comments") is None
    assert can(lead, "evaluation.read_comments")
