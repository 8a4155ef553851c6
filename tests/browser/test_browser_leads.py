"""Issue 17 in a real headless Chromium: a team lead opens Sampling from the menu, runs their
team's week and opens the run from the history; an admin publishes a form through the
confirmation that says what changes.

The live server, browser and tab fixtures are test_browser.py's.
"""

from __future__ import annotations

import copy
import datetime as dt
import re

import factories
import pytest
import test_browser
from sqlalchemy import select

from scoring.forms import services as form_services
from scoring.forms.models import FormVersion
from scoring.sampling import services as sampling

pytestmark = [pytest.mark.browser]

browser = test_browser.browser
live_server = test_browser.live_server
tab = test_browser.tab


def test_a_lead_runs_sampling_from_the_menu_and_opens_the_run(tab, people, session):
    version = factories.create_form(session)
    sampling.save_rule(session, factories.SYSTEM, {
        "name": "Team A weekly", "per_agent": 1, "team_id": people["team_a"].id,
        "form_id": version.form_id})
    monday = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
    for agent in ("agent_a", "agent_a2"):
        factories.create_interaction(session, people[agent], started_at=monday.isoformat())
    session.commit()
    page = tab.page
    tab.login("lead.a")
    page.get_by_role("link", name="Sampling", exact=True).click()
    page.wait_for_url(re.compile(r"/sampling$"))
    assert page.locator("#no-runs").is_visible()
    page.get_by_label("ISO week (e.g. 2026-W47)").fill("2026-W45")
    page.get_by_role("button", name="Create assignments").click()
    assert "2 assignment(s) created for 2026-W45" in page.locator(".alert-success").inner_text()
    page.locator("#run-list a").first.click()
    page.wait_for_url(re.compile(r"/sampling/runs/\d+$"))
    assert "lead.a" in page.locator("#run-summary").inner_text()
    assert page.locator(".run-rule table tbody tr").count() == 2
    tab.assert_clean()


def test_an_admin_publishes_a_form_through_the_confirmation(tab, people, session):
    v1 = factories.create_form(session)
    changed = copy.deepcopy(factories.SIMPLE_FORM)
    changed["sections"][0]["questions"][1]["critical"] = None
    form_services.import_form(session, factories.SYSTEM, changed)
    session.commit()
    page = tab.page
    tab.login("admin")
    page.goto(f"/forms/{v1.form_id}?number=2")
    page.get_by_role("button", name="Publish draft").click()
    page.wait_for_url(re.compile(rf"/forms/{v1.form_id}/publish\?"))
    assert ("Question 'Verifies identity': not critical (was failing it zeroes the whole form)."
            in page.locator("#publish-changes").inner_text())
    page.get_by_role("button", name="Publish version 2").click()
    page.wait_for_url(re.compile(rf"/forms/{v1.form_id}\?number=2$"))
    assert "Version 2 published" in page.content()
    session.expire_all()
    assert session.scalars(select(FormVersion.status).order_by(FormVersion.number)).all() == [
        "retired", "published"]
    tab.assert_clean()
