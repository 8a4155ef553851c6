"""The complaint register's services on a real database: opening (by hand, from an interaction),
the life of a complaint and its audit trail, stale saves, double submits, bad input, who sees
and manages what, holidays and their import, and the register's queries."""

from __future__ import annotations

import datetime as dt
import io

import factories
import pytest
from sqlalchemy import func, select

from qm.audit import AuditEntry
from qm.config import Settings
from qm.errors import Conflict, InvalidInput, NotFound, PermissionDenied, StaleEdit
from scoring.complaints import queries, services
from scoring.complaints.models import Complaint, Holiday

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def calls(session, people):
    """A contact of team A's agent, another of team A, and one of team B's."""
    out = {"a": factories.create_interaction(session, people["agent_a"], customer_ref="CUST-A"),
           "a2": factories.create_interaction(session, people["agent_a2"],
                                              customer_ref="CUST-A2"),
           "b": factories.create_interaction(session, people["agent_b"], customer_ref="CUST-B")}
    session.commit()
    return out


def _values(**extra):
    return {"customer_ref": "CUST-A", "summary": "Charged twice for March.",
            "category": "billing", "severity": "high", **extra}


def _count(session) -> int:
    return session.scalar(select(func.count(Complaint.id)))


def _actions(session, item) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_type == "complaints", AuditEntry.entity_id == str(item.id))
        .order_by(AuditEntry.seq)))


def _site(session, now=NOW, **settings):
    return queries.site_clock(session, Settings(secret_key="t", **settings), now)


def test_a_lead_opens_a_complaint_about_their_teams_contact(session, people, calls):
    item = services.open_complaint(session, people["lead_a"], _values(
        interaction_ids=[calls["a"].id], received_at=NOW - dt.timedelta(hours=2)), now=NOW)
    session.commit()
    assert item.status == "received" and item.owner_id == people["lead_a"].id
    assert item.interaction_ids == [calls["a"].id]
    assert (item.links[0].agent_id, item.links[0].team_id) == (people["agent_a"].id,
                                                               people["team_a"].id)
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "complaint.opened")).one()
    assert entry.actor_id == people["lead_a"].id
    # the customer's words are kept out of the log: a digest proves them
    assert entry.after["summary"]["chars"] == len("Charged twice for March.")
    assert "Charged twice" not in str(entry.after)
    assert entry.after["interaction_ids"] == [calls["a"].id]


def test_opening_from_an_interaction_takes_its_customer(session, people, calls):
    item = services.open_from_interaction(session, people["qa"], calls["b"].id, {
        "summary": "Rude agent.", "category": "agent_conduct"}, now=NOW)
    assert (item.customer_ref, item.interaction_ids, item.source) == (
        "CUST-B", [calls["b"].id], "manual")
    flagged = services.open_from_interaction(session, people["qa"], calls["a"].id,
                                             source="flag", now=NOW)
    assert (flagged.source, flagged.category, flagged.customer_ref) == ("flag", "other",
                                                                       "CUST-A")
    assert f"#{calls['a'].id}" in flagged.summary
    with pytest.raises(NotFound):  # not the lead's to see
        services.open_from_interaction(session, people["lead_a"], calls["b"].id,
                                       _values(), now=NOW)


def test_bad_input_is_a_sentence_per_field_and_writes_nothing(session, people, calls):
    with pytest.raises(InvalidInput) as err:
        services.open_complaint(session, people["qa"], {
            "customer_ref": "  ", "summary": "", "category": "weather", "severity": "urgent",
            "received_at": NOW + dt.timedelta(days=1), "interaction_ids": [calls["a"].id]},
            now=NOW)
    assert set(err.value.errors) == {"customer_ref", "summary", "category", "severity",
                                     "received_at"}
    assert all(message.endswith(".") for message in err.value.errors.values())
    with pytest.raises(InvalidInput) as err:
        services.open_complaint(session, people["qa"], _values(interaction_ids=[999_999]),
                                now=NOW)
    assert set(err.value.errors) == {"interaction_ids"}
    assert _count(session) == 0


def test_a_lead_cannot_open_one_outside_their_teams(session, people, calls):
    with pytest.raises(InvalidInput) as err:  # another team's contact is not visible
        services.open_complaint(session, people["lead_a"], _values(
            interaction_ids=[calls["b"].id]), now=NOW)
    assert "interaction_ids" in err.value.errors
    with pytest.raises(InvalidInput) as err:  # nor one about no contact at all
        services.open_complaint(session, people["lead_a"], _values(), now=NOW)
    assert "interaction_ids" in err.value.errors
    with pytest.raises(PermissionDenied):
        services.open_complaint(session, people["auditor"], _values(), now=NOW)
    assert _count(session) == 0
    # QA takes a letter about no contact
    assert services.open_complaint(session, people["qa"], _values(), now=NOW).links == []


