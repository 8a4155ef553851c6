"""Accessibility in a real headless Chromium: each role's main pages checked by axe-core
against the WCAG 2.0, 2.1 and 2.2 A and AA rules, the skip link, and the favicon.

axe-core is vendored for the tests only (tests/browser/vendor/axe-core/, see its README); the
app never serves it. It is run with ``page.evaluate``, which the DevTools protocol executes
outside the page's Content-Security-Policy, so the app's policy stays as strict as it is (an
injected ``<script>`` would be refused, as test_browser.py proves).

A violation of impact "serious" or "critical" fails the test, listed by page, rule, impact and
the first elements it was found on. One that cannot be fixed at once goes in KNOWN, with the
reason; a known one that no longer occurs fails as well, so that the list stays true.

The live server, browser and tab fixtures are test_browser.py's.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path
from typing import Any

import factories
import pytest
import test_browser
from playwright.sync_api import expect

from qm.auth.access import AUTHENTICATED, PUBLIC, access_of
from qm.auth.permissions import scope_for

pytestmark = [pytest.mark.browser]

browser = test_browser.browser
live_server = test_browser.live_server
tab = test_browser.tab

AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = {"serious", "critical"}
TARGETS_SHOWN = 3

# The main pages, by name: a path with {placeholders} filled from the records made below. A
# role visits those its permissions open; which ones that is comes from the permission table
# (the route's own rule, or the one in NEEDS where the route only redirects).
PAGES = {
    "home": "/",
    "interactions": "/interactions",
    "interaction": "/interactions/{interaction_id}",
    "evaluations": "/evaluations",
    "evaluation": "/evaluations/{evaluation_id}",
    "my scorecard": "/scorecard",  # offered (navbar) to those who respond to evaluations
    "scorecard": "/scorecards/{agent_id}",
    "calibration": "/calibration",
    "calibration session": "/calibration/{calibration_id}",
    "complaints": "/complaints",
    "complaint": "/complaints/{complaint_id}",
    "skills": "/skills",
    "training": "/training",
    "coaching": "/coaching",
    "notices": "/notices",
    "notice": "/notices/{notice_id}",
    "forms": "/forms",
    "form": "/forms/{form_id}",
    "users": "/users",
    "teams": "/teams",
    "review queue": "/review",
    "flags": "/flags",
    "account": "/account",
}

NEEDS = {"my scorecard": "evaluation.respond"}

ROLES = {"admin": "admin", "qa": "qa", "lead": "lead.a", "agent": "agent.a", "hr": "hr",
         "auditor": "auditor"}
USERS = {"admin": "admin", "qa": "qa", "lead": "lead_a", "agent": "agent_a", "hr": "hr",
         "auditor": "auditor"}

# (page name, rule id) -> why it is not fixed yet. Empty: every page checked is clean.
KNOWN: dict[tuple[str, str], str] = {}


def _world(session: Any, people: dict[str, Any]) -> dict[str, int]:
    """One record of each kind the pages list, all inside the scope of agent.a and lead.a."""
    from competencies.coaching import services as coaching
    from competencies.frameworks import services as frameworks
    from competencies.notices import services as notices
    from competencies.profiles import services as profiles
    from competencies.training import services as training
    from scoring.calibration import services as calibration
    from scoring.complaints import services as complaints

    factories.flags_in_use(session)
    form = factories.create_form(session)
    # A chat that a phrase flag fires on (the review queue has a row), with a transcript.
    chat = factories.create_interaction(
        session, people["agent_a"], channel="chat", queue="retention",
        body="Customer: please cancel my account\nAgent: I can help with that.")
    factories.create_interaction(session, people["agent_a"], channel="email", duration_s=0,
                                 body="Dear team, my invoice is wrong.")
    dispute = factories.create_dispute(session, people["qa"], chat)
    voice = factories.create_interaction(session, people["agent_a"], duration_s=754)
    calibrated = calibration.create_session(
        session, people["lead_a"], title="Week 47 calibration", form_id=None,
        interaction_ids=[voice.id],
        participant_ids=[people["qa"].id, people["admin"].id, people["lead_a"].id],
        team_id=people["team_a"].id)
    complaint = complaints.open_complaint(session, people["lead_a"], {
        "customer_ref": "C-A11Y", "summary": "Charged twice", "category": "service",
        "interaction_ids": [chat.id]})
    framework = frameworks.import_framework(session, factories.SYSTEM, {
        "name": "Agent competencies",
        "groups": [{"code": "6.3.2", "competencies": [
            {"code": "6.3.2", "name": "Communication"}]}]}, publish=True).framework
    profile = profiles.save_profile(session, factories.SYSTEM, framework_id=framework.id,
                                    kind="role", name="agent", requirements={"6.3.2": 2})
    profiles.assign_profile(session, factories.SYSTEM, profile.id, [people["agent_a"].id])
    training.save_course(session, factories.SYSTEM, {
        "name": "Listening skills", "kind": "product", "competencies": ["6.3.2"]})
    coached = coaching.open_session(session, people["lead_a"], people["agent_a"].id, {
        "kind": "one_to_one", "planned_on": dt.date.today()})
    coaching.add_action(session, people["lead_a"], coached.id, text="Listen first",
                        owner_id=people["agent_a"].id, due_on=dt.date.today())
    notice = notices.save_draft(session, factories.SYSTEM, {
        "title": "New refund policy", "body": "Read me.", "category": "policy"})
    notices.publish(session, factories.SYSTEM, notice.id, notices.Audience(
        user_ids=tuple(people[u].id for u in USERS.values())))
    session.commit()
    return {"interaction_id": chat.id, "evaluation_id": dispute.evaluation.id,
            "agent_id": people["agent_a"].id, "calibration_id": calibrated.id,
            "complaint_id": complaint.id, "notice_id": notice.id, "form_id": form.form_id}


def _pages_of(app: Any, user: Any, world: dict[str, int]) -> dict[str, str]:
    """The pages of PAGES that the permission table opens to ``user``: name -> path."""
    adapter = app.url_map.bind("localhost")
    out = {}
    for name, template in PAGES.items():
        path = template.format(**world)
        endpoint, _args = adapter.match(path, method="GET")
        access = NEEDS.get(name) or access_of(app, endpoint)
        if access in (PUBLIC, AUTHENTICATED) or scope_for(user, access) is not None:
            out[name] = path
    return out


@cache
def _axe_source() -> str:
    return AXE_JS.read_text("utf-8")


def _run_axe(page: Any) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {
                runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(" ")),
            }));
        }""", WCAG_TAGS)


