"""The clause-6 evidence pack (qm.evidence, `qm evidence`, /evidence): built from real records,
every file listed in the manifest and linked from index.html with the SHA-256 it has, the CSVs
holding the period's (and the team's) rows, the audit chain stated, the build audited."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import zipfile

import factories
import pytest
from sqlalchemy import select

from competencies.coaching import services as coaching
from competencies.frameworks import services as frameworks
from competencies.profiles import services as profiles
from competencies.training import services as training
from qm import audit, evidence
from qm.audit import AuditEntry
from qm.config import Settings
from qm.errors import InvalidInput, PermissionDenied
from scoring.calibration import services as calibration
from scoring.complaints import services as complaints
from scoring.evaluations import services as evaluations
from scoring.kpis import services as kpi_services

TODAY = dt.datetime.now(dt.UTC).date()
START, END = TODAY - dt.timedelta(days=60), TODAY
FRAMEWORK = {
    "name": "Agent competencies",
    "groups": [{"code": "6.3.2", "competencies": [
        {"code": "6.3.2", "name": "Communication"},
        {"code": "6.3.3", "name": "Product knowledge"}]}],
}


@pytest.fixture
def world(session, people):
    """Both teams' records in the period, and one training record a year before it."""
    factories.create_form(session)
    calls = {key: factories.create_interaction(session, people[key])
             for key in ("agent_a", "agent_a2", "agent_b")}
    for key in ("agent_a", "agent_a2", "agent_b"):
        item = evaluations.start_evaluation(session, people["qa"], calls[key])
        evaluations.submit(session, people["qa"], item.id, {"greet": "yes", "verify": "yes"})
    contacts = [factories.create_interaction(session, people["agent_a"]) for _ in range(2)]
    qa2 = factories.create_user(session, "qa2", roles=["qa_evaluator"])
    cal = calibration.create_session(
        session, people["lead_a"], title="Monthly", form_id=None,
        interaction_ids=[c.id for c in contacts], participant_ids=[people["qa"].id, qa2.id],
        team_id=people["team_a"].id)
    for position, item in enumerate(cal.items):
        calibration.save_score(session, people["qa"], item.id, {"greet": "yes", "verify": "yes"},
                               submit=True)
        calibration.save_score(session, qa2, item.id,
                               {"greet": "no" if position else "yes", "verify": "yes"},
                               submit=True)
    calibration.close_session(session, people["lead_a"], cal.id)
    complaints.open_complaint(session, people["lead_a"], {
        "customer_ref": "CUST-A", "summary": "Charged twice", "category": "billing",
        "interaction_ids": [calls["agent_a"].id]})
    complaints.open_complaint(session, people["lead_b"], {
        "customer_ref": "CUST-B", "summary": "Rude =cmd", "category": "service",
        "interaction_ids": [calls["agent_b"].id]})
    coaching.open_session(session, people["lead_a"], people["agent_a"].id, {
        "kind": "one_to_one", "planned_on": TODAY, "notes": "Tone"})
    coaching.open_session(session, people["lead_b"], people["agent_b"].id, {
        "kind": "one_to_one", "planned_on": TODAY, "notes": "Hold times"})
    framework = frameworks.import_framework(session, factories.SYSTEM, FRAMEWORK,
                                            publish=True).framework
    role = profiles.save_profile(session, factories.SYSTEM, framework_id=framework.id,
                                 kind="role", name="agent",
                                 requirements={"6.3.2": 3, "6.3.3": 2})
    profiles.assign_profile(session, factories.SYSTEM, role.id,
                            [people[k].id for k in ("agent_a", "agent_a2", "agent_b")])
    course = training.save_course(session, factories.SYSTEM, {
        "name": "Data protection", "kind": "refresher", "refresh_months": 12})
    for key, completed in (("agent_a", TODAY - dt.timedelta(days=10)),
                           ("agent_b", TODAY - dt.timedelta(days=5)),
                           ("agent_a2", TODAY - dt.timedelta(days=400))):
        training.record_completion(session, factories.SYSTEM, user_id=people[key].id,
                                   course_id=course.id, completed_on=completed)
    # a day of each team's telephony figures: FCR 76 of 95 (A) and 40 of 50 (B)
    kpi_services.import_kpis(session, factories.SYSTEM, io.BytesIO((
        "date,team,queue,channel,offered,answered,abandoned,wait_seconds,contacts,"
        "resolved_first\n"
        f"{TODAY.isoformat()},Team A,billing,voice,100,95,5,2375,95,76\n"
        f"{TODAY.isoformat()},Team B,,chat,50,50,0,1500,50,40\n").encode()), today=TODAY)
    session.commit()
    return {"calls": calls, "framework": framework}


