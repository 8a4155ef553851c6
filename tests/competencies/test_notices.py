"""Notices to employees (ISO 18295-1 6.5): drafts, publishing to an audience resolved to active
users, acknowledgements (once, by the recipient only), withdrawal, what is outstanding per team
and per person, who sees what, and the audit trail of every change."""

from __future__ import annotations

import datetime as dt

import factories
import pytest
from sqlalchemy import func, select

from competencies.frameworks import services as framework_services
from competencies.notices import queries, services
from competencies.notices.models import Notice, NoticeRecipient
from competencies.profiles import services as profiles
from qm.audit import AuditEntry
from qm.auth import services as auth_services
from qm.errors import Conflict, InvalidInput, NotFound, PermissionDenied, StaleEdit

TODAY = dt.date(2026, 12, 1)
Audience = services.Audience


def _draft(session, actor=factories.SYSTEM, **values):
    return services.save_draft(session, actor, {
        "title": "New greeting", "body": "Say the client's name.\nThen yours.",
        "category": "procedure", **values})


def _published(session, audience, actor=factories.SYSTEM, **values):
    notice = _draft(session, actor, **values)
    return services.publish(session, actor, notice.id, audience, today=TODAY)


def _recipients(session, notice):
    return sorted(session.scalars(select(NoticeRecipient.user_id)
                                  .where(NoticeRecipient.notice_id == notice.id)))


def _ids(people, *names):
    return sorted(people[n].id for n in names)


def _actions(session, notice=None):
    stmt = select(AuditEntry.action).where(AuditEntry.action.like("notice.%"))
    if notice is not None:
        stmt = stmt.where(AuditEntry.entity_type == "notices",
                          AuditEntry.entity_id == str(notice.id))
    return session.scalars(stmt.order_by(AuditEntry.seq)).all()


def _count(session, model=Notice):
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def profile(session, people):
    """A client profile held by agent.a2 and agent.b."""
    framework = framework_services.import_framework(session, factories.SYSTEM, {
        "name": "Notice framework", "groups": [{"code": "6.3.2", "competencies": [
            {"code": "6.3.2", "name": "Communication"}]}]}, publish=True).framework
    item = profiles.save_profile(session, factories.SYSTEM, framework_id=framework.id,
                                 kind="client", name="Acme", requirements={"6.3.2": 2})
    profiles.assign_profile(session, factories.SYSTEM, item.id,
                            [people["agent_a2"].id, people["agent_b"].id])
    session.commit()
    return item


# --- drafts -----------------------------------------------------------------------------------


def test_a_draft_is_created_updated_and_audited(session, people):
    notice = _draft(session, people["hr"], title="  Greeting  ", category="Procedure",
                    acknowledge_by=dt.date(2026, 12, 31))
    assert (notice.title, notice.category, notice.status, notice.created_by_id) == (
        "Greeting", "procedure", "draft", people["hr"].id)
    assert notice.body == "Say the client's name.\nThen yours."
    updated = services.save_draft(session, people["admin"], {"category": "policy"}, notice.id,
                                  expected_version=notice.version)
    assert (updated.id, updated.title, updated.category) == (notice.id, "Greeting", "policy")
    # the same values again write nothing
    services.save_draft(session, people["admin"], {"category": "policy"}, notice.id)
    assert _actions(session, notice) == ["notice.created", "notice.updated"]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "notice.updated")).one()
    assert (entry.before["category"], entry.after["category"]) == ("procedure", "policy")
    assert entry.actor_name == "admin"


