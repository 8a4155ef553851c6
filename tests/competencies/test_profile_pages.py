"""Role profiles from the web: the list, a new profile and its edit (a stale editor keeps its
input), who holds it (people or a whole team) and taking it from one; bad levels and unknown
codes are sentences that write nothing; an agent reads the list and writes nothing."""

from __future__ import annotations

import re

import factories
import pytest
from sqlalchemy import func, select

from competencies.frameworks import services as framework_services
from competencies.profiles import services
from competencies.profiles.models import CompetencyProfile, ProfileMember
from qm import audit
from qm.audit import AuditEntry
from qm.errors import InvalidInput, PermissionDenied

FRAMEWORK = {
    "name": "Agent competencies",
    "groups": [
        {"code": "6.3.2", "competencies": [{"code": "COM-1", "name": "Listening"},
                                           {"code": "COM-2", "name": "Writing"}]},
        {"code": "6.3.4", "competencies": [{"code": "ACME-1", "name": "Acme returns",
                                            "client": "Acme"}]},
    ],
}


@pytest.fixture
def framework(session, people):
    framework = framework_services.import_framework(session, factories.SYSTEM, FRAMEWORK,
                                                    publish=True).framework
    session.commit()
    return framework


@pytest.fixture
def role(session, framework):
    profile = services.save_profile(session, factories.SYSTEM, framework_id=framework.id,
                                    kind="role", name="Agent", requirements={"COM-1": 2})
    session.commit()
    return profile


def _count(session, model, *where):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def _actions(session, prefix="competency_profile"):
    return session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like(prefix + "%")).order_by(AuditEntry.seq)).all()


def test_hr_sees_every_page_and_an_agent_only_the_list(client, auth, session, people, role):
    services.assign_profile(session, factories.SYSTEM, role.id, [people["agent_a"].id])
    session.commit()
    auth.login("hr")
    listing = client.get("/skills/profiles")
    page = listing.get_data(as_text=True)
    assert listing.status_code == 200
    row = page[page.index(f'id="profile-{role.id}"'):]
    row = row[:row.index("</tr>")]
    assert re.findall(r'<td[^>]*>([^<]*)</td>', row)[:1] == ["role"]
    assert "Agent" in row and "Agent competencies" in row
    assert re.findall(r'<td class="text-end">(\d+)</td>', row) == ["1", "1"]
    for url in ("/skills/profiles/new", f"/skills/profiles/{role.id}/edit",
                f"/skills/profiles/{role.id}/members"):
        assert client.get(url).status_code == 200, url
    assert 'href="/skills/profiles"' in client.get("/skills").get_data(as_text=True)
    assert client.get("/skills/profiles/999/edit").status_code == 404
    auth.logout()
    auth.login("agent.a")
    listing = client.get("/skills/profiles")
    assert listing.status_code == 200 and "New profile" not in listing.get_data(as_text=True)
    for url in ("/skills/profiles/new", f"/skills/profiles/{role.id}/edit",
                f"/skills/profiles/{role.id}/members"):
        assert client.get(url).status_code == 403, url
        assert client.post_form(url, {"name": "x"}, page="/skills/profiles").status_code == 403
    remove = f"/skills/profiles/{role.id}/members/{people['agent_a'].id}/remove"
    assert client.post_form(remove, page="/skills/profiles").status_code == 403
    assert _count(session, ProfileMember) == 1
    assert _actions(session) == ["competency_profile.saved", "competency_profile.assigned"]


def test_a_new_profile_then_its_edit(client, auth, session, framework):
    auth.login("hr")
    page = client.get("/skills/profiles/new").get_data(as_text=True)
    assert 'name="level-ACME-1"' in page and "not required" in page
    response = client.post_form("/skills/profiles/new", {
        "kind": "client", "name": "Acme", "level-COM-1": "", "level-COM-2": "1",
        "level-ACME-1": "3"})
    assert response.status_code == 302
    profile = session.scalar(select(CompetencyProfile))
    assert response.location == f"/skills/profiles/{profile.id}/members"
    assert "Profile client: Acme saved; now choose who holds it." in client.get(
        response.location).get_data(as_text=True)
    assert (profile.kind, profile.name, profile.requirements) == (
        "client", "Acme", {"ACME-1": 3, "COM-2": 1})
    # the same kind and name again is refused, not overwritten
    again = client.post_form("/skills/profiles/new", {"kind": "client", "name": "Acme",
                                                      "level-COM-1": "4"})
    assert again.status_code == 409
    assert "There is a client profile named &#39;Acme&#39; already" in again.get_data(
        as_text=True)
    # the edit page shows what is stored, and saving replaces it
    url = f"/skills/profiles/{profile.id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'name="level-ACME-1">.*?<option value="3" selected>', page, re.S)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    done = client.post_form(url, {"kind": "queue", "name": "Acme queue", "version": version,
                                  "level-COM-1": "2"})
    assert done.status_code == 302 and done.location == "/skills/profiles"
    session.expire_all()
    profile = session.get(CompetencyProfile, profile.id)
    assert (profile.kind, profile.name, profile.requirements) == ("queue", "Acme queue",
                                                                  {"COM-1": 2})
    entries = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "competency_profile.saved").order_by(AuditEntry.seq)).all()
    assert len(entries) == 2
    assert entries[1].before["name"] == "Acme" and entries[1].after["name"] == "Acme queue"
    assert audit.verify(session).ok


