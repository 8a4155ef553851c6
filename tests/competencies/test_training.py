"""Training records (ISO 18295-1 6.4): courses and their rules, completions by hand and by CSV
import, the list of refreshers due or overdue, and `qm training`."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import factories
import pytest
from sqlalchemy import func, select

from competencies.frameworks import services as framework_services
from competencies.training import queries, services
from competencies.training.models import Course, TrainingRecord
from qm.audit import AuditEntry
from qm.errors import InvalidInput, NotFound, PermissionDenied

TODAY = date(2025, 6, 15)


@pytest.fixture(autouse=True)
def framework(session):
    """A framework with the codes the courses below develop."""
    return framework_services.import_framework(session, factories.SYSTEM, {
        "name": "Training framework", "groups": [{"code": "6.3.2", "competencies": [
            {"code": "COM-1", "name": "Listening"}, {"code": "KNW-2", "name": "Products"}]}]},
        publish=True)


def test_a_course_may_develop_only_competencies_of_a_framework(session):
    with pytest.raises(InvalidInput, match="NOPE is not a competency of any competency "
                                           "framework"):
        services.save_course(session, factories.SYSTEM, {
            "name": "Unknown", "kind": "product", "competencies": ["COM-1", "NOPE"]})
    assert session.scalar(select(func.count(Course.id))) == 0


def _course(session, name="Fire safety", kind="refresher", refresh_months=12, **values):
    return services.save_course(session, factories.SYSTEM, {
        "name": name, "kind": kind, "refresh_months": refresh_months, **values})


def _count(session, model=TrainingRecord):
    return session.scalar(select(func.count()).select_from(model))


def _actions(session, prefix):
    return session.scalars(select(AuditEntry.action).where(AuditEntry.action.like(prefix + "%"))
                           .order_by(AuditEntry.seq)).all()


# --- courses ----------------------------------------------------------------------------------


def test_a_course_is_created_cleaned_and_audited(session, people):
    course = services.save_course(session, people["hr"], {
        "name": "  Data protection ", "kind": "Compliance", "refresh_months": "24",
        "competencies": [" COM-1", "KNW-2", "COM-1"]})
    assert (course.name, course.kind, course.refresh_months) == ("Data protection",
                                                                 "compliance", 24)
    assert course.competencies == ["COM-1", "KNW-2"]
    assert course.active is True and course.description == ""
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "course.created")).one()
    assert entry.entity_id == str(course.id) and entry.actor_name == "hr"
    assert entry.after["name"] == "Data protection"


def test_a_course_is_updated_keeping_what_is_not_given(session, people):
    course = _course(session, competencies=["COM-1"])
    updated = services.save_course(session, people["admin"], {"refresh_months": None,
                                                              "active": False}, course.id)
    assert updated.id == course.id
    assert (updated.name, updated.kind, updated.refresh_months, updated.active,
            updated.competencies) == ("Fire safety", "refresher", None, False, ["COM-1"])
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "course.updated")).one()
    assert (entry.before["refresh_months"], entry.after["refresh_months"]) == (12, None)
    # saving the same values again changes nothing and logs nothing
    services.save_course(session, people["admin"], {"active": False}, course.id)
    assert _actions(session, "course.") == ["course.created", "course.updated"]
    with pytest.raises(NotFound):
        services.save_course(session, people["admin"], {"name": "X"}, 99999)


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"name": " "}, "name", "A course needs a name of 1 to 120 characters."),
    ({"name": "x" * 121}, "name", "A course needs a name of 1 to 120 characters."),
    ({"kind": "webinar"}, "kind", "The kind of course must be one of induction, product, "
                                  "refresher, compliance, client (got 'webinar')."),
    ({"kind": None}, "kind", "must be one of induction"),
    ({"refresh_months": 0}, "refresh_months", "a whole number of months from 1 to 120"),
    ({"refresh_months": 121}, "refresh_months", "a whole number of months from 1 to 120"),
    ({"refresh_months": "six"}, "refresh_months", "(got 'six')"),
    ({"refresh_months": 1.5}, "refresh_months", "(got 1.5)"),
    ({"refresh_months": True}, "refresh_months", "(got True)"),
    ({"competencies": "COM-1"}, "competencies", "a list of competency codes"),
    ({"competencies": ["COM-1", 7]}, "competencies", "a list of competency codes"),
    ({"competencies": [" "]}, "competencies", "A competency code has 1 to 32 characters"),
    ({"active": "yes"}, "active", "Active is true or false."),
])
def test_a_bad_course_is_refused_with_a_sentence(session, people, values, field, message):
    with pytest.raises(InvalidInput) as info:
        services.save_course(session, people["hr"], {"name": "Fire safety", "kind": "refresher",
                                                     **values})
    assert message in str(info.value)
    assert field in info.value.errors and message in info.value.errors[field]
    assert _count(session, Course) == 0


def test_every_bad_value_is_named_at_once(session, people):
    with pytest.raises(InvalidInput) as info:
        services.save_course(session, people["hr"], {"name": "", "kind": "x",
                                                     "refresh_months": -1})
    assert set(info.value.errors) == {"name", "kind", "refresh_months"}


def test_a_duplicate_course_name_is_a_sentence_not_a_database_error(session, people):
    first = _course(session)
    with pytest.raises(InvalidInput, match="A course named 'fire safety' exists already"):
        _course(session, name="fire safety")
    other = _course(session, name="Induction", kind="induction", refresh_months=None)
    with pytest.raises(InvalidInput, match="exists already") as info:
        services.save_course(session, people["hr"], {"name": "Fire Safety"}, other.id)
    assert "name" in info.value.errors
    # renaming a course to its own name (any case) is fine
    assert services.save_course(session, people["hr"], {"name": "FIRE SAFETY"},
                                first.id).name == "FIRE SAFETY"


@pytest.mark.parametrize("who", ["agent_a", "auditor", "lead_a", "qa"])
def test_only_hr_and_admins_write_training(session, people, who):
    actor = people[who]
    course = _course(session)
    with pytest.raises(PermissionDenied, match="skills.manage"):
        services.save_course(session, actor, {"name": "Other", "kind": "product"})
    with pytest.raises(PermissionDenied):
        services.save_course(session, actor, {"active": False}, course.id)
    with pytest.raises(PermissionDenied):
        services.record_completion(session, actor, user_id=people["agent_a"].id,
                                   course_id=course.id, completed_on=TODAY, today=TODAY)
    with pytest.raises(PermissionDenied):
        services.import_records(session, actor, io.BytesIO(b"username,course,completed_on\n"))
    assert _count(session) == 0 and _count(session, Course) == 1


# --- completions ------------------------------------------------------------------------------


def test_a_completion_is_recorded_once_and_audited(session, people):
    course = _course(session)
    agent = people["agent_a"]
    record = services.record_completion(
        session, people["hr"], user_id=agent.id, course_id=course.id,
        completed_on=date(2025, 6, 1), result=" pass ", certificate="C-17", today=TODAY)
    assert (record.user.username, record.course.name, record.result, record.source,
            record.created_by_id) == ("agent.a", "Fire safety", "pass", "manual",
                                      people["hr"].id)
    again = services.record_completion(
        session, people["admin"], user_id=agent.id, course_id=course.id,
        completed_on=date(2025, 6, 1), result="fail", today=TODAY)
    assert again.id == record.id and again.result == "pass"
    assert _count(session) == 1
    assert _actions(session, "training_record.") == ["training_record.created"]
    # another date is another completion; completing today is allowed
    services.record_completion(session, people["hr"], user_id=agent.id, course_id=course.id,
                               completed_on=TODAY, today=TODAY)
    assert _count(session) == 2


@pytest.mark.parametrize(("change", "message"), [
    ({"completed_on": TODAY + timedelta(days=1)},
     "A completion date cannot be in the future (2025-06-16 is after 2025-06-15)."),
    ({"expires_on": date(2025, 5, 31)},
     "An expiry date cannot be before the completion date (2025-05-31 is before 2025-06-01)."),
    ({"user_id": 99999}, "There is no user 99999."),
    ({"course_id": 99999}, "There is no course 99999."),
    ({"completed_on": "2025-06-01"}, "The completion date must be a date"),
    ({"result": "x" * 41}, "A result has at most 40 characters."),
    ({"certificate": "x" * 201}, "A certificate reference has at most 200 characters."),
])
def test_a_bad_completion_is_refused_with_a_sentence(session, people, change, message):
    course = _course(session)
    kwargs = {"user_id": people["agent_a"].id, "course_id": course.id,
              "completed_on": date(2025, 6, 1), "today": TODAY, **change}
    with pytest.raises(InvalidInput) as info:
        services.record_completion(session, people["hr"], **kwargs)
    assert message in str(info.value)
    assert _count(session) == 0


# --- the CSV import ---------------------------------------------------------------------------

MIXED = (
    "\ufeffUsername,COURSE, Completed_On ,Result,Expires_On,Certificate\n"
    "agent.a,Fire safety,2025-01-10,pass,,\"CERT, 1\"\n"   # 2 good
    "ghost,Fire safety,2025-01-10,,,\n"                     # 3 unknown user
    "agent.a,Knitting,2025-01-10,,,\n"                      # 4 unknown course
    "agent.a,Fire safety,2025-13-01,,,\n"                   # 5 bad date
    "agent.a,Fire safety,2025-06-16,,,\n"                   # 6 future date
    "agent.a2,Fire safety,2025-03-01,,2025-02-01,\n"        # 7 expiry before completion
    "agent.b,Fire safety,,,,\n"                             # 8 missing value
    "AGENT.B,data protection,2025-02-03,,2027-02-03,\n"     # 9 good (names in any case)
    "agent.b,Fire safety,2025-01-10,,,,extra\n"             # 10 too many cells
    "agent.a,Fire safety,10/01/2025,,,\n"                   # 11 not ISO
    "agent.b,Fire safety,2025-01-10,,someday,\n"            # 12 bad expiry
)
EXPECTED_ERRORS = [
    (3, "unknown user 'ghost'"),
    (4, "unknown course 'Knitting'"),
    (5, "bad date in completed_on: '2025-13-01'"),
    (6, "A completion date cannot be in the future (2025-06-16 is after 2025-06-15)."),
    (7, "An expiry date cannot be before the completion date"),
    (8, "missing value for column completed_on"),
    (10, "more cells than header columns"),
    (11, "bad date in completed_on: '10/01/2025' (write it as YYYY-MM-DD)"),
    (12, "bad date in expires_on: 'someday'"),
]


def _import(session, actor, text):
    return services.import_records(session, actor, io.BytesIO(text.encode("utf-8")),
                                   today=TODAY)


def _assert_errors(errors, expected):
    assert [line for line, _ in errors] == [line for line, _ in expected]
    for (line, reason), (_, fragment) in zip(errors, expected, strict=True):
        assert fragment in reason, (line, reason)


def test_the_import_takes_good_rows_and_names_each_bad_row(session, people):
    _course(session)
    _course(session, name="Data protection", kind="compliance", refresh_months=24)
    report = _import(session, people["hr"], MIXED)
    assert (report.rows, report.created, report.already_there) == (11, 2, 0)
    _assert_errors(report.errors, EXPECTED_ERRORS)
    assert not report.ok
    session.commit()
    records = session.scalars(select(TrainingRecord).order_by(TrainingRecord.id)).all()
    assert [(r.user.username, r.course.name, r.completed_on, r.expires_on, r.result,
             r.certificate, r.source) for r in records] == [
        ("agent.a", "Fire safety", date(2025, 1, 10), None, "pass", "CERT, 1", "import"),
        ("agent.b", "Data protection", date(2025, 2, 3), date(2027, 2, 3), "", "", "import"),
    ]
    assert _actions(session, "training_record.") == ["training_record.created"] * 2

    again = _import(session, people["admin"], MIXED)
    assert (again.rows, again.created, again.already_there) == (11, 0, 2)
    _assert_errors(again.errors, EXPECTED_ERRORS)
    assert _count(session) == 2
    assert len(_actions(session, "training_record.")) == 2


def test_a_clean_import_without_a_bom_and_only_the_required_columns(session, people):
    _course(session)
    report = _import(session, people["hr"], "username,course,completed_on\n"
                                            "agent.a,Fire safety,2025-01-10\n"
                                            "\n"
                                            "agent.b,Fire safety,2025-01-11\n"
                                            "agent.a,Fire safety,2025-01-10\n")
    # the blank line is no row; the third row repeats the first: it is there already
    assert (report.rows, report.created, report.already_there, report.errors) == (3, 2, 1, [])
    assert report.ok


@pytest.mark.parametrize(("text", "message"), [
    ("username,completed_on\nagent.a,2025-01-10\n", "lacks the column(s) course"),
    ("Name,Course,Date\nagent.a,Fire safety,2025-01-10\n",
     "lacks the column(s) username, completed_on"),
    ("", "The file is empty"),
])
def test_a_header_without_a_required_column_writes_nothing(session, people, text, message):
    _course(session)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        _import(session, people["hr"], text)
    assert _count(session) == 0
    assert _actions(session, "training_record.") == []


def test_a_file_that_is_not_utf8_is_refused_in_a_sentence(session, people):
    _course(session)
    data = "username,course,completed_on\nagent.a,Fire safety,2025-01-10\n".encode("utf-16")
    with pytest.raises(InvalidInput, match="UTF-8"):
        services.import_records(session, people["hr"], io.BytesIO(data), today=TODAY)
    assert _count(session) == 0


def test_a_row_the_database_refuses_leaves_the_others_in(session, people, monkeypatch):
    """A row that passes the checks but that the database refuses (here: a completion another
    writer recorded between the check and the insert) is reported; its savepoint alone is
    rolled back."""
    _course(session)
    monkeypatch.setattr(services, "existing", lambda *args: None)
    report = _import(session, people["hr"], "username,course,completed_on\n"
                                            "agent.a,Fire safety,2025-01-10\n"
                                            "agent.a,Fire safety,2025-01-10\n"
                                            "agent.b,Fire safety,2025-01-10\n")
    assert report.created == 2
    assert report.errors == [(3, report.errors[0].reason)]
    assert "the database refused this row" in report.errors[0].reason
    session.commit()
    assert sorted(r.user.username for r in session.scalars(select(TrainingRecord))) == [
        "agent.a", "agent.b"]
    assert len(_actions(session, "training_record.")) == 2


# --- refreshers due ---------------------------------------------------------------------------


def _record(session, user, course, completed_on, expires_on=None):
    return services.record_completion(session, factories.SYSTEM, user_id=user.id,
                                      course_id=course.id, completed_on=completed_on,
                                      expires_on=expires_on, today=TODAY)


@pytest.fixture
def training(session, people):
    """As of 15 June 2025: agent.a's refresher is due in 10 days, agent.b's certificate expired
    yesterday, agent.a2's refresher is months away, and what the rest did counts for nothing."""
    refresher = _course(session, name="Annual refresher", kind="refresher", refresh_months=12)
    compliance = _course(session, name="PCI", kind="compliance", refresh_months=None)
    induction = _course(session, name="Induction", kind="induction", refresh_months=None)
    retired = _course(session, name="Old product", kind="product", refresh_months=6)
    _record(session, people["agent_a"], refresher, date(2024, 6, 25))            # due 25 June
    _record(session, people["agent_b"], compliance, date(2024, 1, 5),
            expires_on=date(2025, 6, 14))                                         # overdue
    _record(session, people["agent_a2"], refresher, date(2025, 1, 10))           # ok
    _record(session, people["agent_b"], refresher, date(2024, 5, 1))             # superseded
    _record(session, people["agent_b"], refresher, date(2025, 5, 1))             # ok
    _record(session, people["agent_a"], induction, date(2020, 1, 1))             # taken once
    _record(session, people["lead_a"], compliance, date(2024, 1, 1),
            expires_on=date(2025, 1, 1))                                          # inactive user
    _record(session, people["agent_a2"], retired, date(2020, 1, 1))              # inactive course
    services.save_course(session, factories.SYSTEM, {"active": False}, retired.id)
    people["lead_a"].active = False
    session.commit()
    return people


