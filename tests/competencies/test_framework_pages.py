"""HR keeps competency frameworks from the web: a new framework, the draft editor (a published
version is never changed: a save makes the next draft; a stale editor loses nothing), publishing,
and the JSON import; an agent reads, never writes."""

from __future__ import annotations

import copy
import io
import json
import re

import factories
import pytest
from sqlalchemy import func, select

from competencies.frameworks import services
from competencies.frameworks.models import CompetencyFramework, FrameworkVersion
from qm import audit
from qm.audit import AuditEntry

FRAMEWORK = {
    "name": "Agent competencies",
    "description": "What our agents need",
    "scale": ["none", "aware", "practising", "competent", "expert"],
    "groups": [
        {"code": "6.3.2", "competencies": [
            {"code": "COM-1", "name": "Listening", "description": "Hears the customer out",
             "indicators": {"1": "Lets the customer finish", "3": "Summarises the need"}}]},
        {"code": "6.3.4", "competencies": [
            {"code": "ACME-1", "name": "Acme returns", "client": "Acme"}]},
    ],
}


@pytest.fixture
def published(session, people):
    version = services.import_framework(session, factories.SYSTEM, FRAMEWORK, publish=True)
    session.commit()
    return version.framework


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', page)
    assert match, f"no field {name}"
    return match.group(1)


def _fields(page: str) -> dict[str, str]:
    """The editor's fields as the browser would post them (text inputs, textareas, selects)."""
    out = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        out[name] = value
    for name in re.findall(r'<input[^>]*name="([^"]+)"(?![^>]*value=)[^>]*>', page):
        out.setdefault(name, "")
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>\r?\n?([^<]*)</textarea>',
                                 page):
        out[name] = text
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page,
                                    re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', options) or re.search(
            r'<option value="([^"]*)" selected', options)
        out[name] = chosen.group(1) if chosen else ""
    return {k: v.replace("&#39;", "'").replace("&amp;", "&") for k, v in out.items()}


def _versions(session, framework_id):
    session.expire_all()
    return session.scalars(select(FrameworkVersion).where(
        FrameworkVersion.framework_id == framework_id).order_by(FrameworkVersion.number)).all()


def test_hr_sees_the_manage_pages_and_an_agent_cannot_write(client, auth, published):
    auth.login("hr")
    listing = client.get("/competencies").get_data(as_text=True)
    assert "New framework" in listing and "Import JSON" in listing
    for url in ("/competencies/new", "/competencies/import", f"/competencies/{published.id}/edit",
                f"/competencies/{published.id}"):
        assert client.get(url).status_code == 200, url
    page = client.get(f"/competencies/{published.id}").get_data(as_text=True)
    assert "Edit (makes a new draft)" in page and 'id="versions"' in page
    assert "Publish draft" not in page  # nothing to publish
    auth.logout()
    auth.login("agent.a")
    listing = client.get("/competencies")
    assert listing.status_code == 200 and "New framework" not in listing.get_data(as_text=True)
    assert "Edit" not in client.get(f"/competencies/{published.id}").get_data(as_text=True)
    for url in ("/competencies/new", "/competencies/import", f"/competencies/{published.id}/edit"):
        assert client.get(url).status_code == 403, url
        assert client.post_form(url, {"action": "save"}, page="/competencies").status_code == 403
    assert client.post_form(f"/competencies/{published.id}/publish", {"number": 1, "version": 1},
                            page="/competencies").status_code == 403
    assert client.get("/competencies/999/edit").status_code == 403  # the permission comes first
    auth.logout()
    auth.login("hr")
    assert client.get("/competencies/999/edit").status_code == 404


def test_a_new_framework_from_the_web(client, auth, session, people):
    auth.login("hr")
    form = {"action": "save", "name": "Web framework", "description": "Made on the page",
            "scale-0": "none", "scale-1": "basic", "scale-2": "good", "scale-3": "",
            "competencies-0-code": "LIS-1", "competencies-0-name": "Listening",
            "competencies-0-group": "6.3.2", "competencies-0-indicators-0": "Lets them finish",
            "competencies-0-indicators-1": "",
            "competencies-1-code": "SYS-1", "competencies-1-name": "CRM",
            "competencies-1-group": "6.3.3", "competencies-1-description": "Finds the record",
            "competencies-2-code": "", "competencies-2-name": "", "competencies-2-group": "6.3.2"}
    response = client.post_form("/competencies/new", form)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Web framework: draft version 1 saved" in page and "Publish draft" in page
    framework = session.scalar(select(CompetencyFramework))
    assert framework.name == "Web framework" and framework.description == "Made on the page"
    (version,) = _versions(session, framework.id)
    assert (version.number, version.status) == (1, "draft")
    assert version.definition == {"scale": ["none", "basic", "good"], "groups": [
        {"code": "6.3.2", "competencies": [{"code": "LIS-1", "name": "Listening",
                                            "indicators": {"1": "Lets them finish"}}]},
        {"code": "6.3.3", "competencies": [{"code": "SYS-1", "name": "CRM",
                                            "description": "Finds the record"}]}]}
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions[-2:] == ["competency_framework.created", "competency_framework_version.created"]
    # the same name again is refused in words, nothing written
    again = client.post_form("/competencies/new", form)
    assert again.status_code == 409
    assert "A framework named &#39;Web framework&#39; exists already" in again.get_data(
        as_text=True)
    assert session.scalar(select(func.count(CompetencyFramework.id))) == 1


