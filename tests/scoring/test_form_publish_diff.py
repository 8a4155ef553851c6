"""Publishing a scoring form asks first, and says what the draft changes from the version it
replaces (issue 17): the pure difference, worked examples, and the confirmation page."""

from __future__ import annotations

import copy
import re

import factories
from sqlalchemy import select

from scoring.forms import diff, rules
from scoring.forms import services as form_services
from scoring.forms.models import FormVersion

BASE = {"sections": [
    {"key": "open", "title": "Opening", "weight": 1, "questions": [
        {"key": "greet", "text": "Greets the customer", "type": "yes_no", "points": 1}]},
    {"key": "close", "title": "Closing", "weight": 1, "questions": [
        {"key": "bye", "text": "Says goodbye", "type": "yes_no", "points": 1},
        {"key": "outcome", "text": "Outcome", "type": "single", "points": 4, "options": [
            {"value": "done", "label": "Resolved", "points": 4},
            {"value": "later", "label": "Next steps", "points": 2}]}]}]}


def _form(data):
    return rules.form_from_dict({"name": "x", **data})


def test_the_worked_example_of_the_docstring():
    draft = copy.deepcopy(BASE)
    draft["sections"][0]["weight"] = 2
    draft["sections"][0]["questions"][0].update(text="Greets the customer by name", points=2)
    assert diff.differences(_form(BASE), _form(draft)) == [
        "Section 'Opening': weight 1 changed to 2.",
        "Question 'Greets the customer' reworded: 'Greets the customer by name'.",
        "Question 'Greets the customer by name': weight 1 points changed to 2."]


def test_added_removed_critical_options_and_moves():
    draft = copy.deepcopy(BASE)
    opening, closing = draft["sections"]
    opening["questions"].append({"key": "verify", "text": "Verifies identity",
                                 "type": "yes_no", "points": 2, "critical": "form"})
    bye = closing["questions"].pop(0)
    opening["questions"].append(bye)  # moved to Opening
    closing["title"] = "Wrap-up"
    outcome = closing["questions"][0]
    outcome["options"] = [{"value": "done", "label": "Resolved now", "points": 3},
                          {"value": "never", "label": "Unresolved", "points": 0}]
    outcome["critical"] = "section"
    draft["sections"].append({"key": "extra", "title": "Extras", "weight": 0.5,
                              "questions": [{"key": "tone", "text": "Friendly tone",
                                             "type": "yes_no", "points": 1}]})
    changes = diff.differences(_form(BASE), _form(draft))
    assert changes == [
        "Question 'Verifies identity' added to section 'Opening' (2 points; failing it "
        "zeroes the whole form).",
        "Question 'Says goodbye' moved from section 'Closing' to 'Opening'.",
        "Section 'Closing' renamed to 'Wrap-up'.",
        "Question 'Outcome': failing it zeroes its section (was not critical).",
        "Question 'Outcome': option 'Resolved' renamed to 'Resolved now'.",
        "Question 'Outcome': option 'Resolved now' now gives 3 points (was 4).",
        "Question 'Outcome': option 'Unresolved' added (0 points).",
        "Question 'Outcome': option 'Next steps' removed.",
        "Section 'Extras' added (weight 0.5, 1 question(s)).",
        "Question 'Friendly tone' added to section 'Extras' (1 points).",
    ]
    back = diff.differences(_form(draft), _form(BASE))
    assert "Question 'Verifies identity' removed from section 'Opening'." in back
    assert "Section 'Extras' removed." in back
    assert diff.differences(_form(BASE), _form(copy.deepcopy(BASE))) == []
    assert diff.differences(None, _form(BASE)) == []


def _draft_of(session, data):
    v1 = factories.create_form(session)
    changed = copy.deepcopy(factories.SIMPLE_FORM)
    changed["sections"][0]["questions"][0].update(data)
    v2 = form_services.import_form(session, factories.SYSTEM, changed)
    session.commit()
    return v1, v2


def test_publishing_goes_through_a_confirmation_with_the_difference(client, auth, session,
                                                                    people):
    v1, v2 = _draft_of(session, {"text": "Greets by name", "points": 3})
    auth.login("admin")
    page = client.get(f"/forms/{v1.form_id}?number=2").get_data(as_text=True)
    assert f'action="/forms/{v1.form_id}/publish"' in page and 'method="get"' in page
    confirm = client.get(f"/forms/{v1.form_id}/publish?number=2&version={v2.version}")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "It replaces version 1" in html
    assert "Question &#39;Greets&#39; reworded: &#39;Greets by name&#39;." in html
    assert "weight 1 points changed to 3." in html and 'id="draft-changed"' not in html
    assert session.scalars(select(FormVersion.status).order_by(FormVersion.number)).all() == [
        "published", "draft"]  # looking publishes nothing
    number = re.search(r'name="number"[^>]*value="(\d+)"', html).group(1)
    version = re.search(r'name="version"[^>]*value="(\d+)"', html).group(1)
    done = client.post_form(f"/forms/{v1.form_id}/publish", {"number": number,
                                                            "version": version},
                            page=f"/forms/{v1.form_id}/publish")
    assert done.status_code == 302 and done.location.endswith(f"/forms/{v1.form_id}?number=2")
    session.expire_all()
    assert session.scalars(select(FormVersion.status).order_by(FormVersion.number)).all() == [
        "retired", "published"]


def test_a_draft_changed_meanwhile_is_refused_and_shown_again(client, auth, session, people):
    v1, v2 = _draft_of(session, {"text": "Greets by name"})
    auth.login("admin")
    seen = client.get(f"/forms/{v1.form_id}/publish").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', seen).group(1)
    shown_version = v2.version
    # Someone saves the draft again after the page was shown.
    changed = copy.deepcopy(factories.SIMPLE_FORM)
    changed["sections"][0]["questions"][0]["text"] = "Greets warmly"
    form_services.import_form(session, factories.SYSTEM, changed)
    session.commit()
    refused = client.post(f"/forms/{v1.form_id}/publish", data={
        "csrf_token": token, "number": 2, "version": shown_version}, follow_redirects=True)
    html = refused.get_data(as_text=True)
    assert "Someone else saved this draft after you opened it; nothing was written." in html
    assert "reworded: &#39;Greets warmly&#39;." in html  # the confirmation, as it is now
    session.expire_all()
    assert session.scalars(select(FormVersion.status).order_by(FormVersion.number)).all() == [
        "published", "draft"]
    stale_view = client.get(f"/forms/{v1.form_id}/publish?number=2&version={shown_version}")
    assert 'id="draft-changed"' in stale_view.get_data(as_text=True)


def test_the_first_version_and_no_draft(client, auth, session, people):
    first = factories.create_form(session, publish=False)
    session.commit()
    auth.login("admin")
    html = client.get(f"/forms/{first.form_id}/publish").get_data(as_text=True)
    assert "first version: no version is replaced" in html
    client.post_form(f"/forms/{first.form_id}/publish", {"number": 1, "version": first.version},
                     page=f"/forms/{first.form_id}/publish")
    nothing = client.get(f"/forms/{first.form_id}/publish", follow_redirects=True)
    assert "has no draft to publish" in nothing.get_data(as_text=True)
    auth.logout()
    auth.login("lead.a")
    assert client.get(f"/forms/{first.form_id}/publish").status_code == 403