def test_a_stale_draft_edit_is_refused(session, people):
    notice = _draft(session)
    stale = notice.version
    services.save_draft(session, people["hr"], {"title": "First"}, notice.id,
                        expected_version=stale)
    with pytest.raises(StaleEdit):
        services.save_draft(session, people["hr"], {"title": "Second"}, notice.id,
                            expected_version=stale)
    assert session.get(Notice, notice.id).title == "First"


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"title": " "}, "title", "A notice needs a title of 1 to 200 characters."),
    ({"title": "x" * 201}, "title", "A notice needs a title of 1 to 200 characters."),
    ({"body": "  \n "}, "body", "A notice needs its text"),
    ({"body": "x" * 20_001}, "body", "at most 20000 characters"),
    ({"category": "rumour"}, "category", "one of policy, procedure, product, client, other "
                                         "(got 'rumour')"),
    ({"acknowledge_by": "2026-12-31"}, "acknowledge_by", "is a date, or none"),
])
def test_a_bad_draft_is_refused_with_a_sentence(session, people, values, field, message):
    with pytest.raises(InvalidInput) as info:
        _draft(session, people["hr"], **values)
    assert message in str(info.value) and message in info.value.errors[field]
    assert _count(session) == 0


@pytest.mark.parametrize("who", ["agent_a", "lead_a", "qa", "auditor"])
def test_only_hr_and_admins_write_notices(session, people, who):
    notice = _draft(session)
    actor = people[who]
    with pytest.raises(PermissionDenied, match="notice.manage"):
        _draft(session, actor)
    with pytest.raises(PermissionDenied):
        services.publish(session, actor, notice.id, Audience(all_agents=True))
    with pytest.raises(PermissionDenied):
        services.withdraw(session, actor, notice.id)
    assert _count(session) == 1 and _count(session, NoticeRecipient) == 0


# --- publishing: the audience -----------------------------------------------------------------


def test_publishing_to_all_agents_takes_the_active_agents_only(session, people):
    auth_services.update_user(session, factories.SYSTEM, people["agent_a2"].id, active=False)
    notice = _published(session, Audience(all_agents=True), acknowledge_by=TODAY)
    assert _recipients(session, notice) == _ids(people, "agent_a", "agent_b")
    assert notice.status == "published" and notice.published_at is not None
    assert notice.audience == {"all_agents": True, "team_ids": [], "profile_ids": [],
                               "user_ids": []}


def test_publishing_to_teams_profiles_users_and_their_union(session, people, profile):
    team_a = _published(session, Audience(team_ids=(people["team_a"].id,)))
    assert _recipients(session, team_a) == _ids(people, "agent_a", "agent_a2")
    holders = _published(session, Audience(profile_ids=(profile.id,)))
    assert _recipients(session, holders) == _ids(people, "agent_a2", "agent_b")
    chosen = _published(session, Audience(user_ids=(people["qa"].id, people["hr"].id)))
    assert _recipients(session, chosen) == _ids(people, "qa", "hr")
    union = _published(session, Audience.of(team_ids=[people["team_a"].id],
                                            profile_ids=[profile.id],
                                            user_ids=[people["qa"].id, people["agent_a"].id]))
    assert _recipients(session, union) == _ids(people, "agent_a", "agent_a2", "agent_b", "qa")
    # the lead of team A is not a member of it: a team is its members
    assert people["lead_a"].id not in _recipients(session, team_a)


def test_inactive_users_are_left_out_and_nobody_is_refused(session, people, profile):
    for name in ("agent_a2", "agent_b"):
        auth_services.update_user(session, factories.SYSTEM, people[name].id, active=False)
    notice = _draft(session)
    for audience in (Audience(profile_ids=(profile.id,)),
                     Audience(user_ids=(people["agent_b"].id,))):
        with pytest.raises(InvalidInput, match="Nobody active is in the audience chosen"):
            services.publish(session, people["hr"], notice.id, audience, today=TODAY)
    with pytest.raises(InvalidInput, match="Choose whom the notice goes to"):
        services.publish(session, people["hr"], notice.id, Audience(), today=TODAY)
    session.refresh(notice)
    assert notice.status == "draft" and _count(session, NoticeRecipient) == 0
    assert "notice.published" not in _actions(session)
    mixed = services.publish(session, people["hr"], notice.id, Audience(
        profile_ids=(profile.id,), user_ids=(people["agent_a"].id,)), today=TODAY)
    assert _recipients(session, mixed) == _ids(people, "agent_a")


