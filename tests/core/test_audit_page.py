"""The audit log's page: changes in words, filters, paging, the CSV export and "verify the chain".

The worked examples of ``qm.auditview`` first (pure), then the page on a real database through
the real test client.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import factories
import pytest
from sqlalchemy import func, select, text

from qm import audit, auditview
from qm.audit import AuditEntry
from qm.auditview import SHORT, changes, parse_anchor, parse_filter, reference_kind, referenced
from qm.auth import services as auth_services
from qm.auth.permissions import SystemActor


def lines(before, after, names=None, zone="UTC"):
    """Each change as a line, values whole (a long one is cut on the line itself)."""
    def whole(value):
        return value.full if value.cut else value.text

    return [f"{c.field}: {whole(c.after)}" if c.before is None
            else f"{c.field}: {whole(c.before)} → {whole(c.after)}"
            for c in changes(before, after, names, zone)]


# --- changes in words (worked examples) --------------------------------------------------------

def test_an_update_shows_only_the_fields_that_changed_none_to_a_named_team():
    before = {"id": 8, "username": "agent1", "team_id": None, "active": True, "version": 1}
    after = {"id": 8, "username": "agent1", "team_id": 1, "active": True, "version": 2}
    assert lines(before, after, {("teams", 1): "Billing"}) == ["team_id: none → Billing (#1)"]


def test_an_id_nobody_could_name_stays_the_id():
    names = {("users", 8): "Amira Haddad"}
    assert lines({"agent_id": 7}, {"agent_id": 8}, names) == ["agent_id: 7 → Amira Haddad (#8)"]
    # created_by_id, released_by_id...: every *_by_id is a person
    assert lines({"released_by_id": None}, {"released_by_id": 8}, names) == [
        "released_by_id: none → Amira Haddad (#8)"]


def test_a_dict_of_answers_reads_as_key_value_pairs():
    assert lines({"answers": {}, "status": "assigned"},
                 {"answers": {"greeting": "yes", "verify": "no"}, "status": "submitted"}) == [
        "answers: empty → greeting: yes, verify: no", "status: assigned → submitted"]


def test_a_revised_answer_is_named_by_its_key():
    before = {"answers": {"greeting": "yes", "verify": "no", "empathy": "3"}}
    after = {"answers": {"greeting": "yes", "verify": "yes", "empathy": "4"}}
    assert lines(before, after) == ["answers.verify: no → yes", "answers.empathy: 3 → 4"]


def test_a_creation_lists_the_fields_it_set_without_the_empty_ones():
    after = {"id": 1, "name": "Billing", "description": "", "active": True, "created_at": None,
             "version": 1, "lead_ids": [4, 99]}
    result = changes(None, after, {("users", 4): "Lee Lead"})
    assert [c.line for c in result] == ["name: Billing", "active: yes",
                                        "lead_ids: [Lee Lead (#4), 99]"]
    assert all(c.before is None for c in result)


def test_nested_references_lists_and_dicts_read_compactly():
    names = {("teams", 2): "Retention", ("users", 8): "Amira Haddad"}
    after = {"audience": {"all_agents": False, "team_ids": [2], "user_ids": [8]},
             "critical_reasons": ["Compliance: disclosure"]}
    assert lines({"audience": None, "critical_reasons": []}, after, names) == [
        "audience: none → all_agents: no, team_ids: [Retention (#2)], "
        "user_ids: [Amira Haddad (#8)]",
        "critical_reasons: empty → [Compliance: disclosure]"]
    scores = [{"item": 1, "evaluator_id": 8, "answers": {"greeting": "yes"}}]
    assert lines(None, {"scores": scores}, names) == [
        "scores: [{item: 1, evaluator_id: Amira Haddad (#8), answers: {greeting: yes}}]"]


def test_a_digest_of_personal_text_is_one_value_not_its_parts():
    old = {"sha256": "ab" * 32, "chars": 385}
    new = {"sha256": "cd" * 32, "chars": 400}
    assert lines({"body": old}, {"body": new}) == [
        "body: text of 385 characters (sha256 abababab…) → text of 400 characters "
        "(sha256 cdcdcdcd…)"]


def test_a_long_text_is_cut_and_kept_whole_for_the_details():
    note = "Identity checks skipped on two calls; " * 10
    (change,) = changes({"notes": ""}, {"notes": note})
    assert change.before.text == "empty"
    assert change.after.cut and len(change.after.text) <= SHORT
    assert change.after.text.endswith("…") and change.after.full == note


def test_a_utc_time_is_shown_in_the_viewers_zone_with_the_stored_value_on_hover():
    stored = "2026-03-01T12:00:00.000000+00:00"
    (change,) = changes({"released_at": None}, {"released_at": stored}, zone="Europe/Paris")
    assert change.line == "released_at: none → 2026-03-01 13:00"
    assert change.after.full == stored and not change.after.cut


def test_a_deletion_shows_what_was_there():
    assert lines({"id": 3, "day": "2026-12-25", "name": "Christmas"}, None) == [
        "day: 2026-12-25 → none", "name: Christmas → none"]


def test_referenced_gathers_the_ids_of_the_changed_fields_only():
    before = {"agent_id": 5, "team_id": 1, "evaluator_id": 2, "targeted": True}
    after = {"agent_id": 6, "team_id": 1, "evaluator_id": 2, "targeted": False,
             "audience": {"team_ids": [3], "user_ids": [9]}, "lead_ids": [7]}
    assert referenced(before, after) == {("users", 5), ("users", 6), ("teams", 3),
                                         ("users", 9), ("users", 7)}
    assert referenced(None, {"id": 4, "score": 80, "active": True}) == set()


def test_every_reference_to_a_person_or_a_team_in_the_models_is_named(app):
    from qm.db import Base

    unnamed = [f"{table.name}.{column.name}"
               for table in Base.metadata.sorted_tables for column in table.columns
               for fk in column.foreign_keys
               if fk.column.table.name in ("users", "teams")
               and reference_kind(column.name) != fk.column.table.name]
    assert not unnamed, f"add these fields to qm.auditview's USER_FIELDS or TEAM_FIELDS: {unnamed}"
    assert reference_kind("score") is None and reference_kind("interaction_id") is None


def test_filters_parse_days_in_the_viewers_zone():
    wanted = parse_filter({"from": "2026-03-01", "to": "2026-03-01", "action": " user. "},
                          "Europe/Paris")
    assert wanted.start == dt.datetime(2026, 2, 28, 23, 0, tzinfo=dt.UTC)
    assert wanted.end == dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC)
    assert wanted.action_is_prefix and wanted.params() == {
        "from": "2026-03-01", "to": "2026-03-01", "action": "user."}
    for args, message in [({"from": "31/03/2026"}, "is not a day"),
                          ({"to": "2026-02-30"}, "is not a day"),
                          ({"from": "1900-01-01"}, "out of range"),
                          ({"from": "2026-03-02", "to": "2026-03-01"}, "is after the to date"),
                          ({"entity_id": "9" * 65}, "longer than any stored value")]:
        with pytest.raises(ValueError, match=message):
            parse_filter(args)


def test_a_date_field_only_gets_back_a_real_day():
    assert auditview.as_day(" 2026-03-01 ") == "2026-03-01"
    assert auditview.as_day("2026-13-01") == auditview.as_day(None) == ""


def test_an_anchor_is_seq_colon_the_whole_hash():
    assert parse_anchor(" 12:" + "AB" * 32 + " ") == (12, "ab" * 32)
    for bad in ("12", "12:abc", "x:" + "ab" * 32, "0:" + "ab" * 32):
        with pytest.raises(ValueError, match="SEQ:HASH"):
            parse_anchor(bad)


def test_actions_are_grouped_by_their_prefix():
    assert auditview.action_groups(["user.updated", "evaluation.created", "user.created",
                                    "misc"]) == [
        ("", ["misc"]), ("evaluation.", ["evaluation.created"]),
        ("user.", ["user.created", "user.updated"])]


# --- the page ----------------------------------------------------------------------------------

ROW = re.compile(
    r'<tr>\s*<td>(\d+)</td>\s*<td class="text-nowrap"><time[^>]*>[^<]*</time></td>\s*'
    r'<td class="text-nowrap">([^<]*)</td>\s*<td class="text-nowrap">([^<]*)</td>\s*'
    r'<td class="text-nowrap">(.*?)</td>\s*<td class="history-change">(.*?)</td>\s*</tr>',
    re.S)


def rows(response):
    """(seq, actor, action, record cell, changes cell) of each entry on the page."""
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return [(int(m[1]), m[2], m[3], m[4], m[5]) for m in ROW.finditer(response.get_data(True))]


def plain(html):
    """The text a reader sees: blocks (div, td, p) apart, inline tags gone."""
    spaced = re.sub(r"</?(div|td|th|p|tr)\b[^>]*>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", spaced)).strip()


def change_lines(cell):
    """The lines of a changes cell, as read (short values: no details element inside)."""
    return [plain(line) for line in re.findall(r'<div class="audit-change">(.*?)</div>', cell)]


@pytest.fixture
def log(session, people):
    """people's creation (by the test's system actor), then admin's changes and an interaction."""
    admin = people["admin"]
    auth_services.update_user(session, admin, people["hr"].id, team_id=people["team_b"].id)
    auth_services.update_user(session, admin, people["qa"].id, display_name="Quinn Assessor")
    interaction = factories.create_interaction(session, people["agent_a"])
    session.commit()
    return {"interaction": interaction}


