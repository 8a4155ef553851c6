"""Real headless-Chromium tests: the app served by waitress on 127.0.0.1, driven by Playwright.

They prove what the Flask test client cannot: the real login form and its CSRF token, the
navbar as each role sees it, Bootstrap's JavaScript and CSS loading under the
Content-Security-Policy (the user menu only opens if the bundle runs), and forms that keep what
was typed when the server refuses a value.

Chromium is Debian's (``apt-get install chromium``) or the one named by ``QM_CHROMIUM``;
``playwright install`` is never needed. Without a Chromium the tests skip, unless
``QM_REQUIRE_BROWSER=1`` (as in CI), where they fail instead.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import factories
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from qm.interactions.models import Interaction

pytestmark = [pytest.mark.browser]

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
TIMEOUT_MS = 10_000
# Bootstrap's .bg-dark: the navbar only has this colour if the vendored CSS loaded.
BOOTSTRAP_DARK = "rgb(33, 37, 41)"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("QM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"QM_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason} (apt-get install chromium, or set QM_CHROMIUM)")


def _chromium_path() -> str | None:
    named = os.environ.get("QM_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


# --- the live server ---------------------------------------------------------------------------

class LiveServer:
    """waitress on 127.0.0.1 and a free port, its event loop in a daemon thread.

    The loop runs one poll at a time so that ``stop`` can end it from outside, then close the
    sockets once no other thread touches them.
    """

    def __init__(self, app: Flask) -> None:
        import waitress
        from waitress import wasyncore

        self._wasyncore = wasyncore
        self._map: dict[int, Any] = {}
        self.server = waitress.create_server(app, host="127.0.0.1", port=0, map=self._map,
                                             threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="qm-live-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set() and self._map:
            self._wasyncore.loop(timeout=0.5, map=self._map, use_poll=True, count=1)

    def stop(self) -> None:
        self._stopping.set()
        self.server.pull_trigger()  # wake the poll now rather than at its timeout
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the live server's loop did not stop"
        self.server.task_dispatcher.shutdown(timeout=10)
        for channel in list(self._map.values()):
            channel.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.stop()  # before the app fixture disposes of the engine


# --- the browser -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium_path()
    if executable is None:
        _unavailable("no Chromium found (QM_CHROMIUM, or chromium on PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, headless=True,
                                      args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Tab:
    """One page in a fresh browser context, recording whatever goes wrong in the browser."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"uncaught JS error: {exc}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _request_failed(self, request: Any) -> None:
        # A static file still loading when the test moves to the next page is cancelled by the
        # browser (ERR_ABORTED; on a loaded machine it happens): not a failure. So is a
        # background fetch (the live score's preview) in flight when a form submits and the
        # page leaves. Either fails otherwise: a 4xx or 5xx in _response, a CSP block on the
        # console, any other net error here.
        cancelled = "/static/" in request.url or request.resource_type in ("fetch", "xhr")
        if request.failure == "net::ERR_ABORTED" and cancelled:
            return
        self.problems.append(f"request failed: {request.method} {request.url}: "
                             f"{request.failure}")

    def _console(self, message: Any) -> None:
        # CSP violations ("Refused to load/execute ... Content Security Policy") are errors.
        if message.type in ("error", "warning") and not self._expected(message.text):
            self.problems.append(f"console {message.type}: {message.text}")

    def _response(self, response: Any) -> None:
        # A page may answer 4xx on purpose (a refused form, a page out of scope), and the tests
        # assert those statuses; a server error, or any failing asset, is always a problem.
        document = response.request.resource_type == "document"
        if response.status >= (500 if document else 400):
            self.problems.append(f"{response.status} for {response.url}")

    @staticmethod
    def _expected(text: str) -> bool:
        # Chromium also logs every 4xx/5xx response to the console; _response judges those.
        return text.startswith("Failed to load resource: the server responded with a status")

    def url_path(self) -> str:
        assert self.page.url.startswith(self.base_url), self.page.url
        return self.page.url[len(self.base_url):]

    def login(self, username: str, password: str = factories.PASSWORD) -> None:
        page = self.page
        page.goto("/login")
        page.get_by_label("Username or e-mail").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{self.base_url}/")
        assert page.locator("h1").inner_text().startswith("Welcome, ")

    def nav_link(self, name: str) -> Any:
        return self.page.locator("nav .navbar-nav").get_by_role("link", name=name, exact=True)

    def assert_clean(self) -> None:
        assert self.problems == [], "the browser reported problems:\n" + "\n".join(self.problems)


