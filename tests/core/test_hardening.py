"""What an attacker or a careless user sends, and what every path must answer (issue: hardening).

Each test runs on SQLite and, with QM_TEST_DATABASE_URL, on PostgreSQL: the answers must not
depend on the database (PostgreSQL refuses a NUL in text and ids past 2**31; SQLite does not).
"""

from __future__ import annotations

import base64
import io
import json

import factories
import pytest
from sqlalchemy import select, text

from qm import audit
from qm.auth import queries as auth_queries
from qm.auth import tokens
from qm.interactions import importing
from qm.interactions.models import Interaction
from transcription.models import Transcript

CARD = "4111 1111 1111 1111"
CHAT = f"Customer: hi, my card is {CARD}\nAgent: thanks, noted"


@pytest.fixture
def token(session, people):
    def make(username: str) -> str:
        user = auth_queries.find_user(session, username)
        _token, plaintext = tokens.create_token(session, factories.SYSTEM, user.id,
                                                       name="test")
        session.commit()
        return plaintext
    return make


def bearer(plaintext: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plaintext}"}


def _create_chat(client, token, body: str = CHAT, **extra) -> dict:
    response = client.post("/api/v1/interactions", headers=bearer(token("admin")), json={
        "source": "chat", "external_id": extra.pop("external_id", "C-1"), "agent": "agent.a",
        "channel": extra.pop("channel", "chat"), "started_at": "2026-11-20T09:30:00+01:00",
        "body": body, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- 1. typed text never leaves unredacted -----------------------------------------------------

@pytest.mark.parametrize("username", ["qa", "lead.a", "agent.a", "auditor"])
def test_the_api_returns_a_chat_redacted_to_every_reader(client, token, people, username):
    created = _create_chat(client, token)
    assert CARD not in created["body"]  # the answer to the create itself, too
    headers = bearer(token(username))
    item = client.get(f"/api/v1/interactions/{created['id']}", headers=headers).get_json()
    listed = client.get("/api/v1/interactions", headers=headers).get_json()["items"]
    for shown in (item, *listed):
        assert "4111" not in json.dumps(shown)
        assert shown["body_as_typed"] is None
    assert "[CARD]" in item["body"] and "thanks, noted" in item["body"]


def test_the_text_as_typed_goes_to_holders_of_read_raw_only(client, token, people):
    created = _create_chat(client, token)
    item = client.get(f"/api/v1/interactions/{created['id']}",
                      headers=bearer(token("admin"))).get_json()
    assert item["body_as_typed"] == CHAT
    assert "4111" not in item["body"]


def test_a_chat_without_a_stored_transcript_is_redacted_all_the_same(client, token, session,
                                                                     people):
    created = _create_chat(client, token)
    session.execute(text("DELETE FROM review_flags"))
    session.execute(text("DELETE FROM transcripts"))
    session.commit()
    assert session.scalar(select(Transcript)) is None
    item = client.get(f"/api/v1/interactions/{created['id']}",
                      headers=bearer(token("qa"))).get_json()
    assert "4111" not in item["body"] and "[CARD]" in item["body"]


def test_a_calls_notes_are_redacted_on_its_page_and_in_the_api(client, token, auth, people):
    created = _create_chat(client, token, body=f"Caller read out {CARD} twice",
                           channel="voice", external_id="V-1")
    auth.login("qa")
    page = client.get(f"/interactions/{created['id']}").get_data(as_text=True)
    assert "4111" not in page and "[CARD]" in page
    item = client.get(f"/api/v1/interactions/{created['id']}",
                      headers=bearer(token("lead.a"))).get_json()
    assert "4111" not in item["body"]


# --- 2. one bad row never sinks an import -----------------------------------------------------

BAD_ROWS = (
    "external_id,agent,channel,started_at,body\n"
    "G-1,agent.a,chat,2026-11-20T09:00:00Z,first good row\n"
    "B-1,agent.a,chat,9999-12-31T23:59:59-05:00,late\n"
    "B-2,agent.a,chat,0001-01-01T00:00:00+05:00,early\n"
    "B-3,agent.a,chat,2026-11-20T09:00:00Z,secret words \x00 after a NUL\n"
    "G-2,agent.a,chat,2026-11-20T10:00:00Z,second good row\n"
)


def _check_report(report: dict) -> None:
    assert report["created"] == 2 and report["failed"] == 3, report
    lines = {e["line"]: e["reason"] for e in report["errors"]}
    assert set(lines) == {3, 4, 5}
    assert "out of range" in lines[3] and "out of range" in lines[4]
    assert "NUL" in lines[5]
    assert "secret words" not in json.dumps(report)


def test_bad_rows_are_reported_by_line_and_the_rest_imported(session, people):
    report = importing.import_csv(session, factories.SYSTEM, io.BytesIO(BAD_ROWS.encode()))
    session.commit()
    _check_report(report.as_dict())
    assert sorted(session.scalars(select(Interaction.external_id))) == ["G-1", "G-2"]


def test_the_api_import_reports_bad_rows_and_keeps_the_good(client, token, session, people):
    response = client.post("/api/v1/interactions/import", headers={
        **bearer(token("admin")), "Content-Type": "text/csv"}, data=BAD_ROWS.encode())
    assert response.status_code == 200
    _check_report(response.get_json())


def test_the_web_import_reports_bad_rows_and_keeps_the_good(client, auth, session, people):
    auth.login("admin")
    response = client.post_form("/interactions/import", {
        "file": (io.BytesIO(BAD_ROWS.encode()), "calls.csv")},
        content_type="multipart/form-data")
    assert response.status_code < 500
    page = response.get_data(as_text=True)
    assert "out of range" in page and "NUL" in page and "secret words" not in page
    assert sorted(session.scalars(select(Interaction.external_id))) == ["G-1", "G-2"]


def test_the_cli_import_reports_bad_rows_without_their_words(runner, session, people, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(BAD_ROWS.encode())
    result = runner.invoke("interactions", "import", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "secret words" not in result.output
    assert "calls.csv:3" in result.output and "calls.csv:5" in result.output
    assert sorted(session.scalars(select(Interaction.external_id))) == ["G-1", "G-2"]


@pytest.mark.parametrize("started_at", ["9999-12-31T23:59:59-05:00",
                                        "0001-01-01T00:00:00+05:00"])
def test_a_single_create_with_a_date_out_of_range_answers_422(client, token, people,
                                                              started_at):
    response = client.post("/api/v1/interactions", headers=bearer(token("admin")), json={
        "agent": "agent.a", "channel": "chat", "started_at": started_at, "body": "x"})
    assert response.status_code == 422
    assert "out of range" in response.get_json()["message"]


def test_a_single_create_with_a_nul_answers_422(client, token, people):
    response = client.post("/api/v1/interactions", headers=bearer(token("admin")), json={
        "agent": "agent.a", "channel": "chat", "started_at": "2026-11-20T09:00:00Z",
        "body": "a\x00b"})
    assert response.status_code == 422
    assert "NUL" in response.get_json()["message"]


@pytest.fixture
def refuse_boom(session):
    """A rule of the database itself that no check before it knows: rows named BOOM fail."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("ALTER TABLE interactions ADD CONSTRAINT test_no_boom "
                             "CHECK (external_id <> 'BOOM')"))
    else:
        session.execute(text("CREATE TRIGGER test_no_boom BEFORE INSERT ON interactions "
                             "WHEN NEW.external_id = 'BOOM' "
                             "BEGIN SELECT RAISE(ABORT, 'no boom'); END"))
    session.commit()
    yield
    if dialect == "postgresql":
        session.execute(text("ALTER TABLE interactions DROP CONSTRAINT test_no_boom"))
    else:
        session.execute(text("DROP TRIGGER test_no_boom"))
    session.commit()


def test_a_row_the_database_refuses_is_reported_and_the_others_go_in(session, people,
                                                                     refuse_boom):
    data = ("external_id,agent,channel,started_at,body\n"
            "A-1,agent.a,chat,2026-11-20T09:00:00Z,card 4111 1111 1111 1111\n"
            "BOOM,agent.a,chat,2026-11-20T09:00:00Z,private words of the customer\n"
            "A-2,agent.a,chat,2026-11-20T09:00:00Z,fine\n")
    report = importing.import_csv(session, factories.SYSTEM, io.BytesIO(data.encode()))
    session.commit()
    assert report.created == 2
    assert [(e.line, e.external_id) for e in report.errors] == [(3, "BOOM")]
    assert "database refused" in report.errors[0].reason
    assert "private words" not in report.errors[0].reason
    assert sorted(session.scalars(select(Interaction.external_id))) == ["A-1", "A-2"]
    # The savepoints left the audit chain whole: no gap, no entry of the refused row.
    assert audit.verify(session).ok


# --- 3. every malformed request is a 4xx ------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/interactions/99999999999999999999999", "/interactions/2147483648",
    "/api/v1/interactions/99999999999999999999999", "/api/v1/interactions/2147483648",
    "/api/v1/evaluations/2147483648", "/api/v1/users/2147483648",
])
def test_ids_past_the_database_range_in_a_path_answer_404(client, auth, token, people, path):
    auth.login("admin")
    response = client.get(path, headers=bearer(token("admin")))
    assert response.status_code == 404, path


@pytest.mark.parametrize("query", [
    "agent_id=99999999999999999999", "agent_id=2147483648", "team_id=-1", "agent_id=0",
])
def test_ids_out_of_range_in_an_api_query_answer_422(client, token, people, query):
    response = client.get(f"/api/v1/interactions?{query}", headers=bearer(token("admin")))
    assert response.status_code == 422
    assert response.get_json()["message"]


def test_ids_out_of_range_in_a_page_query_answer_4xx(client, auth, people):
    auth.login("admin")
    for query in ("agent_id=99999999999999999999", "agent_id=2147483648",
                  "team_id=9223372036854775808"):
        response = client.get(f"/interactions?{query}")
        assert 400 <= response.status_code < 500, query


def test_negative_ids_in_a_json_body_answer_422(client, token, people):
    response = client.post("/api/v1/calibration-sessions", headers=bearer(token("admin")),
                           json={"title": "x", "interaction_ids": [-1],
                                 "participant_ids": [2**40]})
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert "interaction_ids" in errors and "participant_ids" in errors


def test_a_lone_surrogate_in_json_answers_400(client, token, people):
    body = b'{"agent": "agent.a", "channel": "chat", "started_at": "2026-11-20T09:00:00Z", ' \
           b'"body": "half a pair \\ud800 here"}'
    response = client.post("/api/v1/interactions", data=body, headers={
        **bearer(token("admin")), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "surrogate" in response.get_json()["message"]


def test_deeply_nested_json_answers_400(client, token, people):
    body = b"[" * 100_000 + b"]" * 100_000
    response = client.post("/api/v1/forms", data=body, headers={
        **bearer(token("admin")), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "nests too deeply" in response.get_json()["message"]


def test_a_nul_in_a_query_answers_422(client, auth, token, people):
    response = client.get("/api/v1/interactions?q=%00", headers=bearer(token("admin")))
    assert response.status_code == 422
    auth.login("admin")
    assert client.get("/interactions?queue=a%00b").status_code == 422


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("raw", [
    "0001-01-01T00:00:00+05:00|1", "9999-12-31T23:59:59-05:00|1",
    "2026-11-01T00:00:00+00:00|99999999999999999999", "2026-11-01T00:00:00+00:00|-5",
    "2026-11-01T00:00:00|5", "not a cursor",
])
def test_a_crafted_cursor_answers_400_on_the_api(client, token, people, raw):
    response = client.get(f"/api/v1/interactions?cursor={_cursor(raw)}",
                          headers=bearer(token("admin")))
    assert response.status_code == 400
    assert "cursor" in response.get_json()["message"]


def test_a_crafted_cursor_on_the_page_says_so_and_shows_the_newest(client, auth, session,
                                                                   people):
    factories.create_interaction(session, people["agent_a"], customer_ref="NEWEST")
    session.commit()
    auth.login("admin")
    page = client.get(f"/interactions?cursor={_cursor('0001-01-01T00:00:00+05:00|1')}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "not one this site gave out" in html and "NEWEST" in html


# --- 6. big bodies are refused before they are read -------------------------------------------

class _Unreadable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, _buffer) -> int:
        raise AssertionError("the body was read")


@pytest.mark.parametrize("path", ["/api/v1/interactions/import", "/login",
                                  "/interactions/import"])
def test_a_body_declared_too_large_is_refused_unread(client, path):
    too_large = 210 * 1024 * 1024
    response = client.post(path, data=b"", content_type="text/csv", environ_overrides={
        "wsgi.input": _Unreadable(), "CONTENT_LENGTH": str(too_large)})
    assert response.status_code == 413
    assert "larger than this site allows" in response.get_data(as_text=True)


# --- 8. the OpenAPI document tells the truth --------------------------------------------------

def _schema(doc: dict, path: str, method: str = "post") -> dict:
    ref = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]] if "$ref" in ref else ref


def test_the_document_states_required_and_non_empty_fields(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    rule = _schema(doc, "/api/v1/sampling-rules")
    assert {"name", "form_id"} <= set(rule["required"])
    assert rule["properties"]["name"]["minLength"] == 1
    assert rule["properties"]["per_agent"]["minimum"] == 1
    assert rule["properties"]["per_agent"]["maximum"] == 20
    run = _schema(doc, "/api/v1/sampling/runs")
    assert "week" in run["required"] and run["properties"]["week"]["pattern"]
    session_ = _schema(doc, "/api/v1/calibration-sessions")
    assert session_["properties"]["title"]["minLength"] == 1
    assert session_["properties"]["interaction_ids"]["items"]["minimum"] == 1
    form = _schema(doc, "/api/v1/forms")
    assert {"name", "sections"} <= set(form["required"])
    param = next(p for p in doc["paths"]["/api/v1/interactions/{interaction_id}"]["parameters"]
                 if p["name"] == "interaction_id")
    assert param["schema"]["maximum"] == 2**31 - 1


@pytest.mark.parametrize(("method", "path"), [("delete", "/api/v1/interactions"),
                                              ("put", "/api/v1/openapi.json"),
                                              ("delete", "/login")])
def test_405_answers_say_what_is_allowed(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_empty_values_the_server_refuses_are_refused_by_the_schema_first(client, token,
                                                                         people):
    headers = bearer(token("admin"))
    response = client.post("/api/v1/sampling/runs", headers=headers, json={"week": ""})
    assert response.status_code == 422 and "week" in response.get_json()["errors"]["json"]
    response = client.post("/api/v1/sampling-rules", headers=headers,
                           json={"name": " ", "form_id": 1})
    assert response.status_code == 422 and "name" in response.get_json()["errors"]["json"]


# --- 10. auditors see everything and change nothing -------------------------------------------

def test_the_auditor_reads_disputes_and_sampling_and_changes_neither(client, auth, session,
                                                                     people, token):
    from scoring.sampling import services as sampling

    form_version = factories.create_form(session)
    dispute = factories.create_dispute(session, people["qa"],
                                       factories.create_interaction(session, people["agent_b"]))
    evaluation = dispute.evaluation
    rule = sampling.save_rule(session, factories.SYSTEM, {"name": "Weekly",
                                                          "form_id": form_version.form_id})
    session.commit()
    auth.login("auditor")
    listing = client.get("/disputes")
    assert listing.status_code == 200
    assert f"#{dispute.id} on evaluation {evaluation.id}" in listing.get_data(as_text=True)
    page = client.get(f"/disputes/{dispute.id}")
    assert page.status_code == 200 and 'name="outcome"' not in page.get_data(as_text=True)
    sampling_page = client.get("/sampling")
    assert sampling_page.status_code == 200
    html = sampling_page.get_data(as_text=True)
    assert "Weekly" in html and "Add rule" not in html and "Create assignments" not in html
    assert client.get(f"/sampling/rules/{rule.id}").status_code == 200
    for url in ("/sampling", f"/sampling/rules/{rule.id}", "/sampling/run",
                f"/disputes/{dispute.id}"):
        assert client.post_form(url, {}, page="/sampling").status_code == 403, url
    headers = bearer(token("auditor"))
    disputes = client.get("/api/v1/disputes", headers=headers)
    assert disputes.status_code == 200 and [d["id"] for d in disputes.get_json()] == [dispute.id]
    assert client.get("/api/v1/sampling-rules", headers=headers).status_code == 200
    assert client.post("/api/v1/sampling/runs", headers=headers,
                       json={"week": "2026-W47"}).status_code == 403


@pytest.mark.parametrize("sections", [[[1]], "abc", [{"key": "s", "questions": [7]}],
                                      [{"key": "s", "questions": [{"key": "q", "text": "Q",
                                                                   "condition": [1]}]}]])
def test_a_form_of_the_wrong_shape_answers_400_in_words(client, token, people, sections):
    # Found by the API fuzzing run: a list where an object belongs was a 500.
    response = client.post("/api/v1/forms", headers=bearer(token("admin")),
                           json={"name": "Odd", "sections": sections})
    assert response.status_code == 400
    assert "not valid" in response.get_json()["message"]


def test_qm_serve_refuses_a_large_body_before_it_arrives(tmp_path, database_url):
    """Through the real server: the 413 comes back while the client has sent only the headers
    and a few bytes of a body it says is 210 MB (waitress would otherwise buffer it all)."""
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "QM_DATA_DIR": str(tmp_path / "serve"), "QM_DATABASE_URL": database_url,
           "QM_SECRET_KEY": "test-secret-key"}
    qm = os.path.join(os.path.dirname(sys.executable), "qm")
    proc = subprocess.Popen([qm, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "qm serve died"
                time.sleep(0.2)
        with conn:
            conn.settimeout(10)
            conn.sendall(b"POST /api/v1/interactions/import HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: text/csv\r\nContent-Length: 220200960\r\n\r\n"
                         b"external_id,agent\r\n")
            answer = conn.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- found in review ----------------------------------------------------------------------------

def test_a_sampling_manage_grant_also_reads_sampling(client, auth, session, people, token):
    from qm.auth import services as auth_services

    auth_services.update_user(session, factories.SYSTEM, people["qa"].id,
                              grants=["sampling.manage"])
    session.commit()
    auth.login("qa")
    assert client.get("/sampling").status_code == 200
    assert client.get("/api/v1/sampling-rules", headers=bearer(token("qa"))).status_code == 200


def test_json_nested_just_under_the_parsers_limit_answers_400(client, token, people):
    depth = 900  # parses at the top of a request; str() or json.dumps of it deeper down fails
    body = ('{"answers": {"q": ' + "[" * depth + "]" * depth + '}, "version": 1}').encode()
    response = client.put("/api/v1/evaluations/1", data=body, headers={
        **bearer(token("admin")), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "nests deeper than" in response.get_json()["message"]


def test_an_import_is_one_transaction_until_the_caller_commits(session, people):
    # On SQLite a SAVEPOINT outside a transaction starts one, and its RELEASE commits it: the
    # import must lock the chain (and so open the transaction) before its savepoints.
    data = "external_id,agent,channel,started_at\nT-1,agent.a,chat,2026-11-20T09:00:00Z\n"
    report = importing.import_csv(session, factories.SYSTEM, io.BytesIO(data.encode()))
    assert report.created == 1
    session.rollback()
    assert session.scalar(select(Interaction.id)) is None


def test_a_tampered_version_on_an_edit_page_answers_400(client, auth, session, people):
    item = factories.create_interaction(session, people["agent_a"])
    session.commit()
    auth.login("admin")
    response = client.post_form(f"/interactions/{item.id}/edit", {
        "version": "abc", "agent": "agent.a", "channel": "voice", "direction": "inbound",
        "started_at": "2026-11-20 09:00:00", "duration_s": "0"})
    assert response.status_code == 400
    assert "version is not a number" in response.get_data(as_text=True)