def test_the_whole_log_is_for_those_with_audit_view(client, auth, session, people, log):
    auth.login("agent.a")
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    token = client.csrf_token("/account")
    assert client.post("/audit/verify", data={"csrf_token": token}).status_code == 403
    auth.logout()
    auth.login("auditor")
    assert rows(client.get("/audit"))
    response = client.post_form("/audit/verify", page="/audit")
    assert "The chain is intact" in response.get_data(as_text=True)
    assert client.get("/audit/export.csv").status_code == 200


def test_each_filter_narrows_the_log(client, auth, session, people, log):
    auth.login("auditor")
    everything = rows(client.get("/audit"))
    assert {r[2] for r in everything} >= {"user.created", "user.updated", "team.created",
                                           "interaction.created"}

    updated = rows(client.get("/audit?action=user.updated"))
    assert len(updated) == 2 and {r[2] for r in updated} == {"user.updated"}
    prefix = rows(client.get("/audit?action=user."))
    assert {r[2] for r in prefix} == {"user.created", "user.updated"}
    assert len(prefix) == len([r for r in everything if r[2].startswith("user.")])

    by_admin = rows(client.get("/audit?actor=admin"))
    assert len(by_admin) >= 2 and {r[1] for r in by_admin} == {"admin"}
    by_system = rows(client.get("/audit?actor=system"))  # no user: here the tests' "test" actor
    assert by_system and {r[1] for r in by_system} == {"test"}
    by_auditor = rows(client.get("/audit?actor=auditor"))
    assert [r[2] for r in by_auditor] == ["auth.login"]  # logging in to read it
    assert len(by_admin) + len(by_system) + len(by_auditor) == len(everything)

    teams = rows(client.get("/audit?entity_type=teams"))
    assert len(teams) == 2 and all(r[3].startswith('<a href="/teams/') for r in teams)
    hr = people["hr"].id
    one = rows(client.get(f"/audit?entity_type=users&entity_id={hr}"))
    assert [r[2] for r in one] == ["user.updated", "user.created"]

    combined = rows(client.get(f"/audit?actor=admin&action=user.updated&entity_id={hr}"))
    assert len(combined) == 1 and "team_id" in combined[0][4]
    assert rows(client.get("/audit?actor=nobody")) == []

    today = dt.datetime.now(dt.UTC).date()
    day = dt.timedelta(days=1)
    assert len(rows(client.get(f"/audit?from={today - day}&to={today + day}"))) == \
        len(everything)
    assert rows(client.get(f"/audit?from={today + day * 2}")) == []
    assert rows(client.get(f"/audit?to={today - day * 2}")) == []