def test_the_due_list_worked_example(session, training):
    rows = queries.due_list(session, as_of=TODAY)
    assert rows == [
        queries.DueRow("agent.b", "Agent.B", "Team B", "PCI", date(2024, 1, 5),
                       date(2025, 6, 14), "overdue"),
        queries.DueRow("agent.a", "Agent.A", "Team A", "Annual refresher", date(2024, 6, 25),
                       date(2025, 6, 25), "due"),
    ]
    assert rows[0].as_dict()["due_on"] == "2025-06-14"


def test_the_due_list_by_team_and_window(session, training):
    team_a, team_b = training["team_a"].id, training["team_b"].id
    assert [r.username for r in queries.due_list(session, as_of=TODAY, team_id=team_a)] == [
        "agent.a"]
    assert [r.username for r in queries.due_list(session, as_of=TODAY, team_id=team_b)] == [
        "agent.b"]
    # a window shorter than 10 days leaves the refresher out; the overdue one stays
    assert [r.status for r in queries.due_list(session, as_of=TODAY, soon_days=9)] == [
        "overdue"]
    # the day after its due date, the refresher is overdue too, and sorts by date
    later = queries.due_list(session, as_of=date(2025, 6, 26))
    assert [(r.username, r.status) for r in later] == [("agent.b", "overdue"),
                                                        ("agent.a", "overdue")]
    # a fresh completion clears it
    _record(session, training["agent_a"], session.scalar(
        select(Course).where(Course.name == "Annual refresher")), date(2025, 6, 10))
    assert [r.username for r in queries.due_list(session, as_of=TODAY)] == ["agent.b"]