def _build(session, actor, team=None):
    scope = evidence.scope_of(session, START, END, team, Settings(secret_key="t"))
    out = io.BytesIO()
    built = evidence.build(session, actor, scope, out)
    return zipfile.ZipFile(io.BytesIO(out.getvalue())), built


def _csv(pack, path):
    """The rows of a CSV in the pack, as dicts (pandas is no dependency of qm)."""
    return list(csv.DictReader(io.TextIOWrapper(pack.open(path), encoding="utf-8",
                                                newline="")))


def _col(pack, path, column):
    return [row[column] for row in _csv(pack, path)]


def test_the_pack_lists_links_and_hashes_every_file(session, people, world):
    pack, built = _build(session, people["auditor"])
    manifest = json.loads(pack.read("manifest.json"))
    listed = [f["path"] for f in manifest["files"]]
    assert sorted(pack.namelist()) == sorted([*listed, "index.html", "index.pdf",
                                              "manifest.json"])
    assert built.manifest_sha256 == hashlib.sha256(pack.read("manifest.json")).hexdigest()
    for entry in manifest["files"]:
        assert hashlib.sha256(pack.read(entry["path"])).hexdigest() == entry["sha256"]
        assert len(pack.read(entry["path"])) == entry["bytes"]
    for wanted in ("people/users.csv", "scoring/evaluations.csv", "scoring/sample_sizes.csv",
                   "scoring/forms.csv", "scoring/calibration_sessions.csv",
                   "scoring/calibration_agreement.csv", "scoring/complaints.csv",
                   "competencies/frameworks.csv", "competencies/training_records.csv",
                   "competencies/refreshers_due.csv", "competencies/coaching_log.csv",
                   "competencies/notice_acknowledgements.csv", "scoring/kpi_trends.csv"):
        assert wanted in listed
    assert any(p.startswith("scoring/forms/") and p.endswith("-v1.json") for p in listed)
    assert any(p.startswith("competencies/skills-matrix-") for p in listed)
    index = pack.read("index.html").decode()
    links = re.findall(r'<a href="([^"]+)"', index)
    assert set(listed) | {"manifest.json", "index.pdf"} == set(links)
    assert "<script" not in index and "http" not in index.replace(
        "http-equiv", "")  # self-contained: nothing fetched from elsewhere
    # the audit chain as it stood: intact, with the head an auditor can anchor to
    head = audit.head(session)
    assert manifest["audit"]["ok"] is True
    assert (manifest["audit"]["head_seq"], manifest["audit"]["head_hash"]) == head
    assert f"{head[0]}:{head[1]}" in index and "Audit log intact" in index
    # the same front page as a PDF to print: every file with its SHA-256, the chain's head
    from pypdf import PdfReader

    printed = "".join(page.extract_text() for page in PdfReader(
        io.BytesIO(pack.read("index.pdf")), strict=True).pages).replace("\n", " ")
    assert f"Audit log intact: {manifest['audit']['checked']} entries verified" in printed
    assert head[1] in printed.replace(" ", "") and built.manifest_sha256 in printed
    for entry in manifest["files"]:
        assert entry["path"] in printed and entry["sha256"] in printed.replace(" ", "")
    assert manifest["start"] == START.isoformat() and manifest["team"] == "all teams"
    assert manifest["built_by"] == "auditor"
    # row counts in the manifest are the CSVs' rows
    for entry in manifest["files"]:
        if entry["kind"] == "csv":
            assert len(_csv(pack, entry["path"])) == entry["rows"], entry["path"]