def test_a_double_submit_within_a_minute_is_refused(session, people, calls):
    first = services.open_complaint(session, people["qa"], _values(
        interaction_ids=[calls["a"].id]), now=NOW)
    with pytest.raises(Conflict, match=f"#{first.id}"):
        services.open_complaint(session, people["qa"], _values(
            interaction_ids=[calls["a"].id]), now=NOW + dt.timedelta(seconds=20))
    assert _count(session) == 1
    # another interaction of the same customer is another complaint; so is one a while later
    services.open_complaint(session, people["qa"], _values(interaction_ids=[calls["a2"].id]),
                            now=NOW + dt.timedelta(seconds=30))
    services.open_complaint(session, people["qa"], _values(interaction_ids=[calls["a"].id]),
                            now=NOW + dt.timedelta(minutes=2))
    assert _count(session) == 3


def test_the_life_of_a_complaint_is_audited_step_by_step(session, people, calls):
    lead = people["lead_a"]
    item = services.open_complaint(session, lead, _values(
        interaction_ids=[calls["a"].id], received_at=NOW - dt.timedelta(days=3)), now=NOW)
    services.acknowledge(session, lead, item.id, at=NOW - dt.timedelta(days=3, hours=-1))
    assert item.status == "acknowledged"
    services.respond(session, lead, item.id)
    assert item.status == "responded"
    with pytest.raises(InvalidInput):
        services.escalate(session, lead, item.id, reason=" ")
    services.escalate(session, lead, item.id, reason="Customer asks for a manager.")
    assert item.status == "escalated"
    with pytest.raises(Conflict):
        services.escalate(session, lead, item.id, reason="Again.")
    services.answer_escalation(session, lead, item.id, answer="Refund approved.")
    assert item.status == "responded" and item.escalation_answered_at is not None
    version = item.version
    with pytest.raises(InvalidInput) as err:
        services.resolve(session, lead, item.id, outcome="", root_cause="weather")
    assert set(err.value.errors) == {"outcome", "root_cause"}
    assert item.version == version and item.resolved_at is None
    with pytest.raises(Conflict):
        services.close(session, lead, item.id)  # not resolved yet
    services.resolve(session, lead, item.id, outcome="Refunded the second charge.",
                     root_cause="system")
    assert item.status == "resolved" and item.root_cause == "system"
    services.close(session, lead, item.id)
    assert item.status == "closed"
    with pytest.raises(Conflict):
        services.update(session, lead, item.id, {"severity": "low"})
    services.reopen(session, lead, item.id)
    assert (item.status, item.resolved_at, item.closed_at) == ("responded", None, None)
    assert item.reopened_at is not None and item.outcome == "Refunded the second charge."
    session.commit()
    assert _actions(session, item) == [
        "complaint.opened", "complaint.acknowledged", "complaint.responded",
        "complaint.escalated", "complaint.escalation_answered", "complaint.resolved",
        "complaint.closed", "complaint.reopened"]


def test_a_later_step_records_the_earlier_ones(session, people, calls):
    item = services.open_complaint(session, people["qa"], _values(
        received_at=NOW - dt.timedelta(hours=1)), now=NOW)
    services.respond(session, people["qa"], item.id, now=NOW)
    assert item.acknowledged_at == item.responded_at == NOW
    other = services.open_complaint(session, people["qa"], _values(customer_ref="C2"), now=NOW)
    services.escalate(session, people["qa"], other.id, reason="Legal threat.", now=NOW)
    services.resolve(session, people["qa"], other.id, outcome="Settled.", root_cause="policy",
                     now=NOW)
    assert other.acknowledged_at == other.responded_at == other.escalation_answered_at == NOW


def test_a_step_cannot_be_dated_before_receipt_or_in_the_future(session, people):
    item = services.open_complaint(session, people["qa"], _values(
        received_at=NOW - dt.timedelta(hours=1)), now=NOW)
    with pytest.raises(InvalidInput, match="before"):
        services.acknowledge(session, people["qa"], item.id, at=NOW - dt.timedelta(hours=2),
                             now=NOW)
    with pytest.raises(InvalidInput, match="future"):
        services.acknowledge(session, people["qa"], item.id, at=NOW + dt.timedelta(hours=2),
                             now=NOW)
    assert item.acknowledged_at is None