@pytest.mark.parametrize("change, sentence", [
    ({"competencies-1-code": "LIS-1"}, "competency code &#39;LIS-1&#39; is used twice."),
    ({"scale-2": ""}, "indicator level 2 is off the scale 1 to 1."),
    ({"competencies-1-name": ""}, "competency SYS-1: name must be a non-empty text."),
    ({"competencies-1-client": "Acme"}, "only client-specific (6.3.4) competencies name a client"),
    ({"name": ""}, "A framework needs a &#39;name&#39; of 1 to 120 characters."),
    ({"competencies-0-code": "", "competencies-0-name": "", "competencies-0-indicators-1": "",
      "competencies-1-code": "", "competencies-1-name": ""}, "must list the clause 6.3 groups"),
])
def test_a_bad_new_framework_is_a_sentence_and_writes_nothing(client, auth, session, people,
                                                              change, sentence):
    auth.login("hr")
    form = {"action": "save", "name": "Web framework", "scale-0": "none", "scale-1": "basic",
            "scale-2": "good", "competencies-0-code": "LIS-1",
            "competencies-0-name": "Listening", "competencies-0-group": "6.3.2",
            "competencies-0-indicators-0": "", "competencies-0-indicators-1": "Summarises",
            "competencies-1-code": "SYS-1",
            "competencies-1-name": "CRM", "competencies-1-group": "6.3.3", **change}
    response = client.post_form("/competencies/new", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert sentence in page
    assert 'value="Listening"' in page or change.get("competencies-0-name") == ""
    assert session.scalar(select(func.count(CompetencyFramework.id))) == 0
    assert session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action.like("competency_framework%"))) == 0


def test_editing_a_published_version_makes_a_draft_then_publish(client, auth, session,
                                                                 published):
    auth.login("hr")
    url = f"/competencies/{published.id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert "saving creates draft version 2" in page
    form = _fields(page)
    assert form["competencies-0-code"] == "COM-1" and form["competencies-1-group"] == "6.3.4"
    assert form["competencies-0-indicators-2"] == "Summarises the need"
    assert (form["base_number"], form["base_version"]) == ("1", "2")
    form.update({"action": "save", "competencies-0-name": "Active listening",
                 "competencies-0-indicators-3": "Coaches others"})
    response = client.post_form(url, form)
    assert response.status_code == 302
    first, second = _versions(session, published.id)
    assert (first.status, second.number, second.status) == ("published", 2, "draft")
    original = {k: v for k, v in FRAMEWORK.items() if k in ("scale", "groups")}
    assert first.definition == original  # a published version is frozen
    changed = second.definition["groups"][0]["competencies"][0]
    assert changed["name"] == "Active listening"
    assert changed["indicators"] == {"1": "Lets the customer finish", "3": "Summarises the need",
                                     "4": "Coaches others"}
    # the framework's page shows the published version and points at the draft
    page = client.get(f"/competencies/{published.id}").get_data(as_text=True)
    assert "Draft version 2 is not published yet" in page
    draft_page = client.get(f"/competencies/{published.id}?number=2").get_data(as_text=True)
    assert "Publish draft" in draft_page and "Active listening" in draft_page
    publish = {"number": _hidden(draft_page, "number"), "version": _hidden(draft_page, "version")}
    done = client.post_form(f"/competencies/{published.id}/publish", publish,
                            page=f"/competencies/{published.id}?number=2")
    assert done.status_code == 302
    assert "Version 2 published" in client.get(done.location).get_data(as_text=True)
    first, second = _versions(session, published.id)
    assert (first.status, second.status) == ("retired", "published")
    actions = session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("competency_framework%")).order_by(AuditEntry.seq)).all()
    assert actions[-3:] == ["competency_framework_version.created",
                            "competency_framework_version.retired",
                            "competency_framework_version.published"]
    assert audit.verify(session).ok


