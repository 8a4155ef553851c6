"""The calibration picker on the new-session page: a search (words said or written, the
agent's name, an external id) and filters (team, queue, channel, dates, flagged, evaluated)
narrow the matches; a lead sees only their teams' interactions; ticks survive a new search, as
does everything typed; the session is created with the ticked interactions; a stale or
out-of-scope tick is refused by name and loses nothing."""

from __future__ import annotations

import re

import factories
import pytest
from sqlalchemy import select

from scoring.calibration.models import CalibrationItem, CalibrationSession
from scoring.evaluations import services as ev

URL = "/calibration/new"


def _matches(page: str) -> set[int]:
    """The interactions offered for ticking (not those already picked)."""
    return {int(i) for i in re.findall(r'id="pick-(\d+)"', page)}


def _picked(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="picked-(\d+)"', page)]


@pytest.fixture
def calls(session, people):
    """Contacts of both teams, on different queues, channels and days; one chat whose words
    are searchable (a card number in it is redacted); one evaluated."""
    a, a2, b = people["agent_a"], people["agent_a2"], people["agent_b"]
    made = {
        "a_billing": factories.create_interaction(session, a, queue="billing"),
        "a_sales": factories.create_interaction(session, a2, queue="sales"),
        "a_october": factories.create_interaction(
            session, a, queue="billing", started_at="2026-10-05T10:00:00+00:00"),
        "a_chat": factories.create_interaction(
            session, a2, channel="chat", queue="billing",
            body="Customer: my broadband was charged twice, card 4111 1111 1111 1111\n"
                 "Agent: let me look"),
        "b_billing": factories.create_interaction(session, b, queue="billing"),
    }
    factories.create_form(session)
    evaluation = ev.start_evaluation(session, people["qa"], made["a_billing"])
    ev.submit(session, people["qa"], evaluation.id, {"greet": "yes", "verify": "yes"})
    session.commit()
    return made


def _ids(calls, *names):
    return {calls[n].id for n in names}


def test_each_filter_narrows_the_matches(client, auth, calls, people):
    auth.login("admin")
    everything = _matches(client.get(URL).get_data(as_text=True))
    assert everything == _ids(calls, *calls)

    def found(**args: str) -> set[int]:
        response = client.get(URL, query_string={f"find-{k}": v for k, v in args.items()})
        assert response.status_code == 200
        return _matches(response.get_data(as_text=True))

    assert found(team=str(people["team_b"].id)) == _ids(calls, "b_billing")
    assert found(queue="sales") == _ids(calls, "a_sales")
    assert found(channel="chat") == _ids(calls, "a_chat")
    assert found(date_from="2026-10-01", date_to="2026-10-31") == _ids(calls, "a_october")
    assert found(date_from="2026-11-01") == everything - _ids(calls, "a_october")
    assert found(evaluated="yes") == _ids(calls, "a_billing")
    assert found(evaluated="no") == everything - _ids(calls, "a_billing")
    # the search: the agent's name, an external id, words of the (redacted) text
    assert found(q="agent.a2") == _ids(calls, "a_sales", "a_chat")
    assert found(q=calls["b_billing"].external_id) == _ids(calls, "b_billing")
    assert found(q="BROADBAND") == _ids(calls, "a_chat")
    assert found(q="4111") == set()  # a redacted card number finds nothing
    assert found(q="100%_") == set()  # LIKE's wildcards are plain characters
    # filters combine
    assert found(queue="billing", evaluated="no", channel="voice") == _ids(
        calls, "a_october", "b_billing")
    # the evaluated column shows the score
    page = client.get(URL, query_string={"find-evaluated": "yes"}).get_data(as_text=True)
    assert "100.00" in page


def test_a_malformed_date_is_named_and_left_out(client, auth, calls):
    auth.login("admin")
    page = client.get(URL, query_string={"find-date_from": "2026-13-45",
                                         "find-queue": "sales"}).get_data(as_text=True)
    assert "Not a date (YYYY-MM-DD): this filter was left out." in page
    assert 'value="2026-13-45"' in page  # what was typed stays to be corrected
    assert _matches(page) == _ids(calls, "a_sales")  # the other filter still applies


def test_flagged_uses_the_one_definition_of_flagged(client, auth, session, people, calls):
    factories.flags_in_use(session)  # the starter rules: "cancel my account" is a phrase
    cancel = factories.create_interaction(session, people["agent_a"], channel="chat",
                                          body="Customer: please cancel my account")
    session.commit()
    auth.login("admin")
    page = client.get(URL, query_string={"find-flagged": "y"}).get_data(as_text=True)
    assert _matches(page) == {cancel.id}
    assert 'id="find-flagged"' in page and "Flagged</span>" in page
    auth.logout()
    # as on the interactions list, a model's suspicion is for those who choose what to
    # evaluate: a lead is neither offered the filter nor its column, and it is not applied
    auth.login("lead.a")
    page = client.get(URL, query_string={"find-flagged": "y"}).get_data(as_text=True)
    assert 'id="find-flagged"' not in page and "Flagged</span>" not in page
    assert cancel.id in _matches(page) and calls["a_sales"].id in _matches(page)


def test_a_lead_sees_and_picks_only_their_teams_interactions(client, auth, session, people,
                                                            calls):
    auth.login("lead.a")
    page = client.get(URL).get_data(as_text=True)
    assert _matches(page) == _ids(calls, "a_billing", "a_sales", "a_october", "a_chat")
    assert client.get(URL, query_string={"find-q": calls["b_billing"].external_id}
                      ).get_data(as_text=True).count('id="pick-') == 0
    # a tick of another team's interaction (a tampered page) is refused by name, and the
    # page keeps what was typed and ticked
    form_id = re.search(r'<option[^>]*value="(\d+)"[^>]*>Test form', page).group(1)
    response = client.post_form(URL, {
        "title": "Kept title", "form_id": form_id, "team_id": str(people["team_a"].id),
        "mode": "blind", "pick": [str(calls["a_sales"].id), str(calls["b_billing"].id)],
        "participants": [str(people["qa"].id), str(people["lead_a"].id)], "expert_id": "0"},
        page=URL)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert f"no interaction {calls['b_billing'].id} that you may see" in body
    assert 'value="Kept title"' in body
    assert _picked(body) == [calls["a_sales"].id, calls["b_billing"].id]
    assert f'data-missing="{calls["b_billing"].id}"' in body  # shown as not theirs to see
    assert session.scalar(select(CalibrationSession)) is None


def test_ticks_survive_a_search_and_create_the_session(client, auth, session, people, calls):
    auth.login("lead.a")
    page = client.get(URL).get_data(as_text=True)
    form_id = re.search(r'<option[^>]*value="(\d+)"[^>]*>Test form', page).group(1)
    typed = {"title": "Picked session", "form_id": form_id,
             "team_id": str(people["team_a"].id), "mode": "open",
             "participants": [str(people["qa"].id), str(people["lead_a"].id)],
             "expert_id": "0"}
    # tick one, then search for another: the tick and the typed title come back
    searched = client.post_form(URL, {**typed, "pick": [str(calls["a_october"].id)],
                                      "find-queue": "sales", "search": "1"}, page=URL)
    assert searched.status_code == 200
    body = searched.get_data(as_text=True)
    assert _picked(body) == [calls["a_october"].id]
    assert _matches(body) == _ids(calls, "a_sales")
    assert 'value="Picked session"' in body and 'value="sales"' in body
    assert session.scalar(select(CalibrationSession)) is None  # a search creates nothing

    # a stale tick (the interaction is gone from sight) is named on the next search too
    stale = client.post_form(URL, {**typed, "pick": ["999999"], "search": "1"}, page=URL)
    assert 'data-missing="999999"' in stale.get_data(as_text=True)

    created = client.post_form(URL, {
        **typed, "pick": [str(calls["a_october"].id), str(calls["a_sales"].id)],
        "interactions": calls["a_chat"].external_id}, page=URL)
    assert created.status_code == 302, created.get_data(as_text=True)
    calibration = session.scalar(select(CalibrationSession))
    items = session.scalars(select(CalibrationItem).where(
        CalibrationItem.session_id == calibration.id).order_by(CalibrationItem.position)).all()
    assert [i.interaction_id for i in items] == [
        calls["a_october"].id, calls["a_sales"].id, calls["a_chat"].id]
    assert calibration.title == "Picked session" and calibration.mode == "open"


def test_pages_of_matches_keep_the_ticks(client, auth, session, people):
    for _ in range(27):
        factories.create_interaction(session, people["agent_a"])
    session.commit()
    auth.login("admin")
    first = client.get(URL).get_data(as_text=True)
    on_first = _matches(first)
    assert len(on_first) == 25 and ">Older</button>" in first
    tick = min(on_first)
    second = client.post_form(URL, {"title": "", "pick": [str(tick)], "page": "2"}, page=URL)
    body = second.get_data(as_text=True)
    assert second.status_code == 200 and _picked(body) == [tick]
    assert len(_matches(body)) == 2 and not _matches(body) & on_first
    assert ">Newer</button>" in body and ">Older</button>" not in body
    # a made-up tick that is no id is named and left out, not sent to the database
    bad = client.post_form(URL, {"pick": ["abc"], "search": "1"}, page=URL)
    assert "Not interaction ids, left out: abc" in bad.get_data(as_text=True)