def test_a_stale_version_is_refused_and_writes_nothing(session, people, calls):
    item = services.open_complaint(session, people["qa"], _values(), now=NOW)
    seen = item.version
    services.update(session, people["qa"], item.id, {"severity": "critical"},
                    expected_version=seen)
    with pytest.raises(StaleEdit):
        services.update(session, people["qa"], item.id, {"category": "delay"},
                        expected_version=seen)
    with pytest.raises(StaleEdit):
        services.acknowledge(session, people["qa"], item.id, expected_version=seen)
    assert (item.category, item.acknowledged_at) == ("billing", None)
    # linking an interaction changes the complaint's version too
    current = item.version
    services.add_interaction(session, people["qa"], item.id, calls["a"].id,
                             expected_version=current)
    assert item.version == current + 1


def test_who_sees_and_manages_a_complaint(session, people, calls):
    item = services.open_complaint(session, people["lead_a"], _values(
        interaction_ids=[calls["a"].id]), now=NOW)
    letter = services.open_complaint(session, people["qa"], _values(customer_ref="LETTER"),
                                     now=NOW)
    session.commit()
    for who in ("lead_a", "qa", "admin", "auditor"):
        assert services.get(session, people[who], item.id).id == item.id
    for who in ("lead_b", "agent_a", "hr"):
        with pytest.raises(NotFound):
            services.get(session, people[who], item.id)
    with pytest.raises(PermissionDenied):
        services.acknowledge(session, people["auditor"], item.id)
    with pytest.raises(NotFound):
        services.acknowledge(session, people["lead_b"], item.id)
    site = _site(session)

    def seen(who):
        return [r.complaint.id for r in queries.register(session, people[who],
                                                          queries.Filters(), site)]

    assert seen("lead_a") == [item.id]  # not the letter: it is about no contact of theirs
    assert seen("lead_b") == [] and seen("agent_a") == []
    assert sorted(seen("auditor")) == sorted([item.id, letter.id])


def test_the_owner_is_someone_who_may_manage_it(session, people, calls):
    item = services.open_complaint(session, people["lead_a"], _values(
        interaction_ids=[calls["a"].id]), now=NOW)
    with pytest.raises(InvalidInput) as err:
        services.assign(session, people["lead_a"], item.id, people["lead_b"].id)
    assert "owner_id" in err.value.errors
    with pytest.raises(InvalidInput):
        services.assign(session, people["lead_a"], item.id, people["agent_a"].id)
    services.assign(session, people["lead_a"], item.id, people["qa"].id)
    assert item.owner_id == people["qa"].id
    owners = {u.username for u in services.owner_choices(session, item)}
    assert owners == {"lead.a", "qa", "admin"}
    with pytest.raises(InvalidInput):  # a lead cannot give a new complaint to another team's
        services.open_complaint(session, people["lead_a"], _values(
            customer_ref="X", interaction_ids=[calls["a2"].id],
            owner_id=people["lead_b"].id), now=NOW)


def test_linking_and_unlinking_interactions(session, people, calls):
    lead = people["lead_a"]
    item = services.open_complaint(session, lead, _values(interaction_ids=[calls["a"].id]),
                                   now=NOW)
    with pytest.raises(InvalidInput):  # another team's contact is not the lead's to link
        services.add_interaction(session, lead, item.id, calls["b"].id)
    services.add_interaction(session, lead, item.id, calls["a2"].id)
    services.add_interaction(session, lead, item.id, calls["a2"].id)  # again: no change
    assert item.interaction_ids == [calls["a"].id, calls["a2"].id]
    services.remove_interaction(session, lead, item.id, calls["a2"].id)
    with pytest.raises(Conflict):  # the last of the lead's teams' contacts stays
        services.remove_interaction(session, lead, item.id, calls["a"].id)
    services.assign(session, lead, item.id, people["qa"].id)
    services.remove_interaction(session, people["admin"], item.id, calls["a"].id)
    assert item.interaction_ids == []
    session.commit()
    assert _actions(session, item).count("complaint.interaction_linked") == 1
    assert _actions(session, item).count("complaint.interaction_unlinked") == 2


def test_the_register_filters_and_the_overdue_list(session, people, calls):
    qa = people["qa"]
    late = services.open_complaint(session, qa, _values(
        customer_ref="LATE", received_at=NOW - dt.timedelta(days=2)), now=NOW)
    fresh = services.open_complaint(session, qa, _values(
        customer_ref="FRESH", category="delay", received_at=NOW - dt.timedelta(hours=2)),
        now=NOW)
    done = services.open_complaint(session, qa, _values(
        customer_ref="DONE", received_at=NOW - dt.timedelta(days=40)), now=NOW)
    services.resolve(session, qa, done.id, outcome="Apologised.", root_cause="people", now=NOW)
    site = _site(session)

    def refs(**filters):
        return [r.complaint.customer_ref
                for r in queries.register(session, qa, queries.Filters(**filters), site)]

    assert refs() == ["FRESH", "LATE", "DONE"]  # the latest received first
    assert refs(overdue=True) == ["LATE"]
    assert refs(category="delay") == ["FRESH"]
    assert refs(status="resolved") == ["DONE"]
    assert refs(received_from=dt.date(2026, 3, 8), received_to=dt.date(2026, 3, 8)) == ["LATE"]
    assert refs(owner_id=people["lead_a"].id) == []
    assert [r.complaint.id for r in queries.overdue(session, qa, site)] == [late.id]
    # the done one was resolved late, but it is done: never overdue again
    assert site.of(done).get("resolve").state == "late" and not site.of(fresh).is_overdue
    # a shorter acknowledgement makes the fresh one overdue too
    strict = _site(session, complaint_ack_hours="1")
    assert {r.complaint.id for r in queries.overdue(session, qa, strict)} == {late.id, fresh.id}