def test_the_csvs_hold_the_periods_records(session, people, world):
    pack, _built = _build(session, people["admin"])
    evals = _csv(pack, "scoring/evaluations.csv")
    assert sorted(r["agent"] for r in evals) == ["agent.a", "agent.a2", "agent.b"]
    assert {(r["evaluator"], r["score"], r["selection"], r["form_version"]) for r in evals} \
        == {("qa", "100.00", "manual", "1")}
    sample = _csv(pack, "scoring/sample_sizes.csv")
    week = "{}-W{:02d}".format(*dt.datetime.now(dt.UTC).isocalendar()[:2])
    assert {r["iso_week"] for r in sample} == {week}
    assert sum(int(r["evaluations"]) for r in sample) == 3
    forms = _csv(pack, "scoring/forms.csv")
    assert forms[0]["evaluations_in_period"] == "3"
    assert json.loads(pack.read(forms[0]["file"]))["sections"][0]["key"] == "s"
    agreement = {r["statistic"]: r for r in _csv(pack, "scoring/calibration_agreement.csv")}
    assert {r["basis"] for r in agreement.values()} == {"frozen at closing"}
    # 4 answer pairs over two interactions, one differs
    assert float(agreement["Percent agreement, answers"]["value"]) == pytest.approx(0.75)
    register = _csv(pack, "scoring/complaints.csv")
    assert sorted(r["customer_ref"] for r in register) == ["CUST-A", "CUST-B"]
    assert sorted(_col(pack, "competencies/training_records.csv", "username")) == [
        "agent.a", "agent.b"]  # not the completion a year before the period
    due = _csv(pack, "competencies/refreshers_due.csv")
    assert [(r["username"], r["status"]) for r in due] == [("agent.a2", "overdue")]
    matrix_path = next(p for p in pack.namelist() if "skills-matrix-" in p)
    matrix = _csv(pack, matrix_path)
    assert len(matrix) == 6  # three agents x two competencies
    assert {(r["competency"], r["required"], r["current"], r["gap"]) for r in matrix} == {
        ("6.3.2", "3", "", "3"), ("6.3.3", "2", "", "2")}  # nobody assessed yet
    assert sorted(_col(pack, "competencies/coaching_log.csv", "agent")) == [
        "agent.a", "agent.b"]
    kpis = {(r["team"], r["channel"]): r for r in _csv(pack, "scoring/kpi_trends.csv")}
    month = f"{TODAY:%Y-%m}"
    assert set(kpis) == {("Team A", "voice"), ("Team B", "chat")}
    team_a = kpis[("Team A", "voice")]
    assert team_a["month"] == month
    assert float(team_a["First-contact resolution (%)"]) == pytest.approx(80.0)  # 76 / 95
    assert (team_a["fcr target"], team_a["fcr verdict"]) == ("at least 70%", "met")
    assert float(team_a["Average speed of answer (s)"]) == pytest.approx(25.0)  # 2375 / 95
    assert team_a["abandonment verdict"] == "not met"  # 5 of 100: the target is under 5%
    assert team_a["aht verdict"] == "no data"  # the export had no handle times
    assert (kpis[("Team B", "chat")]["asa target"], kpis[("Team B", "chat")]["asa verdict"]) \
        == ("under 60 s", "met")


def test_a_cell_a_spreadsheet_would_run_is_quoted(session, people, world):
    complaints.open_complaint(session, people["lead_a"], {
        "customer_ref": "=HYPERLINK(1)", "summary": "x", "category": "billing",
        "interaction_ids": [world["calls"]["agent_a"].id]})
    session.commit()
    pack, _built = _build(session, people["admin"])
    assert "'=HYPERLINK(1)" in _col(pack, "scoring/complaints.csv", "customer_ref")


def test_a_team_pack_holds_only_the_teams_rows(session, people, world):
    pack, built = _build(session, people["admin"], team="Team A")
    assert built.manifest.team == "Team A"
    evals = _csv(pack, "scoring/evaluations.csv")
    assert sorted(r["agent"] for r in evals) == ["agent.a", "agent.a2"]
    assert {r["team"] for r in evals} == {"Team A"}
    assert _col(pack, "scoring/complaints.csv", "customer_ref") == ["CUST-A"]
    assert _col(pack, "competencies/coaching_log.csv", "agent") == ["agent.a"]
    assert _col(pack, "competencies/training_records.csv", "username") == ["agent.a"]
    assert len(_csv(pack, "scoring/calibration_sessions.csv")) == 1
    assert set(_col(pack, "people/users.csv", "username")) == {"agent.a", "agent.a2", "lead.a"}
    matrix_path = next(p for p in pack.namelist() if "skills-matrix-" in p)
    assert set(_col(pack, matrix_path, "team")) == {"Team A"}
    assert _col(pack, "scoring/kpi_trends.csv", "team") == ["Team A"]
    pack_b, _ = _build(session, people["admin"], team="Team B")
    assert _csv(pack_b, "scoring/calibration_sessions.csv") == []


