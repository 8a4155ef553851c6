"""The bell in a real headless Chromium: a lead releases an evaluation, the agent sees the
bell's count, opens the notification, lands on the evaluation, and the count is gone.

The live server, browser and tab fixtures are test_browser.py's.
"""

from __future__ import annotations

import re

import factories
import pytest
import test_browser
from playwright.sync_api import expect
from test_browser import TIMEOUT_MS, Tab, _assets_loaded

from scoring.evaluations import services as ev

pytestmark = [pytest.mark.browser]

browser = test_browser.browser
live_server = test_browser.live_server
tab = test_browser.tab


@pytest.fixture
def app_config(app_config):
    return {**app_config, "release_mode": "review"}  # a lead releases what qa submitted


def test_a_lead_releases_and_the_agent_follows_the_bell(tab, browser, live_server, session,
                                                        people):
    factories.create_form(session)
    interaction = factories.create_interaction(session, people["agent_a"])
    evaluation = ev.start_evaluation(session, people["qa"], interaction)
    ev.submit(session, people["qa"], evaluation.id, {"greet": "yes", "verify": "yes"},
              policy=ev.Policy(release="review"))
    session.commit()

    page = tab.page
    tab.login("lead.a")
    expect(page.locator("#bell-count")).to_have_count(0)  # nothing for the lead
    page.goto(f"/evaluations/{evaluation.id}")
    page.get_by_role("button", name="Release to the agent").click()
    page.wait_for_url(re.compile(rf"/evaluations/{evaluation.id}$"))
    expect(page.locator("#bell-count")).to_have_count(0)  # nor for releasing it
    tab.assert_clean()

    # the agent, in a browser of their own
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        agent = Tab(context.new_page(), live_server.url)
        agent.login("agent.a")
        _assets_loaded(agent)
        bell = agent.page.locator("#bell")
        expect(bell).to_have_accessible_name(re.compile(r"Notifications\s*1 unread notifications"))
        expect(agent.page.locator("#bell-count")).to_have_text(re.compile(r"^1"))
        bell.click()
        agent.page.wait_for_url(re.compile(r"/notifications$"))
        item = agent.page.locator("#notifications li").first
        expect(item).to_contain_text("new")
        item.get_by_role("button", name=re.compile(
            rf"Evaluation #{evaluation.id} of your contact was released")).click()
        agent.page.wait_for_url(re.compile(rf"/evaluations/{evaluation.id}$"))
        expect(agent.page.locator("#bell-count")).to_have_count(0)
        expect(agent.page.locator("#bell")).to_have_accessible_name("Notifications")
        agent.page.goto("/notifications")
        expect(agent.page.locator("#notifications li").first).not_to_contain_text("new")
        expect(agent.page.locator("#notifications li").first).to_contain_text("read ")
        agent.assert_clean()
    finally:
        context.close()