def test_holidays_change_the_resolution_deadline(session, people):
    received = dt.datetime(2026, 3, 6, 16, 0, tzinfo=dt.UTC)
    item = services.open_complaint(session, people["qa"], _values(received_at=received),
                                   now=received)
    assert _site(session, now=received).of(item).get("resolve").due_at.date() == \
        dt.date(2026, 3, 27)
    holiday = services.add_holiday(session, people["admin"], dt.date(2026, 3, 18), "Local fair")
    assert _site(session, now=received).of(item).get("resolve").due_at.date() == \
        dt.date(2026, 3, 30)
    with pytest.raises(Conflict):
        services.add_holiday(session, people["admin"], dt.date(2026, 3, 18), "Again")
    with pytest.raises(InvalidInput) as err:
        services.add_holiday(session, people["admin"], "18/03/2026", "")
    assert set(err.value.errors) == {"day", "name"}
    for who in ("qa", "lead_a", "auditor"):
        with pytest.raises(PermissionDenied):
            services.add_holiday(session, people[who], dt.date(2026, 4, 3), "Good Friday")
    services.delete_holiday(session, people["admin"], holiday.id)
    session.commit()
    assert session.scalar(select(func.count(Holiday.id))) == 0
    assert list(session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_type == "holidays"))) == ["holiday.added", "holiday.deleted"]


def test_the_holiday_import_reports_bad_rows_and_takes_the_good(session, people):
    services.add_holiday(session, people["admin"], dt.date(2026, 1, 1), "New Year")
    data = (b"Date,Name\n2026-01-01,New Year's Day\n2026-04-03,Good Friday\n"
            b"2026-02-30,Nonsense\n03/04/2026,Wrong format\n2026-05-01,\n"
            b"2026-04-03,Twice\n2026-12-25,Christmas\n")
    report = services.import_holidays(session, people["admin"], io.BytesIO(data))
    session.commit()
    assert (report.rows, report.created, report.already_there) == (7, 2, 1)
    assert [e.line for e in report.errors] == [4, 5, 6, 7]
    assert "2026-02-30" in report.errors[0].reason and "YYYY-MM-DD" in report.errors[1].reason
    assert "line 3" in report.errors[3].reason
    assert [h.day.isoformat() for h in queries.holidays(session)] == [
        "2026-01-01", "2026-04-03", "2026-12-25"]
    again = services.import_holidays(session, people["admin"], io.BytesIO(data))
    assert again.created == 0 and again.already_there == 3
    with pytest.raises(InvalidInput, match="date"):
        services.import_holidays(session, people["admin"], io.BytesIO(b"day_off,name\n"))
    with pytest.raises(PermissionDenied):
        services.import_holidays(session, people["qa"], io.BytesIO(data))


def test_the_trend_counts_root_causes_per_month(session, people, calls):
    qa = people["qa"]
    for month, cause in ((1, "system"), (1, "system"), (2, "people"), (3, "system")):
        at = dt.datetime(2026, month, 10, 12, tzinfo=dt.UTC)
        item = services.open_complaint(session, qa, _values(
            customer_ref=f"T{month}{cause}{_count(session)}", received_at=at), now=at)
        services.resolve(session, qa, item.id, outcome="Fixed.", root_cause=cause, now=at)
    services.open_complaint(session, qa, _values(customer_ref="OPEN"), now=NOW)
    found = queries.trend(session, qa, as_of=dt.date(2026, 3, 15), zone="UTC")
    assert found.months[0] == "2025-04" and found.months[-1] == "2026-03"
    assert len(found.months) == 12
    assert found.counts == {"people": [0] * 10 + [1, 0], "system": [0] * 9 + [2, 0, 1]}
    assert found.totals[-3:] == [2, 1, 1] and found.received[-1] == 2
    assert queries.trend(session, people["lead_b"], as_of=dt.date(2026, 3, 15),
                         zone="UTC").counts == {}