def test_a_stale_profile_edit_is_refused_and_keeps_the_input(client, auth, session, role):
    auth.login("hr")
    url = f"/skills/profiles/{role.id}/edit"
    page = client.get(url).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    assert client.post_form(url, {"kind": "role", "name": "Agent", "version": version,
                                  "level-COM-1": "3"}).status_code == 302
    stale = client.post_form(url, {"kind": "role", "name": "Senior agent", "version": version,
                                   "level-COM-2": "4"})
    page = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "Someone else saved this competency profile after you opened it" in page
    assert 'value="Senior agent"' in page
    assert re.search(r'name="level-COM-2">.*?<option value="4" selected>', page, re.S)
    session.expire_all()
    stored = session.get(CompetencyProfile, role.id)
    assert (stored.name, stored.requirements) == ("Agent", {"COM-1": 3})


@pytest.mark.parametrize("levels, sentence", [
    ({"level-COM-1": "9"}, "COM-1: Level 9 is off the scale 0 to 4."),
    ({"level-NOPE": "2"}, "&#39;NOPE&#39; is not a competency of &#39;Agent competencies&#39;."),
    ({"level-COM-1": "two"}, "The level required of COM-1 must be a whole number."),
    ({"level-COM-1": "--1"}, "The level required of COM-1 must be a whole number."),
    ({"level-COM-1": "\u00b2"}, "The level required of COM-1 must be a whole number."),
    ({"kind": "team"}, "A profile is for a role, a queue or a client, not &#39;team&#39;."),
    ({"name": "  "}, "Name the profile (1 to 120 characters)."),
])
def test_bad_profiles_are_sentences_and_write_nothing(client, auth, session, role, levels,
                                                      sentence):
    auth.login("hr")
    form = {"kind": "role", "name": "Team lead", "level-COM-2": "1", **levels}
    created = client.post_form("/skills/profiles/new", form)
    assert created.status_code == 400
    assert sentence in created.get_data(as_text=True)
    url = f"/skills/profiles/{role.id}/edit"
    edited = client.post_form(url, {**form, "version": role.version})
    assert edited.status_code == 400 and sentence in edited.get_data(as_text=True)
    assert _count(session, CompetencyProfile) == 1
    assert session.get(CompetencyProfile, role.id).requirements == {"COM-1": 2}
    assert _actions(session) == ["competency_profile.saved"]


def test_assigning_people_or_a_team_and_taking_it_from_one(client, auth, session, people,
                                                           role):
    url = f"/skills/profiles/{role.id}/members"
    auth.login("hr")
    page = client.get(url).get_data(as_text=True)
    assert "Nobody holds this profile yet." in page
    assert f'<option value="{people["agent_b"].id}">' in page
    nothing = client.post_form(url, {})
    assert nothing.status_code == 400 and "Choose people, or a team." in nothing.get_data(
        as_text=True)
    done = client.post_form(url, {"user_ids": [str(people["agent_b"].id)],
                                  "team_id": str(people["team_a"].id)})
    assert done.status_code == 302
    assert "3 people now hold Agent." in client.get(done.location).get_data(as_text=True)
    holders = set(session.scalars(select(ProfileMember.user_id).where(
        ProfileMember.profile_id == role.id)))
    assert holders == {people["agent_a"].id, people["agent_a2"].id, people["agent_b"].id}
    again = client.post_form(url, {"team_id": str(people["team_a"].id)})
    assert "Everyone chosen holds Agent already" in client.get(again.location).get_data(
        as_text=True)
    assert client.post_form(url, {"team_id": "99999"}).status_code == 400
    page = client.get(url).get_data(as_text=True)
    assert f'id="holder-{people["agent_b"].id}"' in page
    assert f'<option value="{people["agent_b"].id}">' not in page  # holds it: not offered
    removed = client.post_form(f"{url}/{people['agent_b'].id}/remove", page=url)
    assert removed.status_code == 302
    page = client.get(removed.location).get_data(as_text=True)
    assert "Agent.B no longer holds Agent." in page
    assert f'id="holder-{people["agent_b"].id}"' not in page
    assert _count(session, ProfileMember, ProfileMember.user_id == people["agent_b"].id) == 0
    # taking it from someone who does not hold it is a sentence
    not_held = client.post_form(f"{url}/{people['agent_b'].id}/remove", page=url)
    assert "Agent.B does not hold the profile &#39;Agent&#39;." in client.get(
        not_held.location).get_data(as_text=True)
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "competency_profile.unassigned")).one()
    assert entry.before == {"user_ids": [people["agent_b"].id]}
    assert _actions(session) == ["competency_profile.saved", "competency_profile.assigned",
                                 "competency_profile.unassigned"]
    assert audit.verify(session).ok


def test_the_new_services_check_the_permission_and_the_holder(session, people, role):
    with pytest.raises(PermissionDenied):
        services.unassign_profile(session, people["lead_a"], role.id, people["agent_a"].id)
    with pytest.raises(PermissionDenied):
        services.update_profile(session, people["agent_a"], role.id, kind="role", name="x",
                                requirements={}, expected_version=role.version)
    with pytest.raises(InvalidInput, match="does not hold the profile"):
        services.unassign_profile(session, people["hr"], role.id, people["agent_a"].id)
