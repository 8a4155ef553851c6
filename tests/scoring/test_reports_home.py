"""The reports home: each role sees the reports it may open, and each of them opens."""

from __future__ import annotations

import re

import pytest

QA = {"report-dashboard", "report-evaluators", "report-drift", "report-flags", "report-kpis",
      "report-complaint-trends", "report-complaint-overdue", "report-complaint-timeliness"}
COMPETENCE = {"report-coaching-effectiveness", "report-training", "report-refreshers",
              "report-skills", "report-gaps"}
EXPECTED = {
    "admin": QA | COMPETENCE,
    "qa": QA,
    "lead.a": QA | COMPETENCE,
    "agent.a": {"report-my-scorecard"},
    "hr": COMPETENCE,
    "auditor": QA | COMPETENCE,
}

@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_each_role_sees_its_reports_and_each_opens(client, auth, people, username):
    auth.login(username)
    page = client.get("/reports")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    links = dict(re.findall(r'href="([^"]+)" id="(report-[a-z-]+)"', text))
    assert set(links.values()) == EXPECTED[username]
    for href, report_id in links.items():
        response = client.get(href, follow_redirects=True)
        assert response.status_code == 200, (report_id, href)


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_the_navbar_reports_link_goes_to_the_home(client, auth, people, username):
    """Every role with a report on the home gets the link (HR too, without report.view)."""
    auth.login(username)
    assert 'href="/reports">Reports</a>' in client.get("/").get_data(as_text=True)


def test_the_reports_home_needs_a_login(client):
    response = client.get("/reports")
    assert response.status_code == 302 and "/login" in response.location


def _report_urls(people):
    team, agent = people["team_a"].id, people["agent_a"].id
    pages = {"/reports/dashboard": "report.view", "/reports/evaluators": "report.view",
             f"/reports/teams/{team}": "report.view", "/reports/drift": "report.view",
             f"/scorecards/{agent}": "evaluation.view"}
    exports = {}
    for url, permission in pages.items():
        exports[url] = permission
        exports[f"{url}?format=csv"] = permission
        exports[f"{url}?format=xlsx"] = permission
    for table in ("breakdown", "fails", "questions", "calibration"):
        exports[f"/reports/dashboard?table={table}&format=csv"] = "report.view"
    # the other dashboards of the reports home, each table of each in both formats
    for url, permission, tables in (
            ("/review/report", "flag.view", ("rates", "precision")),
            ("/complaints/timeliness", "complaint.view", ("months", "severity")),
            ("/kpis", "kpi.view", ("month", "trend")),
            ("/skills/gaps", "skills.view", ("competencies", "teams")),
            ("/training/compliance", "skills.view", ("courses", "trend")),
            ("/coaching/effectiveness", "coaching.view", ("sessions", "coaches", "teams"))):
        exports[url] = permission
        for table in tables:
            for fmt in ("csv", "xlsx"):
                exports[f"{url}?table={table}&format={fmt}"] = permission
    return exports


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_every_report_and_export_follows_the_permission_table(client, auth, people, username):
    from qm.auth.permissions import can

    user = {"admin": people["admin"], "qa": people["qa"], "lead.a": people["lead_a"],
            "agent.a": people["agent_a"], "hr": people["hr"],
            "auditor": people["auditor"]}[username]
    auth.login(username)
    for url, permission in _report_urls(people).items():
        status = client.get(url).status_code
        if can(user, permission, people["agent_a"]):
            assert status == 200, (username, url, status)
        else:
            assert status in (403, 404), (username, url, status)
            if not can(user, permission):
                assert status == 403, (username, url)


def test_a_lead_cannot_open_another_teams_report_or_its_export(client, auth, people):
    auth.login("lead.a")
    team_b = people["team_b"].id
    assert client.get(f"/reports/teams/{team_b}").status_code == 404
    assert client.get(f"/reports/teams/{team_b}?format=csv").status_code == 404
