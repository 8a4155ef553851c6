"""The dispute review in a real headless Chromium: the reviewer clicks a line of the transcript
and the recording's player moves to the second that line starts at, under the CSP.

The live server, browser and tab fixtures are test_browser.py's. The call is a real recording,
tests/data/audio/agent_customer_8k.wav, with a transcript of what its README says is spoken.
"""

from __future__ import annotations

import re
from pathlib import Path

import factories
import pytest
import test_browser
from playwright.sync_api import expect
from test_browser import _assets_loaded

from qm.interactions import services as interactions
from qm.storage import RecordingStore
from scoring.evaluations import services as ev
from transcription.store import store_transcript

pytestmark = [pytest.mark.browser]

browser = test_browser.browser
live_server = test_browser.live_server
tab = test_browser.tab

AUDIO = Path(__file__).resolve().parents[1] / "data" / "audio" / "agent_customer_8k.wav"
SEGMENTS = [
    {"start": 0.25, "end": 4.25, "speaker": "agent", "confidence": 0.9, "words": [],
     "text": "Thank you for calling Acme billing, my name is Sam. How can I help you today?"},
    {"start": 4.75, "end": 8.04, "speaker": "customer", "confidence": 0.9, "words": [],
     "text": "Hello, I was charged twice for my broadband this month."},
    {"start": 8.54, "end": 9.97, "speaker": "agent", "confidence": 0.9, "words": [],
     "text": "Let me check that for you."},
]


def disputed_call(app, session, people):
    """agent.a's recorded, transcribed call, scored by qa, released and disputed."""
    factories.create_form(session)
    with AUDIO.open("rb") as recording:
        call = interactions.create_interaction(
            session, factories.SYSTEM,
            {"source": "test", "external_id": "CALL-1", "agent": "agent.a", "channel": "voice",
             "started_at": "2026-11-02T09:00:00+00:00", "duration_s": 10},
            store=RecordingStore(app.extensions["qm"]["settings"].recordings_dir),
            recording=recording, recording_name="call.wav")
    store_transcript(session, call.id, {
        "source": "audio", "model": "test", "duration_s": 10.22, "segments": SEGMENTS,
        "text": " ".join(s["text"] for s in SEGMENTS), "metrics": {}, "redactions": {},
        "warnings": []})
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