@pytest.fixture
def tab(browser: Any, live_server: LiveServer) -> Iterator[Tab]:
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield Tab(context.new_page(), live_server.url)
    finally:
        context.close()


def _assets_loaded(tab: Tab) -> None:
    """The vendored Bootstrap CSS and JS ran on this page, CSP and all."""
    page = tab.page
    navbar_colour = page.locator("nav.navbar").evaluate(
        "el => getComputedStyle(el).backgroundColor")
    assert navbar_colour == BOOTSTRAP_DARK
    assert page.evaluate("typeof window.bootstrap?.Dropdown") == "function"


def test_the_content_security_policy_is_enforced_and_its_violations_are_caught(tab):
    """The net under every other test: an inline script is refused, and Tab notices."""
    page = tab.page
    page.goto("/login")
    _assets_loaded(tab)  # 'self' assets pass
    assert tab.problems == []
    page.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.qmInlineRan = true";
        document.body.append(s);
    }""")
    for _ in range(50):  # the console message arrives asynchronously
        if tab.problems:
            break
        page.wait_for_timeout(100)
    assert page.evaluate("window.qmInlineRan === undefined")
    assert any("Content Security Policy" in p for p in tab.problems), tab.problems


# --- login, the navbar by role, logout ---------------------------------------------------------

def test_admin_sees_every_menu_item_and_logs_out_through_the_user_menu(tab, people):
    page = tab.page
    page.goto("/")
    assert tab.url_path().startswith("/login")  # not logged in: sent to the form

    tab.login("admin")
    _assets_loaded(tab)
    for item in ("Interactions", "Import", "People", "Teams", "Audit log"):
        assert tab.nav_link(item).is_visible(), f"admin's navbar lacks {item}"

    # The menu is closed until Bootstrap's dropdown opens it: a click that works proves the
    # bundle was loaded and allowed to run.
    logout = page.get_by_role("button", name="Log out")
    assert not logout.is_visible()
    page.locator("#user-menu").click()
    assert page.locator("#user-menu").get_attribute("aria-expanded") == "true"
    for item in ("Account", "API tokens"):
        assert page.locator(".dropdown-menu").get_by_role("link", name=item).is_visible()
    logout.click()

    page.wait_for_url(re.compile(r"/login$"))
    assert page.get_by_role("alert").filter(has_text="You are logged out.").is_visible()
    assert page.locator("#user-menu").count() == 0
    page.goto("/interactions")  # the session really ended
    assert tab.url_path().startswith("/login?next=")
    tab.assert_clean()


def test_wrong_password_shows_an_error_and_keeps_the_username(tab, people):
    page = tab.page
    page.goto("/login")
    page.get_by_label("Username or e-mail").fill("agent.a")
    page.get_by_label("Password").fill("not-the-password")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Log in").click()
    assert answer.value.status == 401
    assert page.get_by_role("alert").filter(has_text="Wrong username or password").is_visible()
    assert page.get_by_label("Username or e-mail").input_value() == "agent.a"
    assert page.locator("#user-menu").count() == 0
    tab.assert_clean()


def test_agent_navbar_shows_interactions_but_no_admin_items(tab, people):
    page = tab.page
    tab.login("agent.a")
    _assets_loaded(tab)
    assert tab.nav_link("Interactions").is_visible()
    for item in ("Import", "People", "Teams", "Audit log"):
        assert tab.nav_link(item).count() == 0, f"agent.a's navbar shows {item}"
    page.locator("#user-menu").click()
    menu = page.locator(".dropdown-menu")
    assert menu.get_by_role("link", name="API tokens").is_visible()
    assert "Agent" in menu.locator(".dropdown-item-text").inner_text()

    # Hiding the link is not the protection: the pages themselves refuse.
    for path in ("/users", "/audit", "/interactions/import", "/interactions/new"):
        response = page.goto(path)
        assert response is not None and response.status == 403, path
    tab.assert_clean()


# --- the interactions list and detail ----------------------------------------------------------

def _seed_interactions(session: Session, people: dict[str, Any]) -> dict[str, list[Interaction]]:
    own = [factories.create_interaction(session, people["agent_a"], customer_ref=f"C-A{i}")
           for i in range(3)]
    other = [factories.create_interaction(session, people["agent_b"], customer_ref=f"C-B{i}")
             for i in range(2)]
    session.commit()
    return {"agent_a": own, "agent_b": other}


def test_agent_lists_only_own_interactions_and_opens_one(tab, people, session):
    seeded = _seed_interactions(session, people)
    page = tab.page
    tab.login("agent.a")
    tab.nav_link("Interactions").click()
    page.wait_for_url(re.compile(r"/interactions$"))

    rows = page.locator("#interactions tbody tr")
    assert rows.count() == 3
    assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {"Agent.A"}
    assert sorted(rows.locator("td:nth-child(7)").all_inner_texts()) == ["C-A0", "C-A1", "C-A2"]
    assert page.locator("select[name=agent_id]").count() == 0  # no filter over other agents
    assert page.get_by_role("link", name="New interaction").count() == 0

    newest = max(seeded["agent_a"], key=lambda i: i.started_at)
    rows.first.get_by_role("link").click()  # newest first
    page.wait_for_url(re.compile(rf"/interactions/{newest.id}$"))
    assert page.locator("h1").inner_text() == f"Voice · {newest.started_at:%Y-%m-%d %H:%M}"
    details = page.locator("dl")
    assert "Agent.A" in details.inner_text()
    assert newest.customer_ref in details.inner_text()
    assert f"test / {newest.external_id}" in details.inner_text()
    assert page.get_by_role("link", name="Correct details").count() == 0

    # Another agent's interaction does not exist as far as agent.a can tell.
    response = page.goto(f"/interactions/{seeded['agent_b'][0].id}")
    assert response is not None and response.status == 404
    tab.assert_clean()


def test_admin_lists_and_filters_every_interaction_and_screenshots_it(tab, people, session,
                                                                      tmp_path):
    _seed_interactions(session, people)
    page = tab.page
    tab.login("admin")
    page.goto("/interactions")
    rows = page.locator("#interactions tbody tr")
    assert rows.count() == 5

    page.locator("select[name=team_id]").select_option(label="Team B")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"team_id="))
    assert rows.count() == 2
    assert set(rows.locator("td:nth-child(3)").all_inner_texts()) == {"Team B"}

    shot = tmp_path / "interactions.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000
    tab.assert_clean()


# --- creating an interaction through the form --------------------------------------------------

NEW_VALUES = {
    "External id (from the phone or ticket system; empty: generated)": "WEB-0001",
    "Queue": "sales",
    "Duration (seconds or mm:ss)": "5:30",
    "Customer reference": "C-WEB",
    "Text (chat transcript or e-mail)": "Customer asked about the\nNovember invoice.",
}
STARTED_AT = "Started at (your time zone, e.g. 2026-11-20 14:05)"


def _open_new_form(tab: Tab) -> None:
    page = tab.page
    tab.nav_link("Interactions").click()
    page.get_by_role("link", name="New interaction").click()
    page.wait_for_url(re.compile(r"/interactions/new$"))
    assert page.locator("h1").inner_text() == "New interaction"


def _fill_new_form(tab: Tab, started_at: str) -> None:
    page = tab.page
    for label, value in NEW_VALUES.items():
        page.get_by_label(label).fill(value)
    page.get_by_label("Agent").select_option(label="Agent.A2 (agent.a2)")
    page.get_by_label("Channel").select_option(label="Chat")
    page.get_by_label("Direction").select_option(label="Outbound")
    page.get_by_label(STARTED_AT).fill(started_at)


def test_admin_creates_an_interaction_in_their_time_zone(tab, people, session):
    people["admin"].timezone = "Europe/Berlin"
    session.commit()
    page = tab.page
    tab.login("admin")
    _open_new_form(tab)
    _fill_new_form(tab, "2026-11-20 14:05")
    page.get_by_role("button", name="Save").click()

    page.wait_for_url(re.compile(r"/interactions/\d+$"))
    assert page.get_by_role("alert").filter(has_text="Interaction saved.").is_visible()
    assert page.locator("h1").inner_text() == "Chat · 2026-11-20 14:05"  # shown as typed
    details = page.locator("dl").inner_text()
    for expected in ("Agent.A2", "Team A", "sales", "outbound", "5:30", "C-WEB",
                     "manual / WEB-0001"):
        assert expected in details
    # A chat is shown as its redacted messages, stored with it when it was saved.
    assert "November invoice" in page.locator("#written-chat").inner_text()

    session.expire_all()
    saved = session.scalars(select(Interaction).where(Interaction.external_id == "WEB-0001")).one()
    assert tab.url_path() == f"/interactions/{saved.id}"
    assert saved.agent_id == people["agent_a2"].id
    assert saved.team_id == people["team_a"].id
    assert saved.channel == "chat" and saved.direction == "outbound"
    assert saved.started_at == dt.datetime(2026, 11, 20, 13, 5, tzinfo=dt.UTC)  # CET is UTC+1
    assert saved.duration_s == 330
    assert saved.created_by_id == people["admin"].id
    tab.assert_clean()


def test_bad_started_at_shows_the_error_and_keeps_every_typed_value(tab, people, session):
    page = tab.page
    tab.login("admin")
    _open_new_form(tab)
    _fill_new_form(tab, "20/11/2026 2pm")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Save").click()
    assert answer.value.status == 400

    assert tab.url_path() == "/interactions/new"
    assert page.get_by_role("alert").filter(has_text="The interaction was not saved").is_visible()
    started = page.get_by_label(STARTED_AT)
    assert "is-invalid" in (started.get_attribute("class") or "")
    feedback = page.locator("#started_at ~ .invalid-feedback")
    assert feedback.is_visible()
    assert "is not an ISO 8601 date and time" in feedback.inner_text()
    # No lost edits: every field still holds what was typed or chosen.
    assert started.input_value() == "20/11/2026 2pm"
    for label, value in NEW_VALUES.items():
        assert page.get_by_label(label).input_value() == value, label
    assert page.get_by_label("Agent").input_value() == "agent.a2"
    assert page.get_by_label("Channel").input_value() == "chat"
    assert page.get_by_label("Direction").input_value() == "outbound"
    session.expire_all()
    assert session.scalars(select(Interaction)).all() == []

    # Fixing the one field is enough: the re-rendered form (and its CSRF token) still works.
    started.fill("2026-11-20 14:05")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/interactions/\d+$"))
    assert page.get_by_role("alert").filter(has_text="Interaction saved.").is_visible()
    session.expire_all()
    saved = session.scalars(select(Interaction)).all()
    assert [(i.external_id, i.customer_ref) for i in saved] == [("WEB-0001", "C-WEB")]
    assert saved[0].body == "Customer asked about the\nNovember invoice."  # LF, not CRLF
    tab.assert_clean()


# --- correcting an interaction -----------------------------------------------------------------

BOOKKEEPING = {"version", "updated_at"}


def _correct_queue(tab: Tab, interaction_id: int) -> list[str]:
    """Change only the queue through the edit form; the history's lines of changes."""
    page = tab.page
    page.goto(f"/interactions/{interaction_id}")
    page.get_by_role("link", name="Correct details").click()
    page.wait_for_url(re.compile(rf"/interactions/{interaction_id}/edit$"))
    assert page.get_by_label("Queue").input_value() == "billing"
    page.get_by_label("Queue").fill("retention")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf"/interactions/{interaction_id}$"))
    assert page.get_by_role("alert").filter(has_text="Saved.").is_visible()
    return page.locator(".history-change div").all_inner_texts()


