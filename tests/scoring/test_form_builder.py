"""The scoring-form pages: list, version view, builder, import, export, publish, and who may
use them."""

from __future__ import annotations

import copy
import html
import io
import json
import re

import factories
import pytest
from markupsafe import escape
from sqlalchemy import func, select

from qm.audit import AuditEntry
from scoring.demo import FORM_FILE
from scoring.forms import rules
from scoring.forms.models import FormVersion, ScoringForm
from scoring.forms.views import KIND_LABELS, TYPE_LABELS

SECTIONS = copy.deepcopy(factories.SIMPLE_FORM["sections"])


def versions(session, form_id: int) -> list[tuple[int, str]]:
    session.expire_all()
    return [(v.number, v.status) for v in session.scalars(
        select(FormVersion).where(FormVersion.form_id == form_id).order_by(FormVersion.number))]


def form_named(session, name: str) -> ScoringForm:
    session.expire_all()
    return session.scalars(select(ScoringForm).where(ScoringForm.name == name)).one()


def page_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def publish(client, form_id: int, number: int, version: int | None = None):
    """Press "Publish draft" on the draft's page, with the values that page carries."""
    text = client.get(f"/forms/{form_id}?number={number}").get_data(as_text=True)
    if version is None:
        shown = re.search(r'name="version"[^>]*value="(\d+)"', text)
        version = int(shown.group(1)) if shown else 1
    return client.post_form(f"/forms/{form_id}/publish", {"number": number, "version": version},
                            page=f"/forms/{form_id}?number={number}")


def test_the_labels_cover_every_type_and_kind():
    assert list(TYPE_LABELS) == list(rules.QUESTION_TYPES)
    assert list(KIND_LABELS) == list(rules.KINDS)


def test_list_and_version_pages_render(client, auth, session, people):
    data = json.loads(FORM_FILE.read_text("utf-8"))
    version = factories.create_form(session, data)
    session.commit()
    auth.login("qa")
    listing = client.get("/forms")
    text = page_of(listing)
    assert listing.status_code == 200
    assert data["name"] in text and "Version 1" in text and "published" in text
    assert "New form" not in text and "Import JSON" not in text  # qa may look, not manage

    detail = client.get(f"/forms/{version.form_id}")
    text = page_of(detail)
    assert detail.status_code == 200
    for expected in ("Needs discovery", "Weight 2", "Verifies the customer's identity",
                     "Failing it zeroes the whole form", "Two factors, as the client's",
                     "6.3.4", "Scale", "1–5", "Resolved in this contact",
                     "Only when <em>Reason for contact</em> is complaint", "+5 (bonus)",
                     "−20 (penalty)", "Export JSON"):
        assert expected in text, expected
    assert "Allowed" in text  # N/A
    assert f"/forms/{version.form_id}/versions/1.json" in text
    assert "/edit" not in text and "Publish draft" not in text

    auth.logout()
    auth.login("admin")
    text = page_of(client.get("/forms"))
    assert "New form" in text and "Import JSON" in text
    text = page_of(client.get(f"/forms/{version.form_id}"))
    assert f"/forms/{version.form_id}/edit" in text
    assert "Edit makes a new draft (version 2)" in text
    assert client.get(f"/forms/{version.form_id}?number=7").status_code == 404
    assert client.get("/forms/999").status_code == 404