def test_unknown_ids_and_bad_values_in_an_audience_are_sentences(session, people):
    notice = _draft(session)
    with pytest.raises(InvalidInput, match="There is no team 9999. There are no users "
                                           "8888, 9999.") as info:
        services.publish(session, people["hr"], notice.id,
                         Audience(team_ids=(9999,), user_ids=(8888, 9999)), today=TODAY)
    assert set(info.value.errors) == {"team_ids", "user_ids"}
    with pytest.raises(InvalidInput, match="The teams are a list of ids"):
        Audience.of(team_ids=["1"])
    with pytest.raises(InvalidInput, match="'All agents' is true or false"):
        Audience.of(all_agents="yes")
    assert Audience.of(user_ids=[3, 1, 3]).user_ids == (1, 3)


def test_a_deadline_in_the_past_is_refused_at_publication(session, people):
    notice = _draft(session, acknowledge_by=TODAY - dt.timedelta(days=1))
    with pytest.raises(InvalidInput, match=r"deadline to acknowledge \(2026-11-30\) is in the "
                                           "past"):
        services.publish(session, people["hr"], notice.id, Audience(all_agents=True),
                         today=TODAY)
    assert session.get(Notice, notice.id).status == "draft"


def test_a_published_notice_is_frozen(session, people):
    notice = _published(session, Audience(all_agents=True))
    with pytest.raises(Conflict, match="A published notice cannot be changed"):
        services.save_draft(session, people["hr"], {"title": "Corrected"}, notice.id)
    with pytest.raises(Conflict, match="published already"):
        services.publish(session, people["hr"], notice.id, Audience(all_agents=True),
                         today=TODAY)
    assert session.get(Notice, notice.id).title == "New greeting"
    with pytest.raises(NotFound):
        services.save_draft(session, people["hr"], {"title": "X"}, 99999)


def test_recipients_are_added_later_once(session, people):
    notice = _published(session, Audience(team_ids=(people["team_a"].id,)))
    joiner = factories.create_user(session, "new.joiner", team=people["team_a"])
    added = services.add_recipients(session, people["hr"], notice.id,
                                    Audience(team_ids=(people["team_a"].id,)))
    assert added == [joiner.id]
    assert services.add_recipients(session, people["hr"], notice.id,
                                   Audience(user_ids=(joiner.id,))) == []
    assert _recipients(session, notice) == sorted([*_ids(people, "agent_a", "agent_a2"),
                                                   joiner.id])
    assert _actions(session, notice).count("notice.recipients_added") == 1
    draft = _draft(session)
    with pytest.raises(Conflict, match="is a draft"):
        services.add_recipients(session, people["hr"], draft.id, Audience(all_agents=True))


# --- acknowledgements -------------------------------------------------------------------------


def test_a_recipient_acknowledges_once(session, people):
    notice = _published(session, Audience(all_agents=True))
    first = services.acknowledge(session, people["agent_a"], notice.id)
    assert first.acknowledged_at is not None
    at = first.acknowledged_at
    again = services.acknowledge(session, people["agent_a"], notice.id)
    assert again.acknowledged_at == at
    acks = session.scalars(select(AuditEntry).where(AuditEntry.action == "notice.acknowledged"))
    assert [(e.entity_id, e.actor_name, e.after["user_id"]) for e in acks] == [
        (str(notice.id), "agent.a", people["agent_a"].id)]


@pytest.mark.parametrize("who", ["agent_b", "lead_a", "hr"])
def test_only_a_recipient_acknowledges_for_themselves(session, people, who):
    notice = _published(session, Audience(user_ids=(people["agent_a"].id,)))
    with pytest.raises(PermissionDenied, match="Only someone this notice was sent to"):
        services.acknowledge(session, people[who], notice.id)
    assert session.get(NoticeRecipient, (notice.id, people["agent_a"].id)).acknowledged_at \
        is None
    with pytest.raises(NotFound):
        services.acknowledge(session, people["agent_a"], 99999)