def test_a_stale_editor_is_refused_and_keeps_its_input(client, auth, session, published):
    auth.login("hr")
    url = f"/competencies/{published.id}/edit"
    form = _fields(client.get(url).get_data(as_text=True))
    mine = {**form, "action": "save", "competencies-0-name": "My careful wording"}
    theirs = {**form, "action": "save", "competencies-0-name": "Their wording"}
    assert client.post_form(url, theirs).status_code == 302
    response = client.post_form(url, mine)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else saved this framework draft after you opened it" in page
    assert 'value="My careful wording"' in page
    versions = _versions(session, published.id)
    assert len(versions) == 2
    assert versions[1].definition["groups"][0]["competencies"][0]["name"] == "Their wording"
    # saving the draft again from a fresh editor works, in place
    fresh = _fields(client.get(url).get_data(as_text=True))
    assert fresh["base_number"] == "2"
    assert client.post_form(url, {**fresh, "action": "save",
                                  "competencies-0-name": "My careful wording"}).status_code == 302
    versions = _versions(session, published.id)
    assert len(versions) == 2
    assert versions[1].definition["groups"][0]["competencies"][0]["name"] == "My careful wording"
    # publishing a draft that changed since the page was loaded is refused
    stale = client.post_form(f"/competencies/{published.id}/publish",
                             {"number": 2, "version": 1}, page=url)
    assert stale.status_code == 302
    assert "Someone else saved" in client.get(stale.location).get_data(as_text=True)
    assert _versions(session, published.id)[1].status == "draft"


def test_the_editors_buttons_add_and_remove_rows_without_saving(client, auth, session,
                                                                published):
    auth.login("hr")
    url = f"/competencies/{published.id}/edit"
    form = _fields(client.get(url).get_data(as_text=True))
    added = client.post_form(url, {**form, "action": "add-6.3.3", "scale-5": "master"})
    page = added.get_data(as_text=True)
    assert added.status_code == 200
    group = page[page.index('id="group-6.3.3"'):page.index('id="group-6.3.4"')]
    assert 'name="competencies-2-code"' in group
    assert 'name="competencies-0-indicators-4"' in page  # a box for the new level 5
    assert 'name="scale-6"' in page  # and a blank one for one more
    removed = client.post_form(url, {**form, "action": "remove-0"}).get_data(as_text=True)
    assert 'value="COM-1"' not in removed and 'value="ACME-1"' in removed
    assert len(_versions(session, published.id)) == 1  # nothing saved
    # a row number that is a digit only to Unicode ("²") or out of range removes nothing
    for odd in ("remove-\u00b2", "remove-99", "remove-x"):
        kept = client.post_form(url, {**form, "action": odd})
        assert kept.status_code == 200 and 'value="COM-1"' in kept.get_data(as_text=True)


def test_importing_json_from_the_page(client, auth, session, people):
    auth.login("hr")

    def upload(body: bytes, **extra):
        return client.post_form("/competencies/import",
                                {"file": (io.BytesIO(body), "framework.json"), **extra},
                                page="/competencies/import",
                                content_type="multipart/form-data")

    bad = copy.deepcopy(FRAMEWORK)
    bad["groups"][0]["competencies"][0]["indicators"] = {"7": "Too high"}
    for body, sentence in [
        (b"{not json", "The file is not valid JSON: Expecting property name enclosed in double "
                       "quotes at line 1, column 2."),
        (b"\xff\xfe{}", "The file is not UTF-8 text"),
        (json.dumps(bad).encode(), "competency COM-1: indicator level 7 is off the scale 1 to 4."),
        (json.dumps({"groups": []}).encode(), "A framework needs a &#39;name&#39;"),
        (b'{"name": "x\\u0000y", "groups": []}', "NUL character"),
    ]:
        response = upload(body)
        assert response.status_code == 400, sentence
        assert sentence in response.get_data(as_text=True)
    assert session.scalar(select(func.count(CompetencyFramework.id))) == 0
    response = upload(json.dumps(FRAMEWORK).encode(), publish="y")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Agent competencies: version 1 is published" in page and "Acme returns" in page
    framework = session.scalar(select(CompetencyFramework))
    (version,) = _versions(session, framework.id)
    assert version.status == "published"
    # the same file again changes nothing; a changed file is the next draft
    again = upload(json.dumps(FRAMEWORK).encode())
    assert "nothing changed" in client.get(again.location).get_data(as_text=True)
    changed = copy.deepcopy(FRAMEWORK)
    changed["groups"][0]["competencies"][0]["name"] = "Hearing"
    assert upload(json.dumps(changed).encode()).status_code == 302
    assert [(v.number, v.status) for v in _versions(session, framework.id)] == [
        (1, "published"), (2, "draft")]
    missing = client.post_form("/competencies/import", {}, page="/competencies/import",
                               content_type="multipart/form-data")
    assert missing.status_code == 400 and "Choose a JSON file." in missing.get_data(as_text=True)
