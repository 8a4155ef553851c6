"""The form builder in a real headless Chromium: its script runs under the CSP, builds a form
through the structured editor, and the saved draft is what was built.

The live server, browser and tab fixtures are test_browser.py's (imported, so that both files
share one way of starting them); Chromium is found, or the tests skipped, as described there.
"""

from __future__ import annotations

import json
import re

import factories
import pytest
import test_browser
from sqlalchemy import select
from test_browser import Tab, _assets_loaded

from scoring.forms.models import FormVersion, ScoringForm

pytestmark = [pytest.mark.browser]

# test_browser.py's fixtures, under their own names so that pytest finds them here.
browser = test_browser.browser
live_server = test_browser.live_server
tab = test_browser.tab


def _definition(tab: Tab) -> dict:
    return json.loads(tab.page.locator("#definition").input_value())


def test_admin_builds_a_form_in_the_editor_and_saves_a_draft(tab, people, session):
    page = tab.page
    tab.login("admin")
    tab.nav_link("Forms").click()
    page.wait_for_url(re.compile(r"/forms$"))
    page.get_by_role("link", name="New form").click()
    page.wait_for_url(re.compile(r"/forms/new$"))
    _assets_loaded(tab)

    # The script replaced the textarea with the editor, and keeps the textarea as a toggle.
    assert not page.locator("#definition").is_visible()
    assert page.locator("#builder").is_visible()
    page.get_by_label("Name").fill("Web chat")
    page.get_by_label("Description").fill("Built in the browser")

    page.get_by_role("button", name="Add section").click()
    section = page.locator(".fb-section").first
    section.get_by_label("Section key").fill("opening")
    section.get_by_label("Section title").fill("Opening")
    section.get_by_label("Weight").fill("2")
    section.get_by_role("button", name="Add question").click()
    question = section.locator(".fb-question").first
    # The new question's text box has the focus: typing goes straight into it.
    assert page.evaluate("document.activeElement.id") == "fb-s0-q0-text"
    question.get_by_label("Key").fill("greeting")
    question.get_by_label("Question text").fill("Greets the customer by name")
    assert question.get_by_label("Type").input_value() == "yes_no"
    question.get_by_label("Points").fill("3")
    question.get_by_label("N/A allowed").check()
    question.get_by_label("Critical").select_option("section")
    question.get_by_label("Competency codes (comma-separated)").fill("6.3.2, 6.3.4")

    # A second question, a scale shown only when the first was answered "no".
    section.get_by_role("button", name="Add question").click()
    second = section.locator(".fb-question").nth(1)
    second.get_by_label("Key").fill("recovery")
    second.get_by_label("Question text").fill("Recovers the conversation")
    second.get_by_label("Type").select_option("scale")
    assert second.get_by_label("Scale from").input_value() == "1"
    second.get_by_label("Show only when").select_option("greeting")
    second.get_by_label("has one of the values (comma-separated)").fill("no")
    assert "Possible values: yes, no" in second.inner_text()

    # Every change is in the JSON already; "Show JSON" shows it, "Show editor" comes back.
    built = _definition(tab)
    assert built["sections"][0]["key"] == "opening"
    assert built["sections"][0]["questions"][0] == {
        "key": "greeting", "text": "Greets the customer by name", "type": "yes_no", "points": 3,
        "allow_na": True, "critical": "section", "competencies": ["6.3.2", "6.3.4"]}
    page.get_by_role("button", name="Show JSON").click()
    assert page.locator("#definition").is_visible() and not page.locator("#builder").is_visible()
    page.get_by_role("button", name="Show editor").click()
    assert page.locator("#builder").is_visible()

    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r"/forms/\d+\?number=1$"))
    assert page.get_by_role("alert").filter(
        has_text="Draft version 1 saved; publish it to use it for new evaluations.").is_visible()
    assert "draft" in page.locator("#version-label").inner_text()
    row = page.locator("#question-greeting")
    assert "Greets the customer by name" in row.inner_text()
    assert "Failing it zeroes the section" in row.inner_text()
    assert "Only when Greets the customer by name is no" in page.locator(
        "#question-recovery").inner_text()

    session.expire_all()
    form = session.scalars(select(ScoringForm).where(ScoringForm.name == "Web chat")).one()
    assert form.description == "Built in the browser"
    version = session.scalars(select(FormVersion).where(FormVersion.form_id == form.id)).one()
    assert (version.number, version.status) == (1, "draft")
    questions = version.definition["sections"][0]["questions"]
    assert [q["key"] for q in questions] == ["greeting", "recovery"]
    assert questions[1]["condition"] == {"question": "greeting", "values": ["no"]}
    assert (questions[1]["scale_min"], questions[1]["scale_max"]) == (1, 5)

    page.get_by_role("button", name="Publish draft").click()
    page.get_by_role("button", name="Publish version 1").click()  # the confirmation
    page.wait_for_url(re.compile(rf"/forms/{form.id}\?number=1$"))
    assert "published" in page.locator("#version-label").inner_text()
    tab.assert_clean()


