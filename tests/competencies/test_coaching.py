"""Coaching sessions and action items (issue 14, first part): who may open one for whom, the
lifecycle, action items with owner and due date, the agent's acknowledgement, stale saves, the
coaching log and open actions, and the audit trail."""

from __future__ import annotations

import datetime as dt

import factories
import pytest
from sqlalchemy import func, select

from competencies.coaching import queries, services
from competencies.coaching.models import ActionItem, CoachingSession
from qm.audit import AuditEntry
from qm.errors import Conflict, InvalidInput, NotFound, PermissionDenied, StaleEdit

TODAY = dt.date(2026, 6, 15)
PLAN = {"kind": "one_to_one", "planned_on": TODAY, "focus_questions": ["greeting"],
        "focus_competencies": ["6.3.2"], "notes": "Opening and tone."}


def _open(session, actor, agent, **values):
    return services.open_session(session, actor, agent.id, {**PLAN, **values})


def _count(session, model=CoachingSession):
    return session.scalar(select(func.count()).select_from(model))


def test_a_lead_opens_a_session_for_an_agent_of_their_team(session, people):
    item = _open(session, people["lead_a"], people["agent_a"])
    assert (item.status, item.coach_id, item.team_id) == (
        "scheduled", people["lead_a"].id, people["team_a"].id)
    assert item.focus_competencies == ["6.3.2"] and item.source == "ad_hoc"
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "coaching_session.opened")).one()
    assert entry.entity_id == str(item.id) and entry.actor_name == "lead.a"


@pytest.mark.parametrize("who, agent, error", [
    ("lead_a", "agent_b", InvalidInput),  # outside the lead's teams: a sentence
    ("agent_a", "agent_a2", PermissionDenied),
    ("hr", "agent_a", PermissionDenied),  # HR reads coaching logs, does not coach
    ("qa", "agent_a", PermissionDenied),
])
def test_who_may_not_open_a_session(session, people, who, agent, error):
    with pytest.raises(error):
        _open(session, people[who], people[agent])
    assert _count(session) == 0


def test_the_words_for_an_agent_outside_the_team(session, people):
    with pytest.raises(InvalidInput, match="no active agent #.* in the teams you coach"):
        _open(session, people["lead_a"], people["agent_b"])


@pytest.mark.parametrize("values, field", [
    ({"kind": "chat"}, "kind"),
    ({"planned_on": "2026-06-15"}, "planned_on"),
    ({"source": "rumour"}, "source"),
    ({"source": "evaluation", "evaluation_ids": []}, "evaluation_ids"),
    ({"evaluation_ids": [999]}, "evaluation_ids"),
    ({"focus_competencies": "6.3.2"}, "focus_competencies"),
])
def test_bad_values_are_sentences_and_write_nothing(session, people, values, field):
    with pytest.raises(InvalidInput) as caught:
        _open(session, people["lead_a"], people["agent_a"], **values)
    assert field in caught.value.errors
    assert _count(session) == 0


def test_a_session_from_evaluations_names_the_agents_own(session, people):
    factories.create_form(session)
    own = factories.create_dispute(session, people["qa"], factories.create_interaction(
        session, people["agent_a"])).evaluation
    other = factories.create_dispute(session, people["qa"], factories.create_interaction(
        session, people["agent_a2"])).evaluation
    item = _open(session, people["lead_a"], people["agent_a"], source="evaluation",
                 evaluation_ids=[own.id, own.id])
    assert item.evaluation_ids == [own.id]
    with pytest.raises(InvalidInput, match=f"#{other.id} is not one of"):
        _open(session, people["lead_a"], people["agent_a"], source="evaluation",
              evaluation_ids=[own.id, other.id])


def test_the_lifecycle_and_stale_saves(session, people):
    lead = people["lead_a"]
    item = _open(session, lead, people["agent_a"])
    version = item.version
    services.update_session(session, lead, item.id, {"notes": "Moved."},
                            expected_version=version)
    with pytest.raises(StaleEdit):
        services.update_session(session, lead, item.id, {"notes": "Mine."},
                                expected_version=version)
    assert item.notes == "Moved."
    with pytest.raises(InvalidInput, match="on the day or after"):
        services.hold(session, lead, item.id, held_on=TODAY + dt.timedelta(days=1), today=TODAY)
    services.hold(session, lead, item.id, held_on=TODAY, today=TODAY)
    held_version = item.version
    services.hold(session, lead, item.id, held_on=TODAY, today=TODAY)  # a double submit
    assert item.version == held_version
    with pytest.raises(Conflict, match="held; it stays"):
        services.cancel(session, lead, item.id)
    other = _open(session, lead, people["agent_a2"])
    services.cancel(session, lead, other.id)
    with pytest.raises(Conflict):
        services.hold(session, lead, other.id, held_on=TODAY, today=TODAY)
    with pytest.raises(Conflict):
        services.update_session(session, lead, other.id, {"notes": "x"})
    actions = session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_id == str(item.id),
        AuditEntry.action.like("coaching_session.%")).order_by(AuditEntry.seq)).all()
    assert actions == ["coaching_session.opened", "coaching_session.updated",
                       "coaching_session.held"]


