"""The transcript follows the recording, in a real headless Chromium: the line being said is
marked (class and aria-current), a later time moves the mark, a stop in a gap clears it; the
transcript's box (not the page) scrolls to the line, except for a few seconds after the reader
scrolled it. On every page the transcript is shown with the player: the dispute review, the
evaluation screen, the interaction page.

The headless player may not play, so the tests set ``currentTime`` and wait for the player's
``seeked`` event, which is what the page follows as well as ``timeupdate``. The call is the real
recording of test_browser_dispute.py."""

from __future__ import annotations

import factories
import pytest
import test_browser
import test_browser_dispute
from test_browser_a11y import FAILING_IMPACTS, _run_axe

pytestmark = [pytest.mark.browser]

browser = test_browser.browser
live_server = test_browser.live_server
tab = test_browser.tab


def _seek(page, seconds: float) -> None:
    page.evaluate("""t => new Promise(resolve => {
        const player = document.getElementById("player");
        player.addEventListener("seeked", () => setTimeout(resolve, 30), {once: true});
        player.currentTime = t;
    })""", seconds)


def _marked(page) -> list[str]:
    """The data-start of each line marked as the current one."""
    return page.eval_on_selector_all(
        "#transcript .qm-segment.qm-current",
        "els => els.map(el => el.dataset.start + '|' + el.getAttribute('aria-current'))")


def _ready(page) -> None:
    page.wait_for_function("document.getElementById('player').readyState >= 1")


def _recording_aborts(tab, path: str) -> None:
    """A player that seeks drops the range request it was reading (Chromium reports it as
    aborted): not a problem."""
    tab.problems = [p for p in tab.problems
                    if not (p.startswith("request failed: GET") and path in p
                            and p.endswith("net::ERR_ABORTED"))]


def test_the_line_being_said_is_marked_on_every_page_with_a_transcript(tab, app, people,
                                                                      session):
    dispute = test_browser_dispute.disputed_call(app, session, people)
    evaluation = dispute.evaluation
    page = tab.page
    pages = [("lead.a", f"/disputes/{dispute.id}"),
             ("qa", f"/evaluations/{evaluation.id}"),
             ("admin", f"/interactions/{evaluation.interaction_id}")]
    for username, url in pages:
        tab.login(username)
        page.goto(url)
        _ready(page)
        assert _marked(page) == [], url  # nothing plays yet
        _seek(page, 5.0)  # the customer's line, 4.75 to 8.04
        assert _marked(page) == ["4.75|true"], url
        _seek(page, 9.0)  # a later time moves the mark
        assert _marked(page) == ["8.54|true"], url
        if username == "lead.a":  # the marked line reads (contrast) and is announced
            assert [v for v in _run_axe(page) if v["impact"] in FAILING_IMPACTS] == []
        assert page.locator('.qm-segment[data-start="4.75"]').get_attribute(
            "aria-current") is None
        _seek(page, 8.3)  # stopped between two lines: nobody speaks, nothing is marked
        assert _marked(page) == [], url
        page.context.clear_cookies()  # the next role logs in afresh
    _recording_aborts(tab, "/recording")
    tab.assert_clean()


def test_the_box_scrolls_to_the_line_but_not_the_page_nor_while_the_reader_scrolls(
        tab, app, people, session):
    # forty short lines: more than the box shows at once
    segments = [{"start": round(i * 0.25, 2), "end": round(i * 0.25 + 0.2, 2),
                 "speaker": "agent" if i % 2 else "customer", "confidence": 0.9, "words": [],
                 "text": f"Line {i} of a long call"} for i in range(40)]
    call = factories.recorded_call(app, session, external_id="LONG-1", segments=segments)
    session.commit()
    page = tab.page
    tab.login("admin")
    page.goto(f"/interactions/{call.id}")
    _ready(page)
    box = page.locator("#transcript")
    assert box.evaluate("el => el.scrollHeight > el.clientHeight + 100")
    window_y = page.evaluate("window.scrollY")

    _seek(page, 9.8)  # the last line
    assert _marked(page) == ["9.75|true"]
    last_line = page.locator('.qm-segment[data-start="9.75"]')
    assert box.evaluate("el => el.scrollTop") > 0
    assert box.evaluate("""(el, line) => {
        const b = el.getBoundingClientRect(), l = line.getBoundingClientRect();
        return l.top >= b.top && l.bottom <= b.bottom; }""", last_line.element_handle())
    assert page.evaluate("window.scrollY") == window_y  # the page itself did not move

    # the reader scrolls the transcript: the box stays where they put it for a few seconds
    followed = box.evaluate("el => el.scrollTop")
    box.hover()
    page.mouse.wheel(0, -60)
    for _ in range(50):  # the wheel scrolls on the next frames (polled here: the CSP
        if box.evaluate("el => el.scrollTop") < followed:  # refuses wait_for_function's eval)
            break
        page.wait_for_timeout(20)
    page.mouse.move(5, 5)  # the pointer leaves the transcript
    kept = box.evaluate("el => el.scrollTop")
    assert 0 < kept < followed
    _seek(page, 0.1)  # the first line: marked, but not scrolled to
    assert _marked(page) == ["0.0|true"]
    assert box.evaluate("el => el.scrollTop") == kept

    page.wait_for_timeout(4500)  # after the pause the box follows again
    _seek(page, 0.35)
    assert _marked(page) == ["0.25|true"]
    assert box.evaluate("el => el.scrollTop") == 0
    _recording_aborts(tab, f"/interactions/{call.id}/recording")
    tab.assert_clean()
