"""What every page carries (the favicon, the skip link) and two labels that read wrong before:
an unknown duration shown as "0:00", and a published version shown as "published published"."""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path

import factories
import pytest
from sqlalchemy import select

from qm.interactions.models import Interaction


def text_of(response) -> str:
    """The page's words, tags dropped and white space collapsed, as a reader hears them."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- the favicon -------------------------------------------------------------------------------

def test_favicon_ico_answers_anyone_with_an_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    data = response.get_data()
    assert data[:4] == b"\x00\x00\x01\x00"  # ICO, type 1 (icon)
    count = int.from_bytes(data[4:6], "little")
    sizes = {data[6 + 16 * i] for i in range(count)}
    assert sizes == {16, 32, 48}
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert "Content-Security-Policy" in response.headers  # the same headers as any response


def test_every_page_links_the_icons_and_they_are_served(client, auth, people):
    login = client.get("/login").get_data(as_text=True)
    links = re.findall(r'<link rel="icon" href="([^"]+)"', login)
    assert links == ["/static/qm/favicon.svg", "/favicon.ico"]
    svg = client.get(links[0])
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.get_data() and b"<script" not in svg.get_data()
    auth.login("agent.a")
    assert re.findall(r'<link rel="icon" href="([^"]+)"',
                      client.get("/interactions").get_data(as_text=True)) == links


# --- what the Content-Security-Policy refuses ------------------------------------------------

TEMPLATES = Path(__file__).parents[2] / "templates"
INLINE = re.compile(r"""\sstyle\s*=|<style\b|\son[a-z]+\s*=|<script\b(?![^>]*\bsrc=)""", re.I)


def test_no_template_relies_on_what_the_csp_refuses():
    """default-src 'self' refuses style attributes, <style> and inline script or handlers: in a
    template they silently do nothing (a note's line breaks were lost that way). Use a class in
    qm/static/qm/qm.css, or a script file."""
    found = [f"{path.relative_to(TEMPLATES)}:{n}: {line.strip()[:80]}"
             for path in sorted(TEMPLATES.rglob("*.html"))
             for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
             if INLINE.search(line)]
    assert len(list(TEMPLATES.rglob("*.html"))) > 50
    assert not found, "\n".join(found)


# --- the skip link -----------------------------------------------------------------------------

@pytest.mark.parametrize("user", [None, "agent.a", "admin"])
def test_the_skip_link_comes_first_and_points_at_the_main_content(client, auth, people, user):
    if user:
        auth.login(user)
    html = client.get("/" if user else "/login").get_data(as_text=True)
    body = html[html.index("<body>") + len("<body>"):]
    first_focusable = re.search(r"<(a|button|input|select|textarea)\b[^>]*>", body)
    assert first_focusable is not None
    assert 'href="#content"' in first_focusable.group(0)
    assert body[first_focusable.end():].startswith("Skip to content</a>")
    assert len(re.findall(r'id="content"', html)) == 1
    assert re.search(r'<main [^>]*id="content"', html)


# --- durations ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("seconds", "label"), [
    (0, "-"), (1, "0:01"), (59, "0:59"), (60, "1:00"), (754, "12:34"), (3599, "59:59"),
    (3600, "1:00:00"), (3725, "1:02:05"),
])
def test_duration_label(seconds, label):
    assert Interaction(duration_s=seconds).duration_label == label


def _wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x10" * int(seconds * rate))
    return out.getvalue()


def test_an_unknown_duration_reads_as_unknown_not_0_00(client, auth, session, people):
    """An e-mail has no length, and a recording added through the form without one has none
    yet: the list and the interaction's page say so, the calibration item's header leaves it
    out; none of them shows "0:00"."""
    call = factories.create_interaction(session, people["agent_a"], duration_s=754,
                                        customer_ref="C-CALL")
    mail = factories.create_interaction(session, people["agent_a"], channel="email",
                                        duration_s=0, body="Dear team", customer_ref="C-MAIL")
    session.commit()
    auth.login("qa")
    response = client.post_form("/interactions/new", {
        "agent": "agent.a", "channel": "voice", "direction": "inbound",
        "started_at": "2026-11-20 14:05", "duration_s": "", "queue": "billing",
        "customer_ref": "C-REC", "recording": (io.BytesIO(_wav()), "call.wav"),
    }, page="/interactions/new", content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    recorded = session.scalars(select(Interaction).where(
        Interaction.customer_ref == "C-REC")).one()
    assert recorded.recording_path and recorded.duration_s == 0

    listing = client.get("/interactions").get_data(as_text=True)
    assert "<td>0:00</td>" not in listing
    rows = {ref: _row(listing, ref) for ref in ("C-CALL", "C-MAIL", "C-REC")}
    assert "<td>12:34</td>" in rows["C-CALL"]
    assert "<td>-</td>" in rows["C-MAIL"] and "<td>-</td>" in rows["C-REC"]
    for item, label in ((call, "12:34"), (mail, "-"), (recorded, "-")):
        page = text_of(client.get(f"/interactions/{item.id}"))
        assert f"Duration {label} Customer ref" in page, item.customer_ref
        assert not re.search(r"\b0:00\b", page)  # a time of day such as 10:00 may be shown

    # The calibration item's header leaves an unknown length out.
    from scoring.calibration import services as calibration

    factories.create_form(session)
    calibrated = calibration.create_session(
        session, people["lead_a"], title="Durations", form_id=None,
        interaction_ids=[call.id, mail.id], participant_ids=[people["qa"].id, people["lead_a"].id],
        team_id=people["team_a"].id)
    session.commit()
    headers = {item.interaction_id: text_of(client.get(f"/calibration/items/{item.id}"))
               for item in calibrated.items}
    assert "Queue billing · inbound · 12:34 " in headers[call.id]
    assert "Queue billing · inbound " in headers[mail.id]
    assert "inbound · -" not in headers[mail.id] and not re.search(r"\b0:00\b", headers[mail.id])


def _row(listing: str, customer_ref: str) -> str:
    """The list's table row that holds ``customer_ref``."""
    for row in re.findall(r"<tr\b.*?</tr>", listing, flags=re.S):
        if f"<td>{customer_ref}</td>" in row:
            return row
    raise AssertionError(f"no row for {customer_ref}")


# --- a published version's wording ---------------------------------------------------------------

def test_a_published_version_reads_published_once(client, auth, session, people):
    first = factories.create_form(session)
    changed = {**factories.SIMPLE_FORM, "description": "Weighted twice."}
    changed["sections"] = [{**changed["sections"][0], "weight": 2}]
    # the same name: version 2, published; version 1 retired
    assert factories.create_form(session, changed).number == 2
    session.commit()
    auth.login("qa")
    for path in ("/forms", f"/forms/{first.form_id}?number=2"):
        page = text_of(client.get(path))
        assert "published published" not in page, path
        assert re.search(r"Version 2 published since \d{4}-\d\d-\d\d \d\d:\d\d", page), path
    listing = text_of(client.get("/forms"))
    assert re.search(r"Version 1 retired \(published \d{4}-\d\d-\d\d \d\d:\d\d\)", listing)