def test_builder_saves_a_draft_and_publish_makes_it_current(client, auth, session, people):
    auth.login("admin")
    page = client.get("/forms/new")
    assert page.status_code == 200
    assert 'id="definition"' in page.get_data(as_text=True)
    assert "qm/form_builder.js" in page.get_data(as_text=True)

    response = client.post_form("/forms/new", {
        "name": "Chat form", "description": "For chats",
        "definition": json.dumps({"sections": SECTIONS})})
    form = form_named(session, "Chat form")
    assert response.status_code == 302
    assert response.location == f"/forms/{form.id}?number=1"
    assert versions(session, form.id) == [(1, "draft")]
    assert form.description == "For chats"
    shown = page_of(client.get(response.location))
    assert "Draft version 1 saved; publish it to use it for new evaluations." in shown
    assert "Publish draft" in shown and "Verifies identity" in shown

    published = publish(client, form.id, 1)
    assert published.status_code == 302
    assert versions(session, form.id) == [(1, "published")]
    assert "Version 1 published" in page_of(client.get(published.location))
    entries = session.scalars(select(AuditEntry.action)).all()
    assert "form.created" in entries and "form_version.published" in entries

    # Nothing left to publish: said in words, on the form's page.
    again = publish(client, form.id, 1)
    assert again.status_code == 302
    assert "has no draft to publish" in page_of(client.get(again.location))


def test_a_new_form_may_not_take_an_existing_name(client, auth, session, people):
    factories.create_form(session)
    session.commit()
    auth.login("admin")
    response = client.post_form("/forms/new", {
        "name": "Test form", "definition": json.dumps({"sections": SECTIONS})})
    assert response.status_code == 400
    assert "A form named &#39;Test form&#39; exists already" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(FormVersion.id))) == 1


def test_editing_a_published_form_makes_version_2_and_leaves_version_1(
        client, auth, session, people):
    v1 = factories.create_form(session)
    session.commit()
    frozen = copy.deepcopy(v1.definition)
    auth.login("admin")
    edit_page = client.get(f"/forms/{v1.form_id}/edit")
    text = page_of(edit_page)
    assert edit_page.status_code == 200
    assert "saving creates draft version 2" in text
    assert "Renaming a form is not possible here" in text
    shown = re.search(r'<textarea[^>]*id="definition"[^>]*>(.*?)</textarea>', text, re.S)
    assert json.loads(shown.group(1)) == {"sections": frozen["sections"]}

    changed = copy.deepcopy(SECTIONS)
    changed[0]["questions"][0]["points"] = 5
    # A different name posted along does not start another form: the name is the form's own.
    response = client.post_form(f"/forms/{v1.form_id}/edit", {
        "name": "Another name", "definition": json.dumps({"sections": changed})})
    assert response.status_code == 302
    assert response.location == f"/forms/{v1.form_id}?number=2"
    assert versions(session, v1.form_id) == [(1, "published"), (2, "draft")]
    assert session.scalar(select(func.count(ScoringForm.id))) == 1
    assert session.get(FormVersion, v1.id).definition == frozen
    shown = page_of(client.get(response.location))
    assert "Draft version 2 saved" in shown

    # The draft is edited in place; saving it unchanged is no new version either.
    changed[0]["questions"][1]["points"] = 3
    assert client.post_form(f"/forms/{v1.form_id}/edit", {
        "name": "Test form", "definition": json.dumps({"sections": changed})}).status_code == 302
    assert versions(session, v1.form_id) == [(1, "published"), (2, "draft")]
    assert "You are editing draft version 2" in page_of(client.get(f"/forms/{v1.form_id}/edit"))

    assert publish(client, v1.form_id, 2).status_code == 302
    assert versions(session, v1.form_id) == [(1, "retired"), (2, "published")]
    assert session.get(FormVersion, v1.id).definition == frozen
    retired = page_of(client.get(f"/forms/{v1.form_id}?number=1"))
    assert "Version 1 is retired" in retired


def test_saving_the_published_content_again_changes_nothing(client, auth, session, people):
    v1 = factories.create_form(session)
    session.commit()
    auth.login("admin")
    response = client.post_form(f"/forms/{v1.form_id}/edit", {
        "definition": json.dumps({"sections": v1.definition["sections"]})})
    assert response.status_code == 302 and response.location.endswith("?number=1")
    assert "Nothing changed" in page_of(client.get(response.location))
    assert versions(session, v1.form_id) == [(1, "published")]