# --- qm training ------------------------------------------------------------------------------


def test_cli_courses_add_and_list(runner, people, session):
    added = runner.invoke("training", "courses", "add", "Fire safety", "--kind", "refresher",
                          "--refresh-months", "12", "--competency", "COM-1",
                          "--competency", "KNW-2")
    assert added.exit_code == 0, added.output
    assert "Course 'Fire safety' added (refresher; refresh every 12 months; " \
           "competencies COM-1, KNW-2)." in added.output
    runner.invoke("training", "courses", "add", "Induction", "--kind", "induction")
    listed = runner.invoke("training", "courses", "list")
    assert listed.exit_code == 0
    assert listed.output.splitlines() == [
        "Fire safety: refresher; refresh every 12 months; competencies COM-1, KNW-2",
        "Induction: induction; taken once",
    ]
    duplicate = runner.invoke("training", "courses", "add", "FIRE SAFETY", "--kind", "product")
    assert duplicate.exit_code == 1
    assert "A course named 'FIRE SAFETY' exists already" in duplicate.stderr
    assert runner.invoke("training", "courses", "add", "X", "--kind", "webinar").exit_code == 2
    assert runner.invoke("training", "courses", "add", "X", "--kind", "product",
                         "--refresh-months", "0").exit_code == 2
    denied = runner.invoke("training", "courses", "add", "X", "--kind", "product",
                           "--as", "agent.a")
    assert denied.exit_code == 1 and "skills.manage" in denied.stderr
    assert _count(session, Course) == 2


