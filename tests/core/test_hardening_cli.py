"""Bad values on the `qm` command line are clean errors that name the option, never tracebacks.

The ``runner`` fixture runs the real `qm` with ``catch_exceptions=False``: a traceback fails the
test by raising. Every bounded option of qm.cli_types has a row below.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from qm.cli import UnexpectedError

HASH = "a" * 64
FILES = {"ratings": "unit,A,B\nU1,1,2\nU2,2,2\nU3,1,1\n",
         "interactions": "external_id,agent,channel,started_at\n"}

CASES = [
    # tokens
    (["tokens", "create", "agent.a", "--name", "x", "--expires-days", "99999999"],
     "'--expires-days'"),
    (["tokens", "create", "agent.a", "--name", "x", "--expires-days", "0"], "'--expires-days'"),
    (["tokens", "create", "agent.a", "--name", "x", "--expires-days", "-3"], "'--expires-days'"),
    (["tokens", "create", "agent.a", "--name", "x", "--expires-days", "ten"], "'--expires-days'"),
    (["tokens", "revoke", "0"], "'TOKEN_ID'"),
    (["tokens", "revoke", "99999999999999999999999"], "'TOKEN_ID'"),
    # users
    (["users", "create", "new.user", "--role", "agent", "--timezone", "Mars/Olympus"],
     "'--timezone'"),
    (["users", "create", "new.user", "--role", "agent", "--timezone", "../../etc/passwd"],
     "'--timezone'"),
    # audit
    (["audit", "verify", "--anchor", f"{10**30}:{HASH}"], "'--anchor'"),
    (["audit", "verify", "--anchor", f"\u00b2:{HASH}"], "'--anchor'"),  # isdigit() said yes
    (["audit", "verify", "--anchor", "5:" + "z" * 64], "'--anchor'"),
    # database
    (["db", "upgrade", "--revision", "banana"], "'--revision'"),
    (["db", "downgrade", "banana"], "'REVISION'"),
    # serving
    (["serve", "--port", "70000"], "'--port'"),
    (["serve", "--port", "-1"], "'--port'"),
    (["serve", "--threads", "0"], "'--threads'"),
    (["serve", "--threads", "99999999"], "'--threads'"),
    (["demo", "--no-serve", "--port", "65536"], "'--port'"),
    # interactions and forms
    (["interactions", "import", "{interactions}", "--chunk-size", "0"], "'--chunk-size'"),
    (["interactions", "import", "{interactions}", "--chunk-size", str(10**12)],
     "'--chunk-size'"),
    (["interactions", "import", "{interactions}", "--timezone", "Nowhere/Land"],
     "'--timezone'"),
    (["interactions", "import", "{missing}"], "'CSV_FILE'"),
    (["interactions", "import", "{dir}"], "'CSV_FILE'"),
    (["forms", "import", "{missing}"], "'JSON_FILE'"),
    (["forms", "export", "Any form", "--version", "0"], "'--version'"),
    (["forms", "export", "Any form", "--version", str(2**40)], "'--version'"),
    # sampling
    (["sample", "--week", "2026-W99"], "'--week'"),
    (["sample", "--week", "2025-W53"], "2025 has weeks 01 to 52"),
    (["sample", "--week", "2026-W00"], "'--week'"),
    (["sample", "--week", "banana"], "not an ISO week"),
    (["sample", "--week", "0000-W01"], "'--week'"),
    (["sample", "--week", "9999-W52"], "'--week'"),
    (["sample", "--week", "2026-W45", "--seed", "-1"], "'--seed'"),
    (["sample", "--week", "2026-W45", "--seed", str(2**64)], "'--seed'"),
    # retention
    (["retention", "apply", "--days", "0"], "'--days'"),
    (["retention", "apply", "--days", "99999999"], "'--days'"),
    # reliability
    (["reliability", "{ratings}", "--metric", "alpha", "--resamples", "0"], "'--resamples'"),
    (["reliability", "{ratings}", "--metric", "alpha", "--resamples", str(10**9)],
     "'--resamples'"),
    (["reliability", "{ratings}", "--metric", "alpha", "--seed", "-1"], "'--seed'"),
    (["reliability", "{ratings}", "--metric", "alpha", "--seed", str(2**40)], "'--seed'"),
    (["reliability", "{missing}", "--metric", "alpha"], "'CSV_FILE'"),
    # transcription
    (["transcribe", "x.wav", "--workers", "99999"], "'--workers'"),
    (["transcribe", "x.wav", "--workers", "0"], "'--workers'"),
    (["transcribe", "x.wav", "--batch-size", "-1"], "'--batch-size'"),
    (["transcribe", "x.wav", "--batch-size", "100000"], "'--batch-size'"),
    (["transcribe", "x.wav", "--batch-size", "lots"], "'--batch-size'"),
    (["transcribe", "x.wav", "--beam-size", "0"], "'--beam-size'"),
    (["transcribe", "x.wav", "--beam-size", "1000"], "'--beam-size'"),
    (["transcribe", "x.wav", "--queue", "--timeout", "0"], "'--timeout'"),
    (["transcribe", "x.wav", "--queue", "--timeout", "1e308"], "'--timeout'"),
    (["transcribe", "x.wav", "--queue", "--timeout", "nan"], "'--timeout'"),
    (["transcribe", "x.wav", "--group-files", "0"], "'--group-files'"),
    (["transcribe", "x.wav", "--group-files", str(10**9)], "'--group-files'"),
    (["transcribe", "x.wav", "--metadata", "{missing}"], "'--metadata'"),
    (["transcribe", "x.wav", "--jsonl", "{missing}/out.jsonl"], "'--jsonl'"),
    (["transcribe", "x.wav", "--jsonl", "{dir}"], "'--jsonl'"),
    (["worker", "--concurrency", "0"], "'--concurrency'"),
    (["worker", "--concurrency", "100000"], "'--concurrency'"),
    # flagging
    (["flagging", "train", "--score-below", "101"], "'--score-below'"),
    (["flagging", "train", "--score-below", "-1"], "'--score-below'"),
    (["flagging", "train", "--score-below", "nan"], "'--score-below'"),
    (["flagging", "train", "--min-examples", "5"], "'--min-examples'"),
    (["flagging", "train", "--min-examples", str(10**12)], "'--min-examples'"),
    (["flagging", "train", "--min-auc", "1.5"], "'--min-auc'"),
    (["flagging", "train", "--min-auc", "0.2"], "'--min-auc'"),
    (["flagging", "train", "--min-auc", "nan"], "'--min-auc'"),
]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    paths = {"missing": str(tmp_path / "no-such-file"), "dir": str(tmp_path)}
    for name, content in FILES.items():
        (tmp_path / f"{name}.csv").write_text(content, encoding="utf-8")
        paths[name] = str(tmp_path / f"{name}.csv")
    return paths


@pytest.mark.parametrize(("args", "fragment"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_a_bad_value_is_a_clean_error_naming_the_option(request, runner, files, args, fragment):
    if "agent.a" in args:
        request.getfixturevalue("people")
    result = runner.invoke(*(a.format(**files) if a.startswith("{") else a for a in args))
    assert result.exit_code != 0, result.output
    assert fragment in result.stderr, result.output
    assert "Error" in result.stderr and "Traceback" not in result.output


def test_good_values_at_the_bounds_still_work(runner, people):
    result = runner.invoke("tokens", "create", "agent.a", "--name", "x", "--expires-days",
                           "36500")
    assert result.exit_code == 0, result.output
    result = runner.invoke("sample", "--week", "2026-w53", "--seed", str(2**32 - 1))
    assert result.exit_code == 0, result.output
    assert "2026-W53:" in result.output  # the canonical spelling


def test_a_bad_week_keeps_exit_status_1(runner):
    result = runner.invoke("sample", "--week", "banana")
    assert result.exit_code == 1
    assert "'banana' is not an ISO week; write it like 2026-W47." in result.stderr


def test_a_bad_retention_variable_is_one_line(runner):
    runner.env["QM_RETENTION_DAYS"] = "forever"
    result = runner.invoke("retention", "apply", "--dry-run")
    assert result.exit_code == 1
    assert "QM_RETENTION_DAYS: 'forever' is not a valid integer" in result.stderr
    runner.env["QM_RETENTION_DAYS"] = "99999999"
    result = runner.invoke("retention", "apply", "--dry-run")
    assert result.exit_code == 1 and "QM_RETENTION_DAYS" in result.stderr


def test_a_user_error_from_any_command_is_one_line(runner, people):
    result = runner.invoke("tokens", "revoke", "4242")
    assert result.exit_code == 1
    assert result.stderr == "Error: API token 4242 does not exist or is not visible to you.\n"


def test_an_unreachable_database_is_one_line(runner, tmp_path):
    runner.env["QM_DATABASE_URL"] = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'qm.db'}"
    result = runner.invoke("users", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The database could not be used:")
    assert len(result.stderr.splitlines()) == 1


def _leak(*args: object, **kwargs: object) -> None:
    raise IntegrityError("INSERT INTO interactions (body) VALUES (?)",
                         {"body": "Customer: my card is 4111 1111 1111 1111"},
                         ValueError("UNIQUE constraint failed: Customer: my card"))


def test_a_bug_still_raises_but_without_row_contents(runner, people, monkeypatch):
    monkeypatch.setattr("qm.audit.verify", _leak)
    with pytest.raises(UnexpectedError) as caught:
        runner.invoke("audit", "verify")
    printed = "".join(traceback.format_exception(caught.value))
    assert "my card" not in printed and "4111" not in printed
    assert "sqlalchemy.exc.IntegrityError (builtins.ValueError)" in printed
    assert "_leak" in printed  # the traceback still shows where it happened
    runner.env["QM_DEBUG"] = "1"
    with pytest.raises(IntegrityError, match="my card"):
        runner.invoke("audit", "verify")


def test_the_system_refusing_a_file_or_port_is_one_line(runner, monkeypatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "/srv/qm/audit.lock")

    monkeypatch.setattr("qm.audit.verify", refuse)
    result = runner.invoke("audit", "verify")
    assert result.exit_code == 1
    assert result.stderr == "Error: [Errno 13] Permission denied: '/srv/qm/audit.lock'\n"
