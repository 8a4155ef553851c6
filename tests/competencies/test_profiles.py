"""Role profiles, assessments (history kept), gaps, and the level QA evidence suggests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factories
import pytest
from sqlalchemy import func, select

from competencies.frameworks import services as framework_services
from competencies.profiles import queries, services
from competencies.profiles.models import Assessment
from qm import audit
from qm.errors import Conflict, InvalidInput, PermissionDenied, StaleEdit
from scoring.evaluations import services as ev

TODAY = dt.date(2026, 12, 2)
FRAMEWORK = {
    "name": "Agent competencies",
    "groups": [
        {"code": "6.3.2", "competencies": [{"code": "6.3.2", "name": "Communication"}]},
        {"code": "6.3.3", "competencies": [{"code": "6.3.3", "name": "Technical"}]},
        {"code": "6.3.4", "competencies": [{"code": "6.3.4", "name": "Client-specific"},
                                           {"code": "ACME", "name": "Acme", "client": "Acme"}]},
    ],
}
TAGGED_FORM = {
    "name": "Tagged form",
    "sections": [{"key": "s", "title": "Contact", "weight": 1, "questions": [
        {"key": "greet", "text": "Greets", "type": "yes_no", "points": 1,
         "competencies": ["6.3.2"]},
        {"key": "verify", "text": "Verifies identity", "type": "yes_no", "points": 3,
         "competencies": ["6.3.4"]},
    ]}],
}


@pytest.fixture
def framework(session):
    return framework_services.import_framework(session, factories.SYSTEM, FRAMEWORK,
                                               publish=True).framework


def _assess(session, actor, user, code="6.3.2", level=3, on=TODAY, **extra):
    return services.assess(session, actor, user_id=user.id, framework_id=extra.pop(
        "framework_id"), competency_code=code, level=level, assessed_on=on,
        method=extra.pop("method", "observation"), today=TODAY, **extra)


def test_profiles_require_known_codes_on_the_scale(session, people, framework):
    hr = people["hr"]
    with pytest.raises(InvalidInput, match="'6.3.9' is not a competency of 'Agent competencies'"):
        services.save_profile(session, hr, framework_id=framework.id, kind="role", name="agent",
                              requirements={"6.3.9": 2})
    with pytest.raises(InvalidInput, match="Level 7 is off the scale 0 to 4"):
        services.save_profile(session, hr, framework_id=framework.id, kind="role", name="agent",
                              requirements={"6.3.2": 7})
    with pytest.raises(InvalidInput, match="a role, a queue or a client"):
        services.save_profile(session, hr, framework_id=framework.id, kind="team", name="x",
                              requirements={})
    for role in ("agent_a", "lead_a", "qa", "auditor"):
        with pytest.raises(PermissionDenied):
            services.save_profile(session, people[role], framework_id=framework.id,
                                  kind="role", name="agent", requirements={"6.3.2": 3})


def test_required_levels_take_the_highest_of_an_agents_profiles(session, people, framework):
    hr, agent = people["hr"], people["agent_a"]
    role = services.save_profile(session, hr, framework_id=framework.id, kind="role",
                                 name="agent", requirements={"6.3.2": 3, "6.3.4": 2})
    client = services.save_profile(session, hr, framework_id=framework.id, kind="client",
                                   name="Acme", requirements={"6.3.4": 3, "ACME": 2})
    assert services.assign_profile(session, hr, role.id, [agent.id, agent.id]) == [agent.id]
    services.assign_profile(session, hr, client.id, [agent.id])
    assert services.assign_profile(session, hr, role.id, [agent.id]) == []  # held already
    required = queries.required_levels(session, framework.id, [agent.id, people["agent_b"].id])
    assert required[agent.id] == {"6.3.2": 3, "6.3.4": 3, "ACME": 2}
    assert required[people["agent_b"].id] == {}
    # saving again replaces the requirements, and a stale edit is refused
    services.save_profile(session, hr, framework_id=framework.id, kind="role", name="agent",
                          requirements={"6.3.2": 2}, expected_version=role.version)
    with pytest.raises(StaleEdit, match="Someone else saved this competency profile"):
        services.save_profile(session, hr, framework_id=framework.id, kind="role",
                              name="agent", requirements={"6.3.2": 1}, expected_version=1)
    session.commit()
    assert audit.verify(session).ok


def test_assessments_keep_history_and_the_latest_is_current(session, people, framework):
    lead, agent = people["lead_a"], people["agent_a"]
    _assess(session, lead, agent, level=1, on=dt.date(2026, 3, 1), framework_id=framework.id)
    _assess(session, lead, agent, level=3, on=dt.date(2026, 9, 1), framework_id=framework.id)
    # recorded later, dated earlier: the date decides what is current
    _assess(session, people["hr"], agent, level=2, on=dt.date(2026, 6, 1),
            framework_id=framework.id, method="test", evidence="Quiz 82%")
    assert queries.current_levels(session, framework.id, [agent.id])[agent.id] == {"6.3.2": 3}
    assert [a.level for a in queries.history(session, framework.id, agent.id)] == [3, 2, 1]
    role = services.save_profile(session, people["hr"], framework_id=framework.id,
                                 kind="role", name="agent",
                                 requirements={"6.3.2": 3, "6.3.3": 2, "6.3.4": 4})
    services.assign_profile(session, people["hr"], role.id, [agent.id])
    found = queries.gaps_of(session, framework.id, agent.id)
    assert [(g.code, g.required, g.current, g.short_by) for g in found] == [
        ("6.3.4", 4, None, 4), ("6.3.3", 2, None, 2)]


def test_bad_assessments_are_refused_and_write_nothing(session, people, framework):
    lead, agent = people["lead_a"], people["agent_a"]
    fid = framework.id
    with pytest.raises(PermissionDenied):  # another team's agent
        _assess(session, lead, people["agent_b"], framework_id=fid)
    for role in ("qa", "auditor", "agent_a2"):
        with pytest.raises(PermissionDenied):
            _assess(session, people[role], agent, framework_id=fid)
    with pytest.raises(Conflict, match="own competencies"):
        _assess(session, people["hr"], people["hr"], framework_id=fid)
    with pytest.raises(InvalidInput, match="in the future"):
        _assess(session, lead, agent, on=TODAY + dt.timedelta(days=1), framework_id=fid)
    with pytest.raises(InvalidInput, match="not a competency"):
        _assess(session, lead, agent, code="9.9", framework_id=fid)
    with pytest.raises(InvalidInput, match="off the scale"):
        _assess(session, lead, agent, level=5, framework_id=fid)
    with pytest.raises(InvalidInput, match="method"):
        _assess(session, lead, agent, method="gut feeling", framework_id=fid)
    with pytest.raises(InvalidInput, match="There is no user"):
        services.assess(session, lead, user_id=999_999, framework_id=fid,
                        competency_code="6.3.2", level=1, assessed_on=TODAY,
                        method="observation", today=TODAY)
    with pytest.raises(InvalidInput, match="suggests level 2; say why you chose 3"):
        _assess(session, lead, agent, suggested_level=2, framework_id=fid)
    assert session.scalar(select(func.count(Assessment.id))) == 0
    accepted = _assess(session, lead, agent, suggested_level=2, framework_id=fid,
                       override_reason="Observed three calls since", method="qa_evidence")
    assert (accepted.suggested_level, accepted.level) == (2, 3)


def test_qa_evidence_suggests_a_level_from_tagged_answers(session, people, framework):
    qa, agent = people["qa"], people["agent_a"]
    factories.create_form(session, TAGGED_FORM)
    # six released evaluations: greets every time, verifies identity on two of six
    for i in range(6):
        interaction = factories.create_interaction(session, agent)
        evaluation = ev.start_evaluation(session, qa, interaction)
        ev.submit(session, qa, evaluation.id,
                  {"greet": "yes", "verify": "yes" if i < 2 else "no"})
    # a targeted evaluation is left out, as the scorecard leaves it out
    targeted = ev.start_evaluation(session, qa, factories.create_interaction(session, agent))
    ev.submit(session, qa, targeted.id, {"greet": "no", "verify": "no"})
    targeted.targeted = True
    session.flush()
    evidence = queries.qa_evidence(session, agent.id)
    assert len(evidence["6.3.2"]) == 6 and len(evidence["6.3.4"]) == 6
    suggested = queries.suggestions(session, agent.id)
    assert suggested["6.3.2"].share == Decimal("1.0000") and suggested["6.3.2"].level == 4
    # verify: 2 x 3 of 6 x 3 points = 0.3333, under the 0.40 of level 1
    assert suggested["6.3.4"].share == Decimal("0.3333") and suggested["6.3.4"].level == 0
    assert suggested["6.3.4"].enough and suggested["6.3.4"].n == 6
    too_few = queries.suggestions(session, agent.id, min_answers=10, last=20)
    assert too_few["6.3.2"].level is None and not too_few["6.3.2"].enough
    assert queries.suggestions(session, people["agent_b"].id) == {}