def test_cli_import_reports_each_bad_row_and_a_summary(runner, people, session, tmp_path):
    _course(session)
    session.commit()
    future = (date.today() + timedelta(days=3)).isoformat()
    path = tmp_path / "completions.csv"
    path.write_text("username,course,completed_on\n"
                    "agent.a,Fire safety,2025-01-10\n"
                    "ghost,Fire safety,2025-01-10\n"
                    f"agent.b,Fire safety,{future}\n", encoding="utf-8")
    result = runner.invoke("training", "import", str(path), "--as", "hr")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "completions.csv:3: unknown user 'ghost'",
        f"completions.csv:4: A completion date cannot be in the future ({future} is after "
        f"{date.today().isoformat()}).",
    ]
    assert result.stdout.strip() == "3 rows: 1 recorded, 0 already there, 2 failed."
    assert _count(session) == 1

    clean = tmp_path / "clean.csv"
    clean.write_text("username,course,completed_on\nagent.a,Fire safety,2025-01-10\n"
                     "agent.b,Fire safety,2025-01-12\n", encoding="utf-8")
    result = runner.invoke("training", "import", str(clean))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 rows: 1 recorded, 1 already there, 0 failed."
    assert _count(session) == 2

    missing = tmp_path / "missing.csv"
    missing.write_text("username,completed_on\nagent.a,2025-01-10\n", encoding="utf-8")
    result = runner.invoke("training", "import", str(missing))
    assert result.exit_code == 1 and "lacks the column(s) course" in result.stderr
    assert runner.invoke("training", "import", str(tmp_path / "nope.csv")).exit_code == 2
    assert runner.invoke("training", "import", str(clean), "--as", "auditor").exit_code == 1
    assert _count(session) == 2