def test_days_are_the_viewers_days(client, auth, session, people, log):
    auth_services.update_user(session, people["admin"], people["auditor"].id,
                              timezone="Pacific/Auckland")
    session.commit()
    seq = session.scalar(select(func.max(AuditEntry.seq)))
    # 11:30 UTC on 1 March is 00:30 on 2 March in Auckland (UTC+13 in summer)
    session.execute(text("UPDATE audit_log SET at = '2026-03-01 11:30:00.000000' WHERE seq = :s"),
                    {"s": seq})
    session.commit()
    auth.login("auditor")
    assert [r[0] for r in rows(client.get("/audit?from=2026-03-02&to=2026-03-02"))] == [seq]
    assert rows(client.get("/audit?from=2026-03-01&to=2026-03-01")) == []
    page = client.get("/audit?from=2026-03-02&to=2026-03-02").get_data(as_text=True)
    assert "2026-03-02 00:30" in page and "Pacific/Auckland" in page


@pytest.mark.parametrize("query, words", [
    ("from=31/03/2026", "The from date &#39;31/03/2026&#39; is not a day"),
    ("to=2026-13-01", "is not a day"),
    ("from=2026-03-02&to=2026-03-01", "is after the to date"),
    ("before=x", "must be a whole number"),
    ("entity_id=" + "1" * 70, "longer than any stored value"),
])
def test_bad_input_is_a_400_in_words(client, auth, people, query, words):
    auth.login("auditor")
    response = client.get(f"/audit?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert words in page
    assert 'name="from"' in page and "Nothing shown: correct the filters above." in page
    if query.startswith("from=31"):  # what no date field can show is left out of it
        assert 'name="from" value=""' in page
    # the export has no pages: "before" means nothing there
    expected = 200 if query.startswith("before=") else 400
    assert client.get(f"/audit/export.csv?{query}").status_code == expected


def test_paging_keeps_the_filters(client, auth, session, people, log, monkeypatch):
    import qm.views

    monkeypatch.setattr(qm.views, "AUDIT_PAGE", 3)
    auth.login("auditor")
    expected = [e.seq for e in session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("user.%"),
                                 AuditEntry.actor_name == "test")
        .order_by(AuditEntry.seq.desc()))]
    assert len(expected) > 6  # three pages at least
    seen, url, pages = [], "/audit?action=user.&actor=test", 0
    while url:
        response = client.get(url)
        page_rows = rows(response)
        assert {r[2].split(".")[0] for r in page_rows} == {"user"}
        assert {r[1] for r in page_rows} == {"test"}
        seen += [r[0] for r in page_rows]
        older = re.search(r'href="([^"]+)">Older entries', response.get_data(as_text=True))
        url = older[1].replace("&amp;", "&") if older else None
        if url:
            assert "action=user." in url and "actor=test" in url and "before=" in url
        pages += 1
        if pages > 1:
            assert "Newest entries" in response.get_data(as_text=True)
    assert seen == expected and pages == -(-len(expected) // 3)


def test_changes_on_the_page_are_readable(client, auth, session, people, log):
    team_b, hr = people["team_b"], people["hr"]
    audit.record(session, factories.SYSTEM, "evaluation.revised", entity_type="evaluations",
                 entity_id=41, before={"agent_id": 999_999, "answers": {}, "version": 1},
                 after={"agent_id": people["agent_a"].id,
                        "answers": {"greeting": "yes", "verify": "no"}, "version": 2})
    audit.record(session, factories.SYSTEM, "evaluation.submitted", entity_type="evaluations",
                 entity_id=42, before={"status": "draft", "score": None, "revision": 0,
                                       "comment": "", "critical_fail": False},
                 after={"status": "submitted", "score": "61.67", "revision": 1,
                        "comment": "Good call", "critical_fail": True})
    session.commit()
    auth.login("auditor")
    (row,) = rows(client.get("/audit?action=evaluation.submitted"))
    shown, rest = row[4].split("<details>")
    assert change_lines(shown) == ["status: draft → submitted", "score: none → 61.67",
                                   "revision: 0 → 1"]
    assert rest.startswith("<summary>2 more fields</summary>")
    assert change_lines(rest) == ["comment: empty → Good call", "critical_fail: no → yes"]
    (row,) = rows(client.get(f"/audit?action=user.updated&entity_id={hr.id}"))
    assert change_lines(row[4]) == [f"team_id: none → {team_b.name} (#{team_b.id})"]
    (row,) = rows(client.get("/audit?action=evaluation.revised"))
    assert change_lines(row[4]) == [
        f"agent_id: 999999 → {people['agent_a'].display_name} (#{people['agent_a'].id})",
        "answers: empty → greeting: yes, verify: no"]
    assert plain(row[3]) == "evaluations #41"  # no such evaluation: the link still points there
    created = rows(client.get("/audit?action=interaction.created"))[0]
    assert f'href="/interactions/{log["interaction"].id}"' in created[3]
    # a creation is one line that opens to every field it set
    assert re.search(r"<details[^>]*><summary>1\d fields: source: test · ", created[4])
    assert "channel: voice" in change_lines(created[4])


def test_names_are_looked_up_in_one_query_for_the_whole_page(client, auth, app, session,
                                                             people, log):
    from sqlalchemy import event

    for n in range(5):
        auth_services.update_user(session, people["admin"], people["agent_b"].id,
                                  team_id=people["team_a" if n % 2 else "team_b"].id)
    session.commit()
    statements = []
    engine = app.extensions["qm"]["engine"]

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    auth.login("auditor")
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/audit")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(rows(response)) > 10
    (lookup,) = [s for s in statements if " AS kind" in s]
    assert "FROM users" in lookup and "UNION ALL" in lookup and "FROM teams" in lookup
    assert [s for s in statements if "FROM teams" in s] == [lookup]  # never one per row


def test_a_records_history_uses_the_same_words(client, auth, session, people, log):
    hr, team_b = people["hr"], people["team_b"]
    auth.login("admin")
    page = plain(client.get(f"/users/{hr.id}").get_data(as_text=True))
    assert f"team_id: none → {team_b.name} (#{team_b.id})" in page
    auth.logout()
    # a lead may see its own team's people, not everyone: on a history, ids stay ids for it
    agent, team_a = people["agent_a"], people["team_a"]
    audit.record(session, people["admin"], "user.updated", agent,
                 before={"team_id": None, "display_name": "Agent.A"},
                 after={"team_id": team_a.id, "display_name": "Agent Renamed"})
    session.commit()
    auth.login("lead.a")
    page = plain(client.get(f"/users/{agent.id}").get_data(as_text=True))
    assert f"team_id: none → {team_a.id} display_name: Agent.A → Agent Renamed" in page
    auth.logout()
    auth.login("admin")
    page = plain(client.get(f"/users/{agent.id}").get_data(as_text=True))
    assert f"team_id: none → {team_a.name} (#{team_a.id})" in page


def test_every_record_page_named_exists(app):
    from qm.views import RECORD_PAGES

    for entity_type, (endpoint, argument) in RECORD_PAGES.items():
        assert endpoint in app.view_functions, entity_type
        (rule,) = [r for r in app.url_map.iter_rules() if r.endpoint == endpoint]
        assert rule.arguments == {argument} and "GET" in rule.methods, entity_type


# --- the export --------------------------------------------------------------------------------

def read_csv(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_export_has_every_entry_and_its_hashes_can_be_recomputed(client, auth, session,
                                                                     people, log):
    auth.login("auditor")
    response = client.get("/audit/export.csv")
    assert response.is_streamed
    assert 'filename="audit-log.csv"' in response.headers["Content-Disposition"]
    header, *body = read_csv(response)
    assert header == ["seq", "at_utc", "actor_id", "actor", "action", "entity_type",
                      "entity_id", "before", "after", "prev_hash", "hash"]
    assert len(body) == session.scalar(select(func.count()).select_from(AuditEntry))
    prev = audit.GENESIS
    for row in body:
        record = dict(zip(header, row, strict=True))
        assert record["prev_hash"] == prev
        content = {"seq": int(record["seq"]), "at": record["at_utc"],
                   "actor_id": int(record["actor_id"]) if record["actor_id"] else None,
                   "actor_name": record["actor"], "action": record["action"],
                   "entity_type": record["entity_type"], "entity_id": record["entity_id"],
                   "before": json.loads(record["before"]), "after": json.loads(record["after"])}
        assert audit.entry_hash(prev, content) == record["hash"]
        prev = record["hash"]
    assert body[0][1].endswith("+00:00")


def test_the_export_applies_the_filters_and_neutralises_formulas(client, auth, session,
                                                                 people, log):
    audit.record(session, SystemActor("=HYPERLINK(\"http://x\")"), "user.noted",
                 entity_type="users", entity_id="-1+2", after={"note": "=1+1"})
    session.commit()
    auth.login("auditor")
    header, *body = read_csv(client.get("/audit/export.csv?action=user.updated"))
    assert len(body) == 2 and {r[4] for r in body} == {"user.updated"}
    assert [int(r[0]) for r in body] == sorted(int(r[0]) for r in body)  # the chain's order
    (row,) = read_csv(client.get("/audit/export.csv?action=user.noted"))[1:]
    assert row[3] == "'=HYPERLINK(\"http://x\")" and row[6] == "'-1+2"
    assert json.loads(row[8]) == {"note": "=1+1"}  # inside JSON: no cell starts with it


# --- verify the chain --------------------------------------------------------------------------

def test_verify_says_the_chain_is_intact_and_shows_the_head(client, auth, session, people, log):
    auth.login("auditor")  # an entry too
    count = session.scalar(select(func.count()).select_from(AuditEntry))
    last = session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    assert f"{last.seq}:{last.hash}" in client.get("/audit").get_data(as_text=True)
    response = client.post_form("/audit/verify", page="/audit")
    assert response.status_code == 200
    result = plain(re.search(r'id="verify-result">(.*?)</div>', response.get_data(True), re.S)[1])
    assert result.startswith(f"The chain is intact: {count} entries checked")
    assert f"entry {last.seq}, hash {last.hash}" in result
    # checking writes nothing
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == count
    # the head noted now proves, later, that nothing was cut from the end
    anchor = f"{last.seq}:{last.hash}"
    response = client.post_form("/audit/verify", {"anchor": anchor}, page="/audit")
    assert "It still holds the head you noted" in response.get_data(as_text=True)
    session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": last.seq})
    session.commit()
    response = client.post_form("/audit/verify", {"anchor": anchor}, page="/audit")
    page = plain(response.get_data(as_text=True))
    assert f"The chain is broken at entry {last.seq}: the anchored entry {last.seq} is missing" \
        in page


def test_verify_names_the_tampered_entry(client, auth, session, people, log):
    entry = session.scalar(select(AuditEntry).where(AuditEntry.seq == 3))
    forged = dict(entry.after)
    forged["username"] = "forged"
    session.execute(AuditEntry.__table__.update().where(AuditEntry.seq == 3)
                    .values(after=forged))
    session.commit()
    auth.login("auditor")
    response = client.post_form("/audit/verify", page="/audit")
    assert response.status_code == 200
    page = plain(response.get_data(as_text=True))
    assert "The chain is broken at entry 3: entry 3 was altered: its content no longer " \
           "matches its hash. 2 entries before it checked." in page


def test_verify_needs_the_forms_token_and_a_readable_anchor(client, auth, people):
    auth.login("auditor")
    assert client.post("/audit/verify").status_code == 400  # no CSRF token
    response = client.post_form("/audit/verify", {"anchor": "12:abc"}, page="/audit")
    assert response.status_code == 400
    assert "written SEQ:HASH" in response.get_data(as_text=True)