def test_a_withdrawn_notice_asks_nobody(session, people):
    notice = _published(session, Audience(all_agents=True), acknowledge_by=TODAY)
    services.acknowledge(session, people["agent_a"], notice.id)
    services.withdraw(session, people["hr"], notice.id, expected_version=notice.version)
    assert notice.status == "withdrawn" and notice.withdrawn_by_id == people["hr"].id
    with pytest.raises(Conflict, match="withdrawn: it no longer needs acknowledging"):
        services.acknowledge(session, people["agent_b"], notice.id)
    # what was acknowledged stays; acknowledging again is still the same no-op
    assert services.acknowledge(session, people["agent_a"], notice.id).acknowledged_at
    # a second withdrawal changes nothing
    services.withdraw(session, people["hr"], notice.id)
    assert _actions(session, notice).count("notice.withdrawn") == 1
    assert queries.to_acknowledge_count(session, people["agent_b"]) == 0
    assert queries.outstanding_by_team(session, people["hr"], as_of=TODAY) == []
    with pytest.raises(Conflict, match="withdrawn"):
        services.add_recipients(session, people["hr"], notice.id, Audience(all_agents=True))
    with pytest.raises(Conflict, match="nothing to withdraw"):
        services.withdraw(session, people["hr"], _draft(session).id)


def test_every_change_is_audited(session, people):
    notice = _draft(session, people["hr"])
    services.save_draft(session, people["hr"], {"title": "Greeting v2"}, notice.id)
    services.publish(session, people["hr"], notice.id, Audience(team_ids=(
        people["team_a"].id,)), today=TODAY)
    services.add_recipients(session, people["hr"], notice.id,
                            Audience(user_ids=(people["agent_b"].id,)))
    services.acknowledge(session, people["agent_a"], notice.id)
    services.withdraw(session, people["hr"], notice.id)
    assert _actions(session, notice) == [
        "notice.created", "notice.updated", "notice.published", "notice.recipients_added",
        "notice.acknowledged", "notice.withdrawn"]
    published = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "notice.published")).one()
    assert published.after["recipients"] == _ids(people, "agent_a", "agent_a2")
    assert published.before["published_at"] is None and published.after["published_at"]


# --- the read side ----------------------------------------------------------------------------


def test_my_notices_put_what_waits_first(session, people):
    agent = people["agent_a"]
    done = _published(session, Audience(all_agents=True), title="Done")
    later = _published(session, Audience(all_agents=True), title="Later",
                       acknowledge_by=TODAY + dt.timedelta(days=20))
    sooner = _published(session, Audience(all_agents=True), title="Sooner",
                        acknowledge_by=TODAY + dt.timedelta(days=2))
    gone = _published(session, Audience(all_agents=True), title="Gone")
    _draft(session, title="Not sent")
    services.acknowledge(session, agent, done.id)
    services.withdraw(session, people["hr"], gone.id)
    mine = queries.notices_for(session, agent)
    assert [m.notice.title for m in mine] == ["Sooner", "Later", "Done", "Gone"]
    assert [m.to_acknowledge for m in mine] == [True, True, False, False]
    assert queries.to_acknowledge_count(session, agent) == 2
    assert mine[0].overdue(TODAY + dt.timedelta(days=3)) and not mine[0].overdue(TODAY)
    assert {later.id, sooner.id} == {m.notice.id for m in mine if m.to_acknowledge}


def _world(session, people):
    """Two notices to all agents: one with a deadline (acknowledged by agent.a only), one
    without (acknowledged by agent.b); and a teamless agent."""
    loner = factories.create_user(session, "agent.loner")
    dated = _published(session, Audience(all_agents=True), title="Dated",
                       acknowledge_by=TODAY + dt.timedelta(days=5))
    open_ = _published(session, Audience(all_agents=True), title="Open")
    services.acknowledge(session, people["agent_a"], dated.id)
    services.acknowledge(session, people["agent_b"], open_.id)
    session.commit()
    return dated, open_, loner