def test_cli_due_as_text_and_json(runner, training):
    result = runner.invoke("training", "due", "--as-of", "2025-06-15", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"username": "agent.b", "display_name": "Agent.B", "team": "Team B", "course": "PCI",
         "completed_on": "2024-01-05", "due_on": "2025-06-14", "status": "overdue"},
        {"username": "agent.a", "display_name": "Agent.A", "team": "Team A",
         "course": "Annual refresher", "completed_on": "2024-06-25", "due_on": "2025-06-25",
         "status": "due"},
    ]
    by_team = runner.invoke("training", "due", "--as-of", "2025-06-15", "--team", "Team A",
                            "--json")
    assert [row["username"] for row in json.loads(by_team.output)] == ["agent.a"]

    text = runner.invoke("training", "due", "--as-of", "2025-06-15")
    assert text.exit_code == 0
    lines = text.output.splitlines()
    assert lines[0].split() == ["STATUS", "DUE", "ON", "USER", "NAME", "TEAM", "COURSE",
                                "COMPLETED"]
    assert lines[1].split()[:3] == ["overdue", "2025-06-14", "agent.b"]
    assert lines[2].split()[:3] == ["due", "2025-06-25", "agent.a"]
    # aligned: every column starts at the same place on every line
    assert len({line.index("agent.") for line in lines[1:]}) == 1
    assert lines[0].index("USER") == lines[1].index("agent.b")

    none = runner.invoke("training", "due", "--as-of", "2024-01-01")
    assert none.output.strip() == "No refresher is due or overdue as of 2024-01-01."
    assert json.loads(runner.invoke("training", "due", "--as-of", "2024-01-01",
                                    "--json").output) == []


def test_cli_due_refuses_an_unknown_team_and_a_bad_date(runner, training):
    unknown = runner.invoke("training", "due", "--team", "Team Z")
    assert unknown.exit_code == 1
    assert "No team named 'Team Z'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    bad = runner.invoke("training", "due", "--as-of", "15/06/2025")
    assert bad.exit_code == 2 and "--as-of" in bad.stderr
