"""The calibration picker in a real headless Chromium, under the CSP: a lead searches, ticks an
interaction, searches again (the tick and the typed title stay), ticks a second and creates the
session with both.

The live server, browser and tab fixtures are test_browser.py's."""

from __future__ import annotations

import re

import factories
import pytest
import test_browser
from sqlalchemy import select
from test_browser_a11y import FAILING_IMPACTS, _run_axe

from scoring.calibration.models import CalibrationItem, CalibrationSession

pytestmark = [pytest.mark.browser]

browser = test_browser.browser
live_server = test_browser.live_server
tab = test_browser.tab


def test_a_lead_searches_ticks_two_and_creates_the_session(tab, session, people):
    factories.create_form(session)
    billing = factories.create_interaction(session, people["agent_a"], queue="billing")
    sales = factories.create_interaction(session, people["agent_a2"], queue="sales")
    factories.create_interaction(session, people["agent_b"], queue="sales")  # another team's
    session.commit()
    page = tab.page
    tab.login("lead.a")
    page.goto("/calibration/new")
    test_browser._assets_loaded(tab)
    page.get_by_label("Title").fill("Billing and sales")

    page.get_by_label("Queue").fill("billing")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    matches = page.locator("#candidates tbody tr")
    assert matches.count() == 1
    page.locator(f"#pick-{billing.id}").check()

    page.get_by_label("Queue").fill("sales")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert matches.count() == 1  # team B's sales call is not the lead's to see
    assert page.locator(f"#picked-{billing.id}").is_checked()  # the tick stayed
    assert page.get_by_label("Title").input_value() == "Billing and sales"
    page.get_by_label("Agent.A2").check()  # the row's label: the agent's name
    assert page.locator("#picked-count").inner_text() == "1"
    # the picker, with a pick and matches shown, passes axe's WCAG A and AA checks
    assert [v for v in _run_axe(page) if v["impact"] in FAILING_IMPACTS] == []

    page.get_by_role("checkbox", name="Qa (qa)", exact=True).check()
    page.get_by_role("checkbox", name="Lead.A (lead.a)", exact=True).check()
    page.get_by_role("button", name="Create session").click()
    page.wait_for_url(re.compile(r"/calibration/\d+$"))
    calibration = session.scalar(select(CalibrationSession))
    assert calibration.title == "Billing and sales"
    items = session.scalars(select(CalibrationItem).where(
        CalibrationItem.session_id == calibration.id).order_by(CalibrationItem.position)).all()
    assert [i.interaction_id for i in items] == [billing.id, sales.id]
    tab.assert_clean()