def test_outstanding_per_team_counts_and_overdue(session, people):
    dated, open_, _loner = _world(session, people)
    before = TODAY + dt.timedelta(days=5)
    rows = {(r.team, r.title): r for r in queries.outstanding_by_team(session, people["hr"],
                                                                     as_of=before)}
    assert {k: (r.recipients, r.acknowledged, r.outstanding, r.overdue)
            for k, r in rows.items()} == {
        ("Team A", "Dated"): (2, 1, 1, 0), ("Team A", "Open"): (2, 0, 2, 0),
        ("Team B", "Dated"): (1, 0, 1, 0), ("Team B", "Open"): (1, 1, 0, 0),
        ("(no team)", "Dated"): (1, 0, 1, 0), ("(no team)", "Open"): (1, 0, 1, 0)}
    after = TODAY + dt.timedelta(days=6)
    late = queries.outstanding_by_team(session, people["hr"], as_of=after)
    assert {(r.team, r.title): r.overdue for r in late if r.overdue} == {
        ("Team A", "Dated"): 1, ("Team B", "Dated"): 1, ("(no team)", "Dated"): 1}
    assert queries.totals(late) == (6, 3)
    assert late[-1].outstanding == 0  # nothing outstanding: last
    only_b = queries.outstanding_by_team(session, people["hr"], as_of=after,
                                         team_id=people["team_b"].id)
    assert {r.title for r in only_b} == {"Dated", "Open"} and {r.team for r in only_b} == {
        "Team B"}
    people_rows = queries.outstanding_people(session, people["hr"], as_of=after)
    assert [(p.username, p.title, p.overdue) for p in people_rows][:3] == [
        ("agent.a2", "Dated", True), ("agent.b", "Dated", True), ("agent.loner", "Dated", True)]
    assert len(people_rows) == 6
    assert len(queries.outstanding_people(session, people["hr"], as_of=after,
                                          notice_id=open_.id)) == 3


def test_a_lead_sees_their_team_and_an_agent_themselves(session, people):
    dated, open_, _loner = _world(session, people)
    lead = queries.outstanding_by_team(session, people["lead_a"], as_of=TODAY)
    assert {r.team for r in lead} == {"Team A"}
    assert {p.username for p in queries.outstanding_people(session, people["lead_a"],
                                                            as_of=TODAY)} == {"agent.a",
                                                                               "agent.a2"}
    agent = queries.outstanding_people(session, people["agent_a"], as_of=TODAY)
    assert [(p.username, p.title) for p in agent] == [("agent.a", "Open")]
    overview = {c.notice.title: (c.acknowledged, c.recipients)
                for c in queries.overview(session, people["lead_a"])}
    assert overview == {"Dated": (1, 2), "Open": (0, 2)}
    every = {c.notice.title: (c.acknowledged, c.recipients)
             for c in queries.overview(session, people["hr"])}
    assert every == {"Dated": (1, 4), "Open": (1, 4)}
    assert [r.user.username for r in queries.recipients(session, people["lead_a"],
                                                        dated.id)] == ["agent.a2", "agent.a"]
    # who may read a notice: a recipient, a lead of a recipient, HR; nobody else
    draft = _draft(session, title="Draft")
    to_b = _published(session, Audience(user_ids=(people["agent_b"].id,)), title="To B")
    assert queries.visible_notice(session, people["agent_a"], dated.id) is dated
    assert queries.visible_notice(session, people["agent_a"], to_b.id) is None
    assert queries.visible_notice(session, people["lead_a"], to_b.id) is None
    assert queries.visible_notice(session, people["lead_b"], to_b.id) is to_b
    assert queries.visible_notice(session, people["lead_a"], draft.id) is None
    assert queries.visible_notice(session, people["hr"], draft.id) is draft
    assert queries.visible_notice(session, people["auditor"], draft.id) is draft
    assert not queries.follows_others(people["agent_a"])
    assert queries.follows_others(people["lead_a"]) and queries.follows_others(people["hr"])


def test_the_demo_adds_its_notices_once(session, people):
    from competencies import demo

    first = demo.seed(session, factories.SYSTEM, None)
    assert "Notices: one sent to 3 agents (1 acknowledged), one draft." in first
    second = demo.seed(session, factories.SYSTEM, None)
    assert "Notices: there already." in second
    assert sorted(n.status for n in session.scalars(select(Notice))) == ["draft", "published"]
    assert _count(session, NoticeRecipient) == 3
    assert session.scalar(select(func.count()).select_from(NoticeRecipient).where(
        NoticeRecipient.acknowledged_at.is_not(None))) == 1