def _describe(name: str, path: str, violation: dict[str, Any]) -> str:
    shown = violation["targets"][:TARGETS_SHOWN]
    more = len(violation["targets"]) - len(shown)
    return (f"{name} ({path}): {violation['id']} [{violation['impact']}] "
            f"{violation['help']}: {', '.join(shown)}{f' and {more} more' if more else ''}")


@pytest.fixture
def world(session, people):
    return _world(session, people)


@pytest.mark.parametrize("role", list(ROLES))
def test_each_roles_main_pages_have_no_serious_accessibility_violations(
        tab, app, people, world, role):
    user = people[USERS[role]]
    pages = _pages_of(app, user, world)
    assert "home" in pages and len(pages) >= 6, pages
    tab.login(ROLES[role])
    page = tab.page
    failures, known_seen, checked = [], set(), 0
    for name, path in pages.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{name} ({path})"
        for violation in _run_axe(page):
            if violation["impact"] not in FAILING_IMPACTS:
                continue
            if (name, violation["id"]) in KNOWN:
                known_seen.add((name, violation["id"]))
            else:
                failures.append(_describe(name, path, violation))
        checked += 1
    assert checked == len(pages)
    assert not failures, (f"{role}: {len(failures)} serious or critical WCAG violation(s):\n"
                          + "\n".join(failures))
    gone = {k for k in KNOWN if k[0] in pages} - known_seen
    assert not gone, f"{role}: known violations no longer found; remove them from KNOWN: {gone}"
    tab.assert_clean()


def test_the_pages_before_logging_in_have_no_serious_accessibility_violations(tab, people):
    page = tab.page
    failures = []
    for name, path, status in (("login", "/login", 200), ("not found", "/no-such-page", 404)):
        response = page.goto(path)
        assert response is not None and response.status == status, path
        failures += [_describe(name, path, v) for v in _run_axe(page)
                     if v["impact"] in FAILING_IMPACTS]
    page.goto("/login")
    page.get_by_label("Username or e-mail").fill("agent.a")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    failures += [_describe("login, refused", "/login", v) for v in _run_axe(page)
                 if v["impact"] in FAILING_IMPACTS]
    assert not failures, "\n".join(failures)
    tab.assert_clean()


def test_the_skip_link_is_the_first_tab_stop_and_moves_focus_to_the_content(tab, people):
    page = tab.page
    tab.login("agent.a")
    skip = page.get_by_role("link", name="Skip to content")
    assert not skip.is_visible() or skip.bounding_box()["width"] <= 1  # hidden until focused
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    expect(skip).to_be_visible()
    assert skip.bounding_box()["width"] > 50
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#content$"))
    assert page.evaluate("document.activeElement.id") == "content"
    assert page.evaluate("document.activeElement.tagName") == "MAIN"
    # The next Tab goes into the page's content, past the navbar.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('nav') === null")
    assert page.evaluate("document.getElementById('content').contains(document.activeElement)")
    tab.assert_clean()


def test_pages_name_an_icon_that_loads_and_favicon_ico_answers(tab, live_server):
    page = tab.page
    icons = []
    page.on("response", lambda r: icons.append((r.url, r.status))
            if "favicon" in r.url else None)
    page.goto("/login")
    links = page.locator("link[rel=icon]")
    assert links.count() == 2
    svg = page.evaluate("""async () => {
        const r = await fetch(document.querySelector('link[rel=icon][type="image/svg+xml"]').href);
        return [r.status, r.headers.get('content-type'), await r.text()];
    }""")
    assert svg[0] == 200 and svg[1].startswith("image/svg+xml") and "<svg" in svg[2]
    # Asked for directly, as a browser does for a page without the links (not opened as a
    # page: Chromium's image viewer styles itself inline, which the CSP rightly refuses).
    response = page.request.get("/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"] == "image/vnd.microsoft.icon"
    assert response.body()[:4] == b"\x00\x00\x01\x00"  # an ICO's header
    assert all(status == 200 for _url, status in icons), icons
    tab.assert_clean()
