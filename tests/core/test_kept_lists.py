"""Lists a page offers on every request and that change seldom (the agents of the interactions
filter) are kept a while per app (``qm.web.kept``): a change committed in the same process
shows at once; one the process cannot see (another worker, the command line, a bulk update)
within ``LIST_TTL_S``."""

from __future__ import annotations

from typing import Any

import factories
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from qm import web
from qm.auth.models import Team, User
from qm.db import change_version, kept_while


def filter_options(client: Any, select_id: str) -> str:
    """The options of one filter of the interactions list."""
    html = client.get("/interactions").get_data(as_text=True)
    start = html.index(f'id="{select_id}"')
    return html[start:html.index("</select>", start)]


def agent_options(client: Any) -> str:
    return filter_options(client, "f-agent")


def team_options(client: Any) -> str:
    return filter_options(client, "f-team")


def test_an_agent_added_or_renamed_in_this_process_is_offered_at_once(
        client: Any, auth: Any, session: Session, people: dict[str, Any]) -> None:
    auth.login("admin")
    assert "agent.a2" in agent_options(client) and "agent.new" not in agent_options(client)
    factories.create_user(session, "agent.new", team=people["team_a"])
    session.commit()
    assert "agent.new" in agent_options(client)
    people["agent_b"].display_name = "Bea Renamed"
    session.commit()
    assert "Bea Renamed (agent.b)" in agent_options(client)


def test_a_change_this_process_did_not_see_shows_after_the_time_kept(
        client: Any, auth: Any, session: Session, people: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    auth.login("admin")
    assert "Agent Unseen" not in agent_options(client)
    # as another worker or a bulk import would: no ORM flush in this process sees it
    session.execute(update(User).where(User.id == people["agent_a"].id)
                    .values(display_name="Agent Unseen"))
    session.commit()
    assert "Agent Unseen" not in agent_options(client)  # kept
    monkeypatch.setattr(web, "LIST_TTL_S", 0.0)
    assert "Agent Unseen (agent.a)" in agent_options(client)


def test_each_scope_keeps_its_own_list(client: Any, auth: Any,
                                       people: dict[str, Any]) -> None:
    auth.login("admin")
    assert "agent.b" in agent_options(client)
    auth.logout()
    auth.login("lead.a")
    options = agent_options(client)
    assert "agent.a2" in options and "agent.b" not in options


def test_the_team_filter_is_kept_too_and_a_new_team_shows_at_once(
        client: Any, auth: Any, session: Session, people: dict[str, Any]) -> None:
    auth.login("admin")
    assert "Team A" in team_options(client) and "Team C" not in team_options(client)
    factories.create_team(session, "Team C")
    session.commit()
    assert "Team C" in team_options(client)
    auth.logout()
    auth.login("lead.a")  # one team only: no filter to offer
    assert 'id="f-team"' not in client.get("/interactions").get_data(as_text=True)


@pytest.mark.parametrize("root", ["", "/qm"])
def test_a_lists_row_links_are_url_for_s_own(app: Any, root: str) -> None:
    """``id_href`` builds a row's link once and puts each id in it: the same links as
    ``url_for``, behind a proxy's prefix too; what is not a plain id goes to ``url_for``."""
    from flask import url_for

    with app.test_request_context("/", base_url=f"http://example.org{root}/"):
        href = web.id_href("evaluations.evaluation", "evaluation_id")
        for value in (0, 1, 9, 10, 4711, 2**40):
            want = url_for("evaluations.evaluation", evaluation_id=value)
            assert href(value) == want and want.startswith(f"{root}/evaluations/")
        interaction = web.id_href("interactions.interaction", "interaction_id")
        assert interaction(12) == url_for("interactions.interaction", interaction_id=12)
        for other in (-3, True):  # not a plain id: whatever url_for makes of it
            assert href(other) == url_for("evaluations.evaluation", evaluation_id=other)


def test_a_pages_fixed_links_are_kept_per_script_root(app: Any) -> None:
    """``fixed_url`` gives ``url_for``'s link, built once per script root: a page served
    behind a proxy's prefix never gets the links of one served without it."""
    from flask import url_for

    for root in ("", "/qm", "", "/other"):
        with app.test_request_context("/", base_url=f"http://example.org{root}/"):
            for endpoint, values in (("static", {"filename": "qm/qm.css"}),
                                     ("auth.logout", {}), ("core.index", {})):
                want = url_for(endpoint, **values)
                assert web.fixed_url(endpoint, **values) == want
                assert want.startswith(f"{root}/")
    kept = app.extensions["qm"]["fixed_urls"]
    assert {key[0] for key in kept} == {"", "/qm", "/other"} and len(kept) == 9


def test_kept_while_rebuilds_on_a_new_version_or_after_the_time_and_keeps_only_what_it_may(
        ) -> None:
    store: dict[Any, Any] = {}
    built: list[int] = []

    def build() -> int:
        built.append(len(built))
        return built[-1]

    def keep(key: Any, version: int = 1, ttl_s: float = 60.0, **kw: Any) -> int:
        return kept_while(store, key, build, version=version, ttl_s=ttl_s, limit=2, **kw)

    assert keep("a") == 0 and keep("a") == 0          # reused
    assert keep("a", version=2) == 1                    # a commit changed what it is made of
    assert keep("a", version=2, ttl_s=0.0) == 2         # the time kept is over
    assert keep("b", version=2) == 3 and len(store) == 2
    assert keep("c") == 4 and list(store) == ["c"]      # full: the old keys went all at once
    assert keep("d", may_keep=lambda: False) == 5 and "d" not in store
    assert keep("d", may_keep=lambda: False) == 6       # a transaction that wrote keeps nothing


def test_a_commit_after_a_savepoints_rollback_still_counts_the_transactions_changes(
        session: Session) -> None:
    """A savepoint rolled back undoes some of the transaction's changes, not the changes
    before it: those still commit, so what is kept of them must be built afresh."""
    before = change_version(Team)
    factories.create_team(session, "Kept Team One")
    session.flush()
    savepoint = session.begin_nested()
    factories.create_team(session, "Kept Team Two")
    session.flush()
    savepoint.rollback()
    session.commit()
    assert change_version(Team) > before
    before = change_version(Team)
    factories.create_team(session, "Kept Team Three")
    session.flush()
    session.rollback()  # the whole transaction: nothing of it was committed
    session.commit()
    assert change_version(Team) == before
