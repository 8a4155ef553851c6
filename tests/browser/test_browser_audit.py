"""The audit log in a real headless Chromium: an auditor filters it by action and reads one line
an entry, the change in words, with nothing going wrong in the browser.

The live server, browser and tab fixtures are test_browser.py's.
"""

from __future__ import annotations

import re

import factories
import pytest
import test_browser
from playwright.sync_api import expect
from test_browser import _assets_loaded

from qm.auth import services as auth_services

pytestmark = [pytest.mark.browser]

browser = test_browser.browser
live_server = test_browser.live_server
tab = test_browser.tab


def test_an_auditor_filters_by_action_and_reads_one_line_rows(tab, session, people):
    admin, team_b = people["admin"], people["team_b"]
    auth_services.update_user(session, admin, people["hr"].id, team_id=team_b.id)
    auth_services.update_user(session, admin, people["qa"].id, team_id=team_b.id)
    factories.create_interaction(session, people["agent_a"])
    session.commit()

    page = tab.page
    tab.login("auditor")
    tab.nav_link("Audit log").click()
    page.wait_for_url(re.compile(r"/audit$"))
    _assets_loaded(tab)
    table = page.locator("#audit-entries tbody tr")
    assert table.count() > 10  # people, teams, the interaction, the two changes, the login
    # every entry on one line, creations too: their fields open from a one-line summary
    heights = page.locator("#audit-entries tbody tr").evaluate_all(
        "rows => rows.map(r => r.getBoundingClientRect().height / "
        "r.querySelector('time').getBoundingClientRect().height)")
    assert max(heights) < 2, heights
    created = page.locator("#audit-entries tr", has_text="interaction.created")
    fields = created.locator("details.audit-created .audit-change", has_text="channel: voice")
    expect(fields).to_be_hidden()
    created.locator("summary").click()
    expect(fields).to_be_visible()

    page.get_by_label("Action").select_option("user.updated")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"/audit\?.*action=user\.updated"))
    expect(table).to_have_count(2)
    for row in table.all():
        cells = row.locator("td")
        expect(cells.nth(3)).to_have_text("user.updated")
        expect(cells.nth(5)).to_have_text(f"team_id: none → {team_b.name} (#{team_b.id})")
        # one line: the row is no taller than twice the time's own line (padding included)
        time_box = cells.nth(1).locator("time").bounding_box()
        row_box = row.bounding_box()
        assert time_box and row_box and row_box["height"] < 2 * time_box["height"], row_box
        assert cells.nth(1).locator("time").evaluate("el => el.getClientRects().length") == 1
        expect(cells.nth(4).get_by_role("link")).to_have_attribute(
            "href", re.compile(r"^/users/\d+$"))
    # the filter stays chosen, and the export carries it
    assert page.get_by_label("Action").input_value() == "user.updated"
    expect(page.locator("#audit-export")).to_have_attribute(
        "href", "/audit/export.csv?action=user.updated")

    page.get_by_role("button", name="Verify the chain").click()
    expect(page.locator("#verify-result")).to_contain_text("The chain is intact")
    tab.assert_clean()
