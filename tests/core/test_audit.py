"""The audit chain: every change is recorded, and any tampering is found and named."""

from __future__ import annotations

import factories
from sqlalchemy import select, text

from qm import audit
from qm.audit import AuditEntry


def _entries(session):
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def test_changes_are_recorded_with_before_and_after(session, people):
    from qm.auth import services

    agent = people["agent_a"]
    services.update_user(session, people["admin"], agent.id, display_name="Agent Renamed",
                         team_id=people["team_b"].id)
    session.commit()
    entry = _entries(session)[-1]
    assert entry.action == "user.updated"
    assert entry.actor_name == "admin" and entry.actor_id == people["admin"].id
    assert (entry.entity_type, entry.entity_id) == ("users", str(agent.id))
    changes = {field: (old, new) for field, old, new in entry.changes()}
    assert changes["display_name"] == ("Agent.A", "Agent Renamed")
    assert changes["team_id"] == (people["team_a"].id, people["team_b"].id)
    assert "password_hash" not in entry.after  # secrets never enter the log


def test_chain_links_each_entry_to_the_one_before(session, people):
    entries = _entries(session)
    assert len(entries) >= 10
    assert entries[0].prev_hash == audit.GENESIS
    for earlier, later in zip(entries, entries[1:], strict=False):
        assert later.seq == earlier.seq + 1
        assert later.prev_hash == earlier.hash
    assert audit.verify(session).ok


def test_verify_command_passes_on_an_intact_log(runner, people):
    result = runner.invoke("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "Audit log intact" in result.output


def test_an_edited_row_is_found_by_qm_audit_verify(runner, session, people):
    # An attacker with database access changes who an entry says made a change.
    session.execute(text("UPDATE audit_log SET actor_name = 'someone-else' WHERE seq = 5"))
    session.commit()
    result = runner.invoke("audit", "verify")
    assert result.exit_code == 1
    assert "entry 5 was altered" in result.output


def test_an_edited_json_payload_is_found(session, people):
    entry = session.scalar(select(AuditEntry).where(AuditEntry.seq == 3))
    after = dict(entry.after)
    after["username"] = "forged"
    session.execute(AuditEntry.__table__.update().where(AuditEntry.seq == 3).values(after=after))
    session.commit()
    result = audit.verify(session)
    assert not result.ok and result.first_bad_seq == 3


def test_a_rehashed_entry_still_breaks_the_chain(session, people):
    # Recomputing the altered entry's own hash is not enough: the next entry points at the old one.
    entry = session.scalar(select(AuditEntry).where(AuditEntry.seq == 4))
    entry_content = entry.content()
    entry_content["actor_name"] = "forger"
    new_hash = audit.entry_hash(entry.prev_hash, entry_content)
    session.execute(text("UPDATE audit_log SET actor_name = 'forger', hash = :h WHERE seq = 4"),
                    {"h": new_hash})
    session.commit()
    result = audit.verify(session)
    assert not result.ok and result.first_bad_seq == 5
    assert "does not follow entry 4" in result.problem


def test_a_removed_entry_is_named(runner, session, people):
    session.execute(text("DELETE FROM audit_log WHERE seq = 7"))
    session.commit()
    result = runner.invoke("audit", "verify")
    assert result.exit_code == 1
    assert "entry 7 removed" in result.output


def test_a_cut_tail_is_found_against_a_published_anchor(runner, session, people):
    head = runner.invoke("audit", "head").output.strip()
    seq = int(head.split(":")[0])
    assert runner.invoke("audit", "verify", "--anchor", head).exit_code == 0
    session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seq})
    session.commit()
    assert runner.invoke("audit", "verify").exit_code == 0  # a shorter chain is still a chain
    result = runner.invoke("audit", "verify", "--anchor", head)
    assert result.exit_code == 1
    assert f"anchored entry {seq} is missing" in result.output


def test_a_failed_transaction_leaves_no_entry_and_no_gap(session, people):
    from qm.auth import services

    count = len(_entries(session))
    try:
        services.create_user(session, people["admin"], username="x1", display_name="X",
                             roles=["agent"], password_hash="h")
        raise RuntimeError("the request failed after the write")
    except RuntimeError:
        session.rollback()
    assert len(_entries(session)) == count
    factories.create_user(session, "x2")
    session.commit()
    assert audit.verify(session).ok


def test_history_is_shown_to_those_who_may_see_the_record(client, auth, session, people):
    interaction = factories.create_interaction(session, people["agent_a"])
    session.commit()
    auth.login("agent.a")
    page = client.get(f"/interactions/{interaction.id}").get_data(as_text=True)
    assert "History" in page and "interaction.created" in page
    assert client.get("/audit").status_code == 403  # the whole log is for admins and auditors
    auth.logout()
    auth.login("auditor")
    log = client.get("/audit?entity_type=interactions").get_data(as_text=True)
    assert "interaction.created" in log