def _fields(changes: list[str]) -> list[str]:
    return sorted({line.split(":")[0] for line in changes} - BOOKKEEPING)


def test_admin_corrects_one_field_and_the_history_shows_only_that_change(tab, people, session):
    item = factories.create_interaction(session, people["agent_a"], queue="billing",
                                        body="Customer wants a callback.")
    session.commit()
    tab.login("admin")
    changes = _correct_queue(tab, item.id)
    assert _fields(changes) == ["queue"]
    assert "queue: billing → retention" in changes
    session.expire_all()
    saved = session.get(Interaction, item.id)
    assert (saved.queue, saved.body, saved.started_at) == (
        "retention", "Customer wants a callback.", item.started_at)
    tab.assert_clean()


@pytest.mark.parametrize("fields", [
    pytest.param({"body": "Line one.\nLine two."}, id="multi-line-body"),
    pytest.param({"started_at": "2026-11-02T09:00:00.250000+00:00"}, id="sub-second-start"),
])
def test_correcting_one_field_leaves_the_others_byte_for_byte(tab, people, session, fields):
    """Browsers send a textarea's newlines as CRLF and the start is shown to the second: saving
    the form unchanged must neither rewrite the text nor cut the sub-second part."""
    item = factories.create_interaction(session, people["agent_a"], queue="billing", **fields)
    session.commit()
    before = (item.body, item.started_at)
    tab.login("admin")
    changes = _correct_queue(tab, item.id)
    session.expire_all()
    saved = session.get(Interaction, item.id)
    assert (saved.body, saved.started_at) == before
    assert _fields(changes) == ["queue"]
    tab.assert_clean()