def test_action_items_with_owner_and_due_date(session, people):
    lead, agent = people["lead_a"], people["agent_a"]
    item = _open(session, lead, agent)
    with pytest.raises(InvalidInput, match="needs an owner"):
        services.add_action(session, lead, item.id, text="Listen first", owner_id=None,
                            due_on=TODAY)
    with pytest.raises(InvalidInput, match="cannot be due before its session"):
        services.add_action(session, lead, item.id, text="Listen first", owner_id=agent.id,
                            due_on=TODAY - dt.timedelta(days=1))
    with pytest.raises(InvalidInput, match="Say what is to be done"):
        services.add_action(session, lead, item.id, text="  ", owner_id=agent.id, due_on=TODAY)
    assert _count(session, ActionItem) == 0
    action = services.add_action(session, lead, item.id, text="Listen first",
                                 owner_id=agent.id, due_on=TODAY + dt.timedelta(days=7))
    late = services.add_action(session, lead, item.id, text="Shadow a senior",
                               owner_id=lead.id, due_on=TODAY + dt.timedelta(days=1))
    # the agent sees their open actions; the overdue one shows to both
    later = TODAY + dt.timedelta(days=3)
    assert [a.id for a in queries.open_actions(session, agent, as_of=later)] == [
        late.id, action.id]
    assert [a.id for a in queries.open_actions(session, lead, as_of=later,
                                               overdue_only=True)] == [late.id]
    assert queries.open_actions(session, people["lead_b"], as_of=later) == []
    # the owner closes their own; someone else's is the coach's to close
    with pytest.raises(Conflict, match="by its owner or by the agent's coach"):
        services.complete_action(session, agent, late.id)
    done = services.complete_action(session, agent, action.id)
    first = done.done_at
    assert services.complete_action(session, agent, action.id).done_at == first
    assert [a.id for a in queries.open_actions(session, agent, as_of=later)] == [late.id]


def test_the_agent_acknowledges_and_comments(session, people):
    lead, agent = people["lead_a"], people["agent_a"]
    item = _open(session, lead, agent)
    with pytest.raises(Conflict, match="once it was held"):
        services.acknowledge(session, agent, item.id)
    services.hold(session, lead, item.id, held_on=TODAY, today=TODAY)
    with pytest.raises(Conflict, match="Only Agent.A acknowledges"):
        services.acknowledge(session, lead, item.id)
    with pytest.raises(NotFound):  # another agent does not even see it
        services.acknowledge(session, people["agent_a2"], item.id)
    services.acknowledge(session, agent, item.id, "Fair; I will try.")
    first = item.agent_acknowledged_at
    services.acknowledge(session, agent, item.id, "Fair; I will try it this week.")
    assert item.agent_acknowledged_at == first
    assert item.agent_comment == "Fair; I will try it this week."


def test_the_log_shows_each_viewer_their_scope(session, people):
    a = _open(session, people["lead_a"], people["agent_a"])
    b = _open(session, people["lead_b"], people["agent_b"],
              planned_on=TODAY + dt.timedelta(days=1))
    assert [s.id for s in queries.log(session, people["hr"])] == [b.id, a.id]
    assert [s.id for s in queries.log(session, people["lead_a"])] == [a.id]
    assert [s.id for s in queries.log(session, people["agent_b"])] == [b.id]
    assert queries.log(session, people["agent_a2"]) == []
    assert queries.log(session, people["qa"]) == []
    assert [s.id for s in queries.log(session, people["hr"], team_id=people["team_b"].id)] == [
        b.id]
    assert session.scalar(select(func.count(AuditEntry.seq)).where(
        AuditEntry.action == "coaching_session.opened")) == 2
    # the system actor (the demo, the CLI) may open one for anyone
    assert services.open_session(session, factories.SYSTEM, people["agent_b"].id,
                                 PLAN).team_id == people["team_b"].id
