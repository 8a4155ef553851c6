"""Training sessions (ISO 18295-1 6.4): scheduling, enrolment within the places, attendance
that writes the training record, cancelling, the effect on assessed levels; and the pages
over real HTTP (courses, sessions, a completion by hand, a person's training)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import factories
import pytest
from sqlalchemy import func, select

from competencies.frameworks import services as framework_services
from competencies.frameworks.models import CompetencyFramework
from competencies.profiles import services as profile_services
from competencies.training import queries, services, sessions
from competencies.training.models import Course, TrainingRecord, TrainingSession
from qm.audit import AuditEntry
from qm.auth import tokens
from qm.errors import Conflict, InvalidInput, PermissionDenied, StaleEdit

TODAY = date(2026, 6, 15)


@pytest.fixture
def course(session):
    framework_services.import_framework(session, factories.SYSTEM, {
        "name": "Session framework", "groups": [{"code": "6.3.2", "competencies": [
            {"code": "COM-1", "name": "Listening"}, {"code": "KNW-2", "name": "Products"}]}]},
        publish=True)
    course = services.save_course(session, factories.SYSTEM, {
        "name": "Listening skills", "kind": "refresher", "refresh_months": 12,
        "competencies": ["COM-1"]})
    session.commit()
    return course


def _schedule(session, actor, course, held_on=TODAY, **values):
    return sessions.schedule(session, actor, {"course_id": course.id, "held_on": held_on,
                                              "trainer": "Ana", "location": "Room 2", **values})


def _actions(session):
    return session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("training_session.%")).order_by(AuditEntry.seq)).all()


def test_a_session_is_scheduled_changed_and_audited(session, people, course):
    item = _schedule(session, people["hr"], course, capacity=10)
    assert (item.status, item.trainer, item.capacity) == ("planned", "Ana", 10)
    changed = sessions.schedule(session, people["hr"], {
        "course_id": course.id, "held_on": TODAY + timedelta(days=1), "trainer": "Bo",
        "location": "", "capacity": None}, session_id=item.id, expected_version=item.version)
    assert (changed.held_on, changed.trainer, changed.capacity) == (
        TODAY + timedelta(days=1), "Bo", None)
    assert _actions(session) == ["training_session.scheduled", "training_session.updated"]
    with pytest.raises(StaleEdit):
        sessions.schedule(session, people["hr"], {"course_id": course.id, "held_on": TODAY},
                          session_id=item.id, expected_version=item.version - 1)


@pytest.mark.parametrize("values, field", [
    ({"course_id": 999}, "course_id"),
    ({"held_on": "2026-06-15"}, "held_on"),
    ({"capacity": 0}, "capacity"),
    ({"capacity": True}, "capacity"),
    ({"trainer": "x" * 121}, "trainer"),
])
def test_bad_session_values_are_sentences_and_write_nothing(session, people, course, values,
                                                            field):
    with pytest.raises(InvalidInput) as caught:
        _schedule(session, people["hr"], course, **values)
    assert field in caught.value.errors
    assert session.scalar(select(func.count(TrainingSession.id))) == 0


def test_only_hr_schedules(session, people, course):
    with pytest.raises(PermissionDenied):
        _schedule(session, people["lead_a"], course)


def test_enrolment_keeps_within_the_places(session, people, course):
    item = _schedule(session, people["hr"], course, capacity=2)
    added = sessions.enrol(session, people["hr"], item.id,
                           [people["agent_a"].id, people["agent_a"].id])
    assert added == [people["agent_a"].id]
    assert sessions.enrol(session, people["hr"], item.id, [people["agent_a"].id]) == []
    with pytest.raises(InvalidInput, match="2 places and 1 are taken; 2 more do not fit"):
        sessions.enrol(session, people["hr"], item.id,
                       [people["agent_a2"].id, people["agent_b"].id])
    assert len(item.attendees) == 1  # the whole list was refused
    with pytest.raises(InvalidInput, match="no active user #999"):
        sessions.enrol(session, people["hr"], item.id, [999])
    sessions.unenrol(session, people["hr"], item.id, people["agent_a"].id)
    assert item.attendees == []
    with pytest.raises(InvalidInput, match="cannot be lower"):
        sessions.enrol(session, people["hr"], item.id, [people["agent_a"].id,
                                                        people["agent_b"].id])
        sessions.schedule(session, people["hr"], {"course_id": course.id, "held_on": TODAY,
                                                  "capacity": 1}, session_id=item.id)


def test_attendance_writes_the_training_record_once(session, people, course):
    item = _schedule(session, people["hr"], course)
    sessions.enrol(session, people["hr"], item.id, [people["agent_a"].id, people["agent_b"].id])
    # agent.b's completion of that day came in by import already: it is linked, not doubled
    existing = services.record_completion(session, people["hr"], user_id=people["agent_b"].id,
                                          course_id=course.id, completed_on=TODAY, today=TODAY)
    sessions.record_attendance(session, people["hr"], item.id, {
        people["agent_a"].id: ("attended", "pass"), people["agent_b"].id: ("attended", "")},
        today=TODAY)
    assert item.status == "held"
    records = session.scalars(select(TrainingRecord).order_by(TrainingRecord.id)).all()
    assert len(records) == 2
    assert (records[1].user_id, records[1].source, records[1].result, records[1].completed_on) \
        == (people["agent_a"].id, "session", "pass", TODAY)
    by_user = {a.user_id: a for a in item.attendees}
    assert by_user[people["agent_b"].id].record_id == existing.id
    # the same marks again change nothing
    sessions.record_attendance(session, people["hr"], item.id, {
        people["agent_a"].id: ("attended", "pass")}, today=TODAY)
    assert session.scalar(select(func.count(TrainingRecord.id))) == 2
    # an attendance that wrote a record is not taken back
    with pytest.raises(Conflict, match="it stands"):
        sessions.record_attendance(session, people["hr"], item.id, {
            people["agent_a"].id: ("absent", "")}, today=TODAY)
    # the refresher is now due a year on
    due_on = queries.person_training(session, people["agent_a"].id, TODAY)[0].due_on
    assert due_on == date(2027, 6, 15)
    assert _actions(session).count("training_session.attendance") == 2
    assert _actions(session)[-1] == "training_session.held"


def test_attendance_refusals_write_nothing(session, people, course):
    item = _schedule(session, people["hr"], course, held_on=TODAY + timedelta(days=3))
    sessions.enrol(session, people["hr"], item.id, [people["agent_a"].id])
    with pytest.raises(InvalidInput, match="recorded on the day or after"):
        sessions.record_attendance(session, people["hr"], item.id, {
            people["agent_a"].id: ("attended", "")}, today=TODAY)
    later = TODAY + timedelta(days=3)
    with pytest.raises(InvalidInput, match="is not enrolled"):
        sessions.record_attendance(session, people["hr"], item.id, {
            people["agent_a"].id: ("attended", ""), people["agent_b"].id: ("absent", "")},
            today=later)
    with pytest.raises(InvalidInput, match="attended or absent"):
        sessions.record_attendance(session, people["hr"], item.id, {
            people["agent_a"].id: ("late", "")}, today=later)
    assert item.status == "planned" and item.attendees[0].status == "enrolled"
    assert session.scalar(select(func.count(TrainingRecord.id))) == 0
    sessions.cancel(session, people["hr"], item.id)
    with pytest.raises(Conflict, match="cancelled"):
        sessions.record_attendance(session, people["hr"], item.id, {
            people["agent_a"].id: ("attended", "")}, today=later)
    with pytest.raises(Conflict):
        sessions.enrol(session, people["hr"], item.id, [people["agent_b"].id])


def test_the_effect_compares_levels_before_and_after(session, people, course):
    item = _schedule(session, people["hr"], course)
    sessions.enrol(session, people["hr"], item.id,
                   [people["agent_a"].id, people["agent_a2"].id, people["agent_b"].id])
    sessions.record_attendance(session, people["hr"], item.id, {
        people["agent_a"].id: ("attended", ""), people["agent_a2"].id: ("attended", ""),
        people["agent_b"].id: ("absent", "")}, today=TODAY)

    framework_id = session.scalar(select(CompetencyFramework.id))

    def assess(who, level, on):
        profile_services.assess(session, people["hr"], user_id=people[who].id,
                                framework_id=framework_id, competency_code="COM-1",
                                level=level, assessed_on=on, method="observation",
                                today=date(2027, 1, 1))

    assess("agent_a", 1, TODAY - timedelta(days=30))
    assess("agent_a", 3, TODAY + timedelta(days=40))
    assess("agent_a2", 2, TODAY - timedelta(days=5))  # nobody re-assessed agent.a2 yet
    assess("agent_b", 1, TODAY - timedelta(days=5))  # absent: not counted
    assess("agent_b", 4, TODAY + timedelta(days=5))
    found = queries.course_effect(session, course)
    assert (found.overall.pairs, found.overall.waiting, found.overall.improved) == (1, 1, 1)
    assert found.overall.mean_change == pytest.approx(2.0)
    assert found.by_code["COM-1"].pairs == 1
    assert found.by_session[item.id].mean_after == pytest.approx(3.0)


# --- pages ------------------------------------------------------------------------------------


def _token(client, page):
    html = client.get(page).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_hr_runs_a_session_from_the_pages(client, auth, session, people, course):
    auth.login("hr")
    today = date.today()
    page = client.get(f"/training/sessions/new?course_id={course.id}")
    assert page.status_code == 200 and "Listening skills" in page.get_data(as_text=True)
    created = client.post_form("/training/sessions/new", {
        "course_id": course.id, "held_on": today.isoformat(), "trainer": "Ana",
        "location": "Room 2", "capacity": "5", "notes": ""})
    assert created.status_code == 302
    item = session.scalars(select(TrainingSession)).one()
    url = f"/training/sessions/{item.id}"
    enrolled = client.post_form(f"{url}/enrol", {"team_id": people["team_a"].id}, page=url)
    assert enrolled.status_code == 302
    session.expire_all()
    assert {a.user_id for a in item.attendees} >= {people["agent_a"].id, people["agent_a2"].id}
    marked = client.post_form(f"{url}/attendance", {
        f"mark-{people['agent_a'].id}": "attended", f"result-{people['agent_a'].id}": "92%",
        f"mark-{people['agent_a2'].id}": "absent"}, page=url)
    assert marked.status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert "held" in html and "92%" in html
    record = session.scalars(select(TrainingRecord)).one()
    assert (record.user_id, record.result) == (people["agent_a"].id, "92%")
    # the person's page shows the completion and the refresher date
    person = client.get(f"/training/people/{people['agent_a'].id}").get_data(as_text=True)
    assert "Listening skills" in person and str(record.completed_on) in person
    # nothing to mark is a sentence, not a silent success
    empty = client.post_form(f"{url}/attendance", {}, page=url)
    assert empty.status_code == 400 and "Mark at least one person" in empty.get_data(as_text=True)


def test_an_overfull_enrolment_is_refused_with_the_page_shown_again(client, auth, session,
                                                                    people, course):
    item = _schedule(session, people["hr"], course, capacity=1)
    session.commit()
    auth.login("hr")
    url = f"/training/sessions/{item.id}"
    refused = client.post_form(f"{url}/enrol", {"team_id": people["team_a"].id}, page=url)
    assert refused.status_code == 400
    assert "1 places and 0 are taken" in refused.get_data(as_text=True)
    session.expire_all()
    assert item.attendees == []


def test_courses_are_created_and_edited_from_the_pages(client, auth, session, people, course):
    auth.login("hr")
    created = client.post_form("/training/courses/new", {
        "name": "Product basics", "kind": "product", "refresh_months": "",
        "competencies": ["KNW-2"], "description": "Day one.", "active": "y"})
    assert created.status_code == 302
    new = session.scalars(select(Course).where(Course.name == "Product basics")).one()
    assert (new.kind, new.refresh_months, new.competencies) == ("product", None, ["KNW-2"])
    edit = f"/training/courses/{new.id}/edit"
    token = _token(client, edit)
    saved = client.post(edit, data={"csrf_token": token, "name": "Product basics",
                                    "kind": "product", "refresh_months": "24",
                                    "competencies": ["KNW-2"], "active": "y",
                                    "version": str(new.version)})
    assert saved.status_code == 302
    # a second editor who opened the page before that save loses nothing and is told
    stale = client.post(edit, data={"csrf_token": token, "name": "Product basics 2",
                                    "kind": "product", "refresh_months": "6",
                                    "competencies": ["KNW-2"], "active": "y",
                                    "version": str(new.version - 1)})
    assert stale.status_code == 409
    body = stale.get_data(as_text=True)
    assert "Someone else saved this course" in body and "Product basics 2" in body
    session.expire_all()
    assert (new.name, new.refresh_months) == ("Product basics", 24)
    assert client.get(f"/training/courses/{new.id}").status_code == 200
    assert "Product basics" in client.get("/training/courses").get_data(as_text=True)


def test_a_completion_entered_by_hand(client, auth, session, people, course):
    auth.login("hr")
    future = (date.today() + timedelta(days=2)).isoformat()
    refused = client.post_form("/training/records/new", {
        "user_id": people["agent_b"].id, "course_id": course.id, "completed_on": future})
    assert refused.status_code == 400 and "in the future" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count(TrainingRecord.id))) == 0
    done = client.post_form("/training/records/new", {
        "user_id": people["agent_b"].id, "course_id": course.id,
        "completed_on": "2026-01-10", "result": "pass", "certificate": "C-17"})
    assert done.status_code == 302
    record = session.scalars(select(TrainingRecord)).one()
    assert (record.certificate, record.source) == ("C-17", "manual")


def test_who_may_do_what_on_the_training_pages(client, auth, session, people, course):
    item = _schedule(session, people["hr"], course)
    sessions.enrol(session, people["hr"], item.id, [people["agent_a"].id])
    session.commit()
    auth.login("agent.b")
    assert client.get("/training/sessions/new").status_code == 403
    assert client.get("/training/courses/new").status_code == 403
    assert client.get(f"/training/sessions/{item.id}").status_code == 404  # not theirs
    assert client.get(f"/training/people/{people['agent_a'].id}").status_code == 404
    assert client.get(f"/training/people/{people['agent_b'].id}").status_code == 200
    auth.logout()
    auth.login("lead.a")  # agent.a is in lead.a's team: the session is visible, not editable
    page = client.get(f"/training/sessions/{item.id}").get_data(as_text=True)
    assert "agent.a" in page and "Record attendance" not in page
    assert client.post(f"/training/sessions/{item.id}/cancel",
                       data={"csrf_token": _token(client, "/training")}).status_code == 403
    auth.logout()
    auth.login("lead.b")
    assert client.get(f"/training/sessions/{item.id}").status_code == 404
    # a post without the CSRF token is refused
    auth.logout()
    auth.login("hr")
    assert client.post(f"/training/sessions/{item.id}/cancel").status_code == 400
    session.expire_all()
    assert item.status == "planned"


# --- the API ----------------------------------------------------------------------------------


def _headers(session, user):
    _token, plaintext = tokens.create_token(session, factories.SYSTEM, user.id, name="t")
    session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def test_sessions_through_the_api(client, session, people, course):
    hr = _headers(session, people["hr"])
    made = client.post("/api/v1/training/courses", headers=hr, json={
        "name": "Escalations", "kind": "product", "competencies": ["KNW-2"]})
    assert made.status_code == 201 and made.json["competencies"] == ["KNW-2"]
    unknown = client.post("/api/v1/training/courses", headers=hr, json={
        "name": "Unknown", "kind": "product", "competencies": ["NOPE"]})
    assert unknown.status_code == 400 and "NOPE is not a competency" in unknown.json["message"]
    today = date.today()
    created = client.post("/api/v1/training/sessions", headers=hr, json={
        "course_id": course.id, "held_on": today.isoformat(), "capacity": 2})
    assert created.status_code == 201
    session_id = created.json["id"]
    over = client.post(f"/api/v1/training/sessions/{session_id}/enrolments", headers=hr, json={
        "user_ids": [people["agent_a"].id, people["agent_a2"].id, people["agent_b"].id]})
    assert over.status_code == 400 and "do not fit" in over.json["message"]
    enrolled = client.post(f"/api/v1/training/sessions/{session_id}/enrolments", headers=hr,
                           json={"user_ids": [people["agent_a"].id, people["agent_b"].id]})
    assert enrolled.json["enrolled"] == [people["agent_a"].id, people["agent_b"].id]
    bad = client.post(f"/api/v1/training/sessions/{session_id}/attendance", headers=hr, json={
        "marks": [{"user_id": people["agent_a"].id, "status": "attended"},
                  {"user_id": people["agent_a2"].id, "status": "attended"}]})
    assert bad.status_code == 400 and "not enrolled" in bad.json["message"]
    assert session.scalar(select(func.count(TrainingRecord.id))) == 0  # nothing half-written
    held = client.post(f"/api/v1/training/sessions/{session_id}/attendance", headers=hr, json={
        "marks": [{"user_id": people["agent_a"].id, "status": "attended", "result": "pass"},
                  {"user_id": people["agent_b"].id, "status": "absent"}]})
    assert held.status_code == 200 and held.json["status"] == "held"
    assert [a["record_id"] is not None for a in held.json["attendees"]] == [True, False]
    # a lead sees the session with their own team's attendee only
    lead = _headers(session, people["lead_a"])
    seen = client.get(f"/api/v1/training/sessions/{session_id}", headers=lead).json
    assert [a["username"] for a in seen["attendees"]] == ["agent.a"]
    assert client.post("/api/v1/training/sessions", headers=lead, json={
        "course_id": course.id, "held_on": today.isoformat()}).status_code == 403
    mine = client.get(f"/api/v1/training/people/{people['agent_a'].id}", headers=lead).json
    assert mine["courses"][0]["course"] == "Listening skills"
    assert client.get(f"/api/v1/training/people/{people['agent_b'].id}",
                      headers=lead).status_code == 404
    found = client.get(f"/api/v1/training/courses/{course.id}/effect", headers=lead).json
    assert found["overall"]["waiting"] == 1 and found["overall"]["pairs"] == 0
    agent_b = _headers(session, people["agent_b"])
    assert client.get(f"/api/v1/training/sessions/{session_id}",
                      headers=agent_b).json["attendees"] == [
        {"user_id": people["agent_b"].id, "username": "agent.b", "status": "absent",
         "result": "", "record_id": None}]


# --- what a read-through found ----------------------------------------------------------------


def _held_with(session, people, course, who, before, after):
    item = _schedule(session, people["hr"], course)
    sessions.enrol(session, people["hr"], item.id, [people[w].id for w in who])
    sessions.record_attendance(session, people["hr"], item.id,
                               {people[w].id: ("attended", "") for w in who}, today=TODAY)
    framework_id = session.scalar(select(CompetencyFramework.id).where(
        CompetencyFramework.name == "Session framework"))
    for w in who:
        for level, on in ((before, TODAY - timedelta(days=3)), (after, TODAY + timedelta(days=3))):
            profile_services.assess(session, people["hr"], user_id=people[w].id,
                                    framework_id=framework_id, competency_code="COM-1",
                                    level=level, assessed_on=on, method="test",
                                    today=date(2027, 1, 1))
    session.commit()
    return item


def test_the_effect_counts_only_the_people_the_viewer_may_see(client, session, people, course):
    item = _held_with(session, people, course, ["agent_b"], 1, 4)
    for who, pairs in (("hr", 1), ("lead_b", 1), ("lead_a", 0), ("agent_a", 0)):
        found = client.get(f"/api/v1/training/courses/{course.id}/effect",
                           headers=_headers(session, people[who])).json
        assert found["overall"]["pairs"] == pairs, who
        assert (str(item.id) in found["by_session"]) == bool(pairs), who


def test_before_and_after_stay_within_one_framework(session, people, course):
    other = framework_services.import_framework(session, factories.SYSTEM, {
        "name": "Another site", "groups": [{"code": "6.3.2", "competencies": [
            {"code": "COM-1", "name": "Something else"}]}]}, publish=True).framework
    _held_with(session, people, course, ["agent_a"], 3, 3)
    # a level 0 on another framework's COM-1 after the session is not a decline
    profile_services.assess(session, people["hr"], user_id=people["agent_a"].id,
                            framework_id=other.id, competency_code="COM-1", level=0,
                            assessed_on=TODAY + timedelta(days=5), method="test",
                            today=date(2027, 1, 1))
    found = queries.course_effect(session, course)
    assert (found.overall.pairs, found.overall.unchanged, found.overall.declined) == (1, 1, 0)
    assert found.overall.waiting == 1  # the other framework's COM-1: nothing before it


def test_an_edit_without_the_version_seen_is_refused(client, auth, session, people, course):
    auth.login("hr")
    url = f"/training/courses/{course.id}/edit"
    bare = client.post_form(url, {"name": "Renamed", "kind": "refresher",
                                  "refresh_months": "12", "active": "y"})
    assert bare.status_code == 409
    session.expire_all()
    assert course.name == "Listening skills"


def test_an_auditor_sees_a_session_nobody_is_enrolled_on(client, auth, session, people,
                                                        course):
    item = _schedule(session, people["hr"], course)
    session.commit()
    auth.login("auditor")
    assert client.get(f"/training/sessions/{item.id}").status_code == 200
    assert str(item.held_on) in client.get("/training/sessions").get_data(as_text=True)


def test_a_double_submitted_session_is_planned_once(session, people, course):
    first = _schedule(session, people["hr"], course)
    with pytest.raises(Conflict, match=f"planned already: #{first.id}"):
        _schedule(session, people["hr"], course)
    assert _schedule(session, people["hr"], course, location="Room 3").id != first.id


def test_an_enrolment_moves_the_sessions_version_on(session, people, course):
    item = _schedule(session, people["hr"], course, capacity=1)
    before = item.version
    sessions.enrol(session, people["hr"], item.id, [people["agent_a"].id])
    assert item.version == before + 1  # a concurrent enrolment read the old one: refused
    sessions.enrol(session, people["hr"], item.id, [people["agent_a"].id])
    assert item.version == before + 1  # nothing added, nothing changed