def test_editing_a_published_form_moves_a_question_and_makes_version_2(tab, people, session):
    v1 = factories.create_form(session)
    session.commit()
    frozen = v1.definition
    page = tab.page
    tab.login("admin")
    page.goto(f"/forms/{v1.form_id}")
    page.get_by_role("link", name="Edit").click()
    page.wait_for_url(re.compile(rf"/forms/{v1.form_id}/edit$"))
    assert "saving creates draft version 2" in page.locator("#save-note").inner_text()
    assert page.get_by_label("Name").get_attribute("readonly") is not None

    page.get_by_role("button", name="Move question 1.2 up").click()
    assert [q["key"] for q in _definition(tab)["sections"][0]["questions"]] == [
        "verify", "greet"]
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(rf"/forms/{v1.form_id}\?number=2$"))
    assert page.get_by_role("alert").filter(has_text="Draft version 2 saved").is_visible()

    session.expire_all()
    saved = session.scalars(select(FormVersion).where(FormVersion.form_id == v1.form_id)
                            .order_by(FormVersion.number)).all()
    assert [(v.number, v.status) for v in saved] == [(1, "published"), (2, "draft")]
    assert saved[0].definition == frozen
    # Only the order changed: the editor wrote back every question as it found it.
    assert saved[1].definition["sections"][0]["questions"] == list(
        reversed(frozen["sections"][0]["questions"]))
    tab.assert_clean()


def test_a_refused_save_shows_the_reason_and_keeps_the_edits(tab, people, session):
    page = tab.page
    tab.login("admin")
    page.goto("/forms/new")
    page.get_by_label("Name").fill("Twice")
    page.get_by_role("button", name="Add section").click()
    section = page.locator(".fb-section").first
    for _ in range(2):
        section.get_by_role("button", name="Add question").click()
    questions = section.locator(".fb-question")
    questions.nth(0).get_by_label("Key").fill("same")
    questions.nth(0).get_by_label("Question text").fill("First")
    questions.nth(1).get_by_label("Key").fill("same")
    questions.nth(1).get_by_label("Question text").fill("Second")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Save draft").click()
    assert answer.value.status == 400
    page.wait_for_load_state()  # the page's script has run
    assert page.get_by_role("alert").filter(
        has_text="Question key 'same' is used twice.").is_visible()
    # Back in the editor, with what was built.
    assert page.locator("#builder").is_visible()
    assert page.locator(".fb-question").nth(1).get_by_label("Question text").input_value() == (
        "Second")
    assert page.get_by_label("Name").input_value() == "Twice"

    # Broken JSON typed by hand stays in view as JSON, beside its line and column.
    page.get_by_role("button", name="Show JSON").click()
    page.locator("#definition").fill('{"sections": [\n  {"key": "s" "title": "x"}]}')
    page.get_by_role("button", name="Show editor").click()
    assert page.locator("#builder-problem").is_visible()  # the editor cannot show it
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Save draft").click()
    assert answer.value.status == 400
    page.wait_for_load_state()
    assert page.locator("#definition").is_visible()
    assert "at line 2, column 15" in page.locator("#definition ~ .invalid-feedback").inner_text()
    session.expire_all()
    assert session.scalars(select(ScoringForm)).all() == []
    tab.assert_clean()


def test_options_sections_and_removal_in_the_editor(tab, people, session):
    page = tab.page
    tab.login("admin")
    page.goto("/forms/new")
    page.get_by_label("Name").fill("Choices")
    for _ in range(2):
        page.get_by_role("button", name="Add section").click()
    first, second = page.locator(".fb-section").nth(0), page.locator(".fb-section").nth(1)
    first.get_by_label("Section title").fill("First")
    second.get_by_label("Section title").fill("Second")
    second.get_by_role("button", name="Add question").click()
    second.get_by_role("button", name="Add question").click()
    question = second.locator(".fb-question").first
    question.get_by_label("Question text").fill("Outcome")
    question.get_by_label("Type").select_option("single")
    assert "needs at least one option" in question.inner_text()
    for value, label, points in (("done", "Resolved", "2"), ("open", "Unresolved", "0")):
        question.get_by_role("button", name="Add option").click()
        row = question.locator("tbody tr").last
        row.get_by_label(re.compile(r"Option \d value")).fill(value)
        row.get_by_label(re.compile(r"Option \d label")).fill(label)
        row.get_by_label(re.compile(r"Option \d points")).fill(points)
    question.get_by_label("Option 2 fails a critical question").check()
    page.get_by_role("button", name="Remove question 2.2").click()
    page.get_by_role("button", name="Move section 2 up").click()

    sections = _definition(tab)["sections"]
    assert [s["title"] for s in sections] == ["Second", "First"]
    assert sections[0]["questions"] == [{
        "key": "q1", "text": "Outcome", "type": "single", "points": 1,
        "options": [{"value": "done", "label": "Resolved", "points": 2},
                    {"value": "open", "label": "Unresolved", "points": 0, "fails": True}]}]
    # A type change hides the options from the JSON, and a change back brings them back.
    moved = page.locator(".fb-section").first.locator(".fb-question").first
    moved.get_by_label("Type").select_option("yes_no")
    assert "options" not in _definition(tab)["sections"][0]["questions"][0]
    moved.get_by_label("Type").select_option("single")
    assert len(_definition(tab)["sections"][0]["questions"][0]["options"]) == 2

    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r"/forms/\d+\?number=1$"))
    assert "Unresolved" in page.locator("#question-q1").inner_text()
    tab.assert_clean()


def test_without_javascript_the_json_textarea_is_the_editor(browser, live_server, people,
                                                            session):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        plain = Tab(context.new_page(), live_server.url)
        plain.login("admin")
        page = plain.page
        page.goto("/forms/new")
        assert page.locator("#definition").is_visible()
        assert not page.locator("#builder").is_visible()
        page.get_by_label("Name").fill("Typed as JSON")
        page.locator("#definition").fill(json.dumps({"sections": factories.SIMPLE_FORM[
            "sections"]}))
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_url(re.compile(r"/forms/\d+\?number=1$"))
        assert "Verifies identity" in page.locator("#question-verify").inner_text()
        plain.assert_clean()
    finally:
        context.close()
