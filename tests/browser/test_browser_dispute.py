"""The dispute review in a real headless Chromium: the reviewer clicks a line of the transcript
and the recording's player moves to the second that line starts at, under the CSP.

The live server, browser and tab fixtures are test_browser.py's. The call is a real recording,
tests/data/audio/agent_customer_8k.wav, with a transcript of what its README says is spoken.
"""

from __future__ import annotations

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

AUDIO = factories.RECORDED_AUDIO


def disputed_call(app, session, people):
    """agent.a's recorded, transcribed call, scored by qa, released and disputed."""
    factories.create_form(session)
    call = factories.recorded_call(app, session)
    item = ev.start_evaluation(session, people["qa"], call)
    ev.submit(session, people["qa"], item.id, {"greet": "yes", "verify": "no"},
              notes={"verify": "Disclosure was not read."})
    dispute = ev.dispute(session, people["agent_a"], item.id,
                         "I read the disclosure at 0:26, please listen again.")
    session.commit()
    return dispute


def test_a_reviewer_clicks_a_transcript_line_and_the_audio_moves_there(tab, app, people,
                                                                      session):
    dispute = disputed_call(app, session, people)
    page = tab.page
    tab.login("lead.a")
    page.goto("/disputes")
    page.get_by_role("link", name=re.compile(rf"^#{dispute.id} on evaluation")).click()
    page.wait_for_url(re.compile(rf"/disputes/{dispute.id}$"))
    _assets_loaded(tab)
    player = page.locator("#player")
    # the recording's header has arrived: the player knows the call's length
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    assert 10.0 < player.evaluate("el => el.duration") < 10.5
    assert player.evaluate("el => el.currentTime") == 0

    line = page.locator('.qm-segment[data-start="4.75"]')
    expect(line).to_contain_text("charged twice")
    line.click()
    page.wait_for_function("document.getElementById('player').currentTime >= 4.7")
    assert 4.7 <= player.evaluate("el => el.currentTime") < 6.5

    # the keyboard does the same (Enter on a focused line)
    page.locator('.qm-segment[data-start="0.25"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('player').currentTime < 2")
    assert player.evaluate("el => el.currentTime") >= 0.2

    # the decision form is there too, with no outcome chosen for the reviewer
    assert page.locator('input[name="outcome"]:checked').count() == 0
    # A player that seeks drops the range request it was reading (Chromium reports it as
    # aborted); anything else that went wrong in the browser is a failure.
    recording = f"/interactions/{dispute.evaluation.interaction_id}/recording: net::ERR_ABORTED"
    tab.problems = [p for p in tab.problems
                    if not (p.startswith("request failed: GET") and p.endswith(recording))]
    tab.assert_clean()