def test_publishing_a_draft_changed_since_it_was_shown_is_refused(client, auth, session, people):
    factories.create_form(session, publish=False)
    session.commit()
    form = form_named(session, "Test form")
    auth.login("admin")
    changed = copy.deepcopy(SECTIONS)
    changed[0]["title"] = "Changed by someone else"
    client.post_form(f"/forms/{form.id}/edit", {"definition": json.dumps({"sections": changed})})
    response = publish(client, form.id, 1, version=1)  # the page showed the draft's version 1
    assert response.status_code == 302
    assert "Someone else saved this draft" in page_of(client.get(response.location))
    assert versions(session, form.id) == [(1, "draft")]


@pytest.mark.parametrize(("definition", "message"), [
    ('{"sections": [\n  {"key": "s",\n   "title" "x"}]}',
     "The JSON is not valid: Expecting &#39;:&#39; delimiter at line 3, column 12."),
    ('["not", "an", "object"]', "The JSON must be one object"),
    ('{"sections": {"key": "s"}}', "The JSON needs a list of sections"),
    (json.dumps({"sections": [{"key": "s", "questions": [
        {"key": "greet", "text": "Greets", "type": "yes_no"},
        {"key": "greet", "text": "Greets again", "type": "yes_no"}]}]}),
     "Question key &#39;greet&#39; is used twice."),
    (json.dumps({"sections": [{"key": "s", "questions": [
        {"key": "q", "text": "Essay", "type": "essay"}]}]}),
     "Question &#39;q&#39; has unknown type &#39;essay&#39;."),
])
def test_a_refused_definition_shows_why_and_keeps_the_input(client, auth, session, people,
                                                            definition, message):
    auth.login("admin")
    response = client.post_form("/forms/new", {"name": "Typed name", "description": "Typed text",
                                               "definition": definition})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in text
    assert str(escape(definition)) in text
    assert 'value="Typed name"' in text and "Typed text" in text
    assert session.scalar(select(func.count(ScoringForm.id))) == 0


def test_a_refused_edit_keeps_the_input(client, auth, session, people):
    v1 = factories.create_form(session)
    session.commit()
    auth.login("admin")
    broken = json.dumps({"sections": [{"key": "s", "weight": -1, "questions": []}]})
    response = client.post_form(f"/forms/{v1.form_id}/edit", {"definition": broken})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Section &#39;s&#39; has a negative weight." in text
    assert str(escape(broken)) in text
    assert versions(session, v1.form_id) == [(1, "published")]


def test_import_a_file_then_publish_on_import(client, auth, session, people):
    auth.login("admin")
    assert client.get("/forms/import").status_code == 200
    data = FORM_FILE.read_bytes()
    response = client.post_form("/forms/import", {"file": (io.BytesIO(data), "form.json")},
                                content_type="multipart/form-data")
    name = json.loads(data)["name"]
    form = form_named(session, name)
    assert response.status_code == 302 and response.location == f"/forms/{form.id}?number=1"
    assert versions(session, form.id) == [(1, "draft")]
    assert "Draft version 1 saved" in page_of(client.get(response.location))

    pasted = json.loads(data)
    pasted["sections"][0]["weight"] = 5
    response = client.post_form("/forms/import", {"text": json.dumps(pasted), "publish": "y"})
    assert response.status_code == 302
    assert versions(session, form.id) == [(1, "published")]  # the draft was changed in place
    assert "is published" in page_of(client.get(response.location))


