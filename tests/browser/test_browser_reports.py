"""The reports home and the QA dashboard in a real headless Chromium: the navbar's "Reports"
opens the home, the dashboard's filters narrow the charts, the server-drawn SVG renders under
the CSP, and an Export button downloads the table the page shows.

The live server, browser and tab fixtures are test_browser.py's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import factories
import pytest
import test_browser
from playwright.sync_api import expect
from test_browser import _assets_loaded

from scoring.evaluations import services as ev

pytestmark = [pytest.mark.browser]

browser = test_browser.browser
live_server = test_browser.live_server
tab = test_browser.tab


def scored_today(session, people):
    """Team A: 100, 66.67 and a critical fail (0); team B: 100. All released today."""
    factories.create_form(session)
    now = dt.datetime.now(dt.UTC)
    for agent, answers in ((people["agent_a"], {"greet": "yes", "verify": "yes"}),
                           (people["agent_a"], {"greet": "no", "verify": "yes"}),
                           (people["agent_a2"], {"greet": "yes", "verify": "no"}),
                           (people["agent_b"], {"greet": "yes", "verify": "yes"})):
        item = ev.start_evaluation(session, people["qa"],
                                   factories.create_interaction(session, agent))
        ev.submit(session, people["qa"], item.id, answers, now=now)
    session.commit()
    return now


def test_from_the_navbar_to_a_filtered_dashboard_and_its_export(tab, people, session):
    now = scored_today(session, people)
    month = f"{now.year}-{now.month:02d}"
    page = tab.page
    tab.login("qa")
    tab.nav_link("Reports").click()
    page.wait_for_url(re.compile(r"/reports$"))
    expect(page.locator("#report-dashboard")).to_be_visible()
    expect(page.locator("#report-skills")).to_have_count(0)  # HR's, not QA's
    page.locator("#report-dashboard").click()
    page.wait_for_url(re.compile(r"/reports/dashboard"))
    _assets_loaded(tab)
    trend = page.locator("#trend-table")
    expect(trend).to_contain_text("66.7")  # (100 + 66.67 + 0 + 100) / 4
    # the chart is drawn: one dot for this month, its interval as a band
    dots = page.locator("svg.qm-chart circle.dot")
    expect(dots).to_have_count(1)
    assert dots.first.bounding_box()["width"] > 0
    assert page.locator("svg.qm-chart rect.band").count() == 1

    page.get_by_label("Team").select_option(label="Team A")
    page.get_by_label("Break down by").select_option(label="Agent")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"by=agent"))
    expect(page.locator("#breakdown-table")).to_contain_text(people["agent_a2"].display_name)
    expect(page.locator("#trend-table")).to_contain_text("55.6")  # team A alone
    expect(page.locator("#fail-table")).to_contain_text("33.3%")

    with page.expect_download() as download_info:
        page.locator("h2", has_text="Score trend").get_by_role("link",
                                                              name="Export CSV").click()
    download = download_info.value
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert download.suggested_filename == f"qa-trend-to-{month}.csv"
    assert rows[-1]["month"] == month and rows[-1]["mean"] == "55.6"  # the filters applied
    assert rows[-1]["evaluations"] == "3"
    tab.assert_clean()


def test_a_wrong_month_is_named_and_kept(tab, people, session):
    page = tab.page
    tab.login("auditor")
    page.goto("/reports/dashboard")
    page.get_by_label("12 months to").fill("2026-13")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_contain_text("'2026-13' is not a month written YYYY-MM")
    expect(page.get_by_label("12 months to")).to_have_value("2026-13")
    tab.assert_clean()


def test_the_reports_pages_have_no_serious_accessibility_violations(tab, people, session):
    """axe-core (test_browser_a11y.py's run) on the home, the dashboard with a breakdown, the
    older reports that gained export buttons, and each dashboard of the reports home."""
    from test_browser_a11y import FAILING_IMPACTS, _describe, _run_axe

    now = scored_today(session, people)
    tab.login("admin")
    found = []
    for path in ("/reports", f"/reports/dashboard?month={now.year}-{now.month:02d}&by=team",
                 "/reports/evaluators", f"/reports/teams/{people['team_a'].id}",
                 "/reports/drift", f"/scorecards/{people['agent_a'].id}",
                 "/review/report", "/complaints/timeliness", "/skills/gaps",
                 "/training/compliance", "/coaching/effectiveness", "/kpis", "/evidence"):
        tab.page.goto(path)
        found += [_describe(path, path, v) for v in _run_axe(tab.page)
                  if v["impact"] in FAILING_IMPACTS]
    assert not found, "\n".join(found)
    tab.assert_clean()