def test_a_bad_period_or_team_is_a_clear_error(session, people):
    with pytest.raises(InvalidInput, match="after its last day"):
        evidence.scope_of(session, END, START)
    with pytest.raises(InvalidInput, match="No team named 'Nope'"):
        evidence.scope_of(session, START, END, "Nope")
    with pytest.raises(PermissionDenied):
        evidence.build(session, people["lead_a"], evidence.scope_of(session, START, END),
                       io.BytesIO())


def test_the_page_sends_the_pack_and_audits_it(client, auth, session, people, world):
    auth.login("auditor")
    assert ">Evidence pack<" in client.get("/").get_data(as_text=True)
    page = client.get("/evidence")
    assert page.status_code == 200 and "No pack built yet" in page.get_data(as_text=True)
    response = client.post_form("/evidence", {"start": START.isoformat(),
                                              "end": END.isoformat(), "team": "Team A"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    pack = zipfile.ZipFile(io.BytesIO(response.get_data()))
    sha = hashlib.sha256(pack.read("manifest.json")).hexdigest()
    assert response.headers["X-QM-Manifest-SHA256"] == sha
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.built"))
    assert entry.actor_name == "auditor" and entry.entity_id == sha
    assert entry.after["team"] == "Team A" and entry.after["start"] == START.isoformat()
    listed = client.get("/evidence").get_data(as_text=True)
    assert sha in listed and "Team A" in listed


def test_the_page_keeps_what_was_typed_on_a_bad_period(client, auth, session, people):
    auth.login("admin")
    response = client.post_form("/evidence", {"start": "2026-12-31", "end": "2026-01-01",
                                              "team": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "after its last day" in html
    assert 'value="2026-12-31"' in html and 'value="2026-01-01"' in html
    bad = client.post_form("/evidence", {"start": "31/12/2026", "end": "2026-01-01"},
                           page="/evidence")
    assert bad.status_code == 400 and "is not a date (YYYY-MM-DD)" in bad.get_data(as_text=True)
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.built")) \
        is None


@pytest.mark.parametrize("username", ["agent.a", "lead.a", "qa", "hr"])
def test_only_admins_and_auditors_build_packs(client, auth, people, username):
    auth.login(username)
    assert client.get("/evidence").status_code == 403
    assert client.post_form("/evidence", {"start": START.isoformat(), "end": END.isoformat()},
                            page="/").status_code == 403
    assert ">Evidence pack<" not in client.get("/").get_data(as_text=True)


def test_the_command_writes_the_pack_and_audits_it(runner, session, people, world, tmp_path):
    out = tmp_path / "pack.zip"
    result = runner.invoke("evidence", "--from", START.isoformat(), "--to", END.isoformat(),
                           "--team", "Team B", "--out", str(out), "--as", "auditor")
    assert result.exit_code == 0, result.output
    assert "audit log intact" in result.output
    pack = zipfile.ZipFile(out)
    manifest = json.loads(pack.read("manifest.json"))
    assert manifest["team"] == "Team B" and manifest["built_by"] == "auditor"
    assert _col(pack, "scoring/evaluations.csv", "agent") == ["agent.b"]
    sha = hashlib.sha256(pack.read("manifest.json")).hexdigest()
    assert sha in result.output
    session.expire_all()
    assert session.scalar(select(AuditEntry.entity_id)
                          .where(AuditEntry.action == "evidence.built")) == sha
    assert not (tmp_path / "pack.zip.partial").exists()


def test_the_command_refuses_a_backwards_period(runner, people, tmp_path):
    out = tmp_path / "pack.zip"
    result = runner.invoke("evidence", "--from", "2026-12-31", "--to", "2026-01-01",
                           "--out", str(out))
    assert result.exit_code == 1
    assert "after its last day" in result.output and not out.exists()