@pytest.mark.parametrize(("fields", "message"), [
    ({"file": (io.BytesIO(b'{"name": "X",\n "sections": [,]}'), "bad.json")},
     "The JSON is not valid: Expecting value at line 2, column 15."),
    ({"file": (io.BytesIO(b"\xff\xfe{}"), "bad.json")}, "not UTF-8"),
    ({"file": (io.BytesIO(b"{}"), "form.exe")}, "A .json file, please."),
    ({"text": '{"sections": []}'}, "The form JSON needs a &#39;name&#39;."),
    ({"text": '{"name": "X", "sections": []}', "publish": "y"}, "at least one section"),
    ({}, "Choose a JSON file or paste the JSON."),
])
def test_import_errors_are_shown(client, auth, session, people, fields, message):
    auth.login("admin")
    response = client.post_form("/forms/import", fields, content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in text
    if "text" in fields:
        assert str(escape(fields["text"])) in text  # pasted JSON is kept
    assert session.scalar(select(func.count(ScoringForm.id))) == 0


def test_export_round_trips(client, auth, session, people):
    data = json.loads(FORM_FILE.read_text("utf-8"))
    version = factories.create_form(session, data)
    session.commit()
    auth.login("auditor")
    response = client.get(f"/forms/{version.form_id}/versions/1.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert "-v1.json" in response.headers["Content-Disposition"]
    exported = json.loads(response.data)
    assert exported["sections"] == data["sections"]
    assert (exported["name"], exported["version"], exported["status"]) == (
        data["name"], 1, "published")
    assert client.get(f"/forms/{version.form_id}/versions/2.json").status_code == 404

    auth.logout()
    auth.login("admin")
    again = client.post_form("/forms/import", {
        "file": (io.BytesIO(response.data), "export.json")}, content_type="multipart/form-data")
    assert again.status_code == 302
    assert versions(session, version.form_id) == [(1, "published")]  # the same content


def test_who_may_see_and_change_forms(client, auth, session, people):
    version = factories.create_form(session)
    session.commit()
    form_id = version.form_id
    manage_routes = ["/forms/new", f"/forms/{form_id}/edit", "/forms/import"]
    auth.login("agent.a")
    for url in manage_routes:
        assert client.get(url).status_code == 403, url
        assert client.post_form(url, {"name": "X", "definition": '{"sections": []}'},
                                page="/account").status_code == 403, url
    assert publish_without_page(client, form_id).status_code == 403
    assert client.get("/forms").status_code == 403
    auth.logout()

    auth.login("hr")
    for url in ["/forms", f"/forms/{form_id}", f"/forms/{form_id}/versions/1.json"]:
        assert client.get(url).status_code == 403, url
    auth.logout()

    auth.login("lead.a")  # may look, may not change
    assert client.get(f"/forms/{form_id}").status_code == 200
    for url in manage_routes:
        assert client.get(url).status_code == 403, url
    assert versions(session, form_id) == [(1, "published")]


def publish_without_page(client, form_id: int):
    return client.post_form(f"/forms/{form_id}/publish", {"number": 1, "version": 1},
                            page="/account")


def test_two_editors_of_one_draft_do_not_overwrite_each_other(client, auth, session, people):
    v1 = factories.create_form(session, publish=False)
    session.commit()
    auth.login("admin")
    page = page_of(client.get(f"/forms/{v1.form_id}/edit"))
    base = {name: re.search(rf'name="{name}"[^>]*value="(\d+)"', page).group(1)
            for name in ("base_number", "base_version")}
    first = copy.deepcopy(SECTIONS)
    first[0]["questions"][0]["points"] = 4
    assert client.post_form(f"/forms/{v1.form_id}/edit", {
        **base, "name": "Test form", "definition": json.dumps({"sections": first})},
        page=f"/forms/{v1.form_id}/edit").status_code == 302
    late = copy.deepcopy(SECTIONS)
    late[0]["questions"][0]["points"] = 9
    response = client.post_form(f"/forms/{v1.form_id}/edit", {
        **base, "name": "Test form", "definition": json.dumps({"sections": late})},
        page=f"/forms/{v1.form_id}/edit")
    assert response.status_code == 409
    assert '"points": 9' in html.unescape(page_of(response))  # the editor's content is kept
    session.expire_all()
    assert session.get(FormVersion, v1.id).definition["sections"][0]["questions"][0][
        "points"] == 4
