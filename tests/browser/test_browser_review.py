"""The review queue in a real headless Chromium: an evaluator filters by flag, opens an item,
sees the words it fired on highlighted, confirms a complaint flag (a complaint opens) and
dismisses another from the queue with a reason; the page stays clean under the CSP.

The live server, browser and tab fixtures are test_browser.py's.
"""

from __future__ import annotations

import re

import factories
import pytest
import test_browser
from playwright.sync_api import expect
from sqlalchemy import select

from scoring.complaints.models import Complaint
from transcription.models import FlagVerdict

pytestmark = [pytest.mark.browser]

browser = test_browser.browser
live_server = test_browser.live_server
tab = test_browser.tab

def test_an_evaluator_works_the_review_queue(tab, people, session):
    factories.flags_in_use(session, "complaint")
    angry = factories.create_interaction(
        session, people["agent_a"], channel="chat",
        body="Customer: i am fed up with your useless service, i want to make a complaint\n"
             "Agent: I am sorry")
    leaving = factories.create_interaction(
        session, people["agent_a"], channel="chat",
        body="Customer: please cancel my account\nAgent: of course")
    session.commit()
    page = tab.page
    tab.login("qa")
    tab.nav_link("Review queue").click()
    page.wait_for_url(re.compile(r"/review$"))
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(2)
    page.locator("#queue-filter").get_by_role("link", name=re.compile("^complaint")).click()
    expect(rows).to_have_count(1)
    assert rows.first.get_attribute("data-interaction") == str(angry.id)

    rows.first.get_by_role("link", name=f"#{angry.id}").click()
    page.wait_for_url(re.compile(rf"/interactions/{angry.id}$"))
    expect(page.locator("mark.qm-flagged").first).to_be_visible()
    page.locator('[data-flag="complaint"]').get_by_role(
        "button", name="Right: open a complaint").click()
    expect(page.locator(".alert-success").first).to_contain_text("Flag confirmed.")
    assert "opened from the 'complaint' flag" in page.locator("body").inner_text()

    tab.nav_link("Review queue").click()
    row = page.locator(f'#queue tr[data-interaction="{leaving.id}"]')
    row.get_by_label("Why 'cancellation (phrases)' is wrong here").fill(
        "they meant a duplicate order")
    row.get_by_role("button", name="Dismiss").click()
    page.wait_for_url(re.compile(r"/review"))
    expect(page.locator("#queue")).to_contain_text("Nothing waiting")
    tab.assert_clean()
    session.expire_all()
    assert len(session.scalars(select(Complaint)).all()) == 1
    verdicts = {v.interaction_id: v.verdict for v in session.scalars(select(FlagVerdict))}
    assert verdicts == {angry.id: "confirmed", leaving.id: "rejected"}
