"""`qm demo`: builds a working site, twice without duplicates, and serves it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from sqlalchemy import func, select

from qm import audit
from qm.auth.models import User
from qm.interactions.models import Interaction
from scoring.evaluations.models import Dispute, Evaluation
from transcription.models import Transcript


def test_demo_builds_once_and_only_once(runner, session):
    first = runner.invoke("demo", "--no-serve")
    assert first.exit_code == 0, first.output
    assert "password for all: demo-password" in first.output
    for login in ("admin", "qa1", "lead1", "agent1", "hr1", "auditor1"):
        assert re.search(rf"^\s+{login}\s", first.output, re.M), login
    users = session.scalar(select(func.count(User.id)))
    interactions = session.scalar(select(func.count(Interaction.id)))
    assert users == 15 and interactions > 200
    statuses = dict(session.execute(select(Evaluation.status, func.count())
                                    .group_by(Evaluation.status)).all())
    # History to look at (scored, acknowledged, disputed) and a queue to work on.
    assert statuses["assigned"] > 0 and statuses["acknowledged"] > 0
    assert statuses["disputed"] == session.scalar(select(func.count(Dispute.id))) > 0
    evaluations = sum(statuses.values())
    second = runner.invoke("demo", "--no-serve")
    assert second.exit_code == 0
    assert "0 users created" in second.output and "0 created" in second.output
    assert session.scalar(select(func.count(User.id))) == users
    assert session.scalar(select(func.count(Interaction.id))) == interactions
    assert session.scalar(select(func.count(Evaluation.id))) == evaluations
    sources = dict(session.execute(select(Transcript.source, func.count())
                                   .group_by(Transcript.source)).all())
    assert sources["audio"] == 3 and sources["text"] > 0  # calls transcribed, chats redacted
    # A flagging model learnt from the demo's evaluations; what it flagged last week is in
    # this week's queues, marked targeted.
    from transcription.models import FlaggingModel, ReviewFlag

    assert session.scalar(select(func.count(FlaggingModel.id))) == 1
    assert "Flagging: a model learnt from" in first.output
    assert session.scalar(select(func.count(ReviewFlag.id)).where(ReviewFlag.flagged)) > 0
    targeted = session.scalars(select(Evaluation).where(Evaluation.targeted)).all()
    assert targeted and all(e.status == "assigned" for e in targeted)
    # each drawn for a flag in use: the model's or a named flag's (which week's contacts the
    # model flags depends on the day the demo is built)
    from transcription.flagging import queries as flag_queries

    flagged = flag_queries.flagged_rows().subquery()
    assert set(session.scalars(select(flagged.c.interaction_id).where(
        flagged.c.interaction_id.in_([e.interaction_id for e in targeted])))) == {
        e.interaction_id for e in targeted}
    # Each demo chat and e-mail redacted once, as it was imported: none missed, none replaced.
    texts = session.scalar(select(func.count(Interaction.id)).where(
        Interaction.channel.in_(("chat", "email")), Interaction.body.is_not(None)))
    assert sources["text"] == texts
    assert f"{texts} chats and e-mails redacted" in first.output
    assert session.scalar(select(func.count()).select_from(audit.AuditEntry).where(
        audit.AuditEntry.action == "transcript.replaced")) == 0
    # HR's half: the framework, the agent profile every agent holds, assessments, training.
    from competencies.profiles.models import Assessment, CompetencyProfile, ProfileMember
    from competencies.training.models import TrainingRecord, TrainingSession

    assert "Competencies: 'Agent competencies (ISO 18295-1 6.3)' v1 (published)" in first.output
    # the agent profile (8 agents), new and senior agent (nobody yet), team lead (2 leads),
    # QA evaluator (2) and the outages queue (the 4 agents of Technical support)
    assert session.scalar(select(func.count(CompetencyProfile.id))) == 6
    assert session.scalar(select(func.count(ProfileMember.user_id))) == 8 + 2 + 2 + 4
    assert session.scalar(select(func.count(Assessment.id))) > 0
    records = session.scalar(select(func.count(TrainingRecord.id)))
    # two courses for each of the 8 agents, and the refresher session 3 of them attended
    assert records == 16 + 3
    assert sorted(session.scalars(select(TrainingSession.status))) == ["held", "planned"]
    assert "a session held for 3 agents (re-assessed since), one planned for 4" in first.output
    # its course page has something to show: the 3 who attended went from level 2 up
    from competencies.training import queries as training_queries
    from competencies.training.models import Course

    course = session.scalars(select(Course).where(Course.name.like("Data protection%"))).one()
    effect = training_queries.course_effect(session, course)
    assert effect.by_code["6.3.4.1"].pairs == 3 and effect.by_code["6.3.4.1"].improved == 3
    # each lead's first agent was coached from an evaluation, and a session is planned
    from competencies.coaching.models import ActionItem, CoachingSession

    assert sorted(session.scalars(select(CoachingSession.status))) == [
        "held", "held", "scheduled", "scheduled"]
    assert session.scalar(select(func.count(ActionItem.id))) == 4
    assert "Coaching: 2 sessions held with action items, 2 planned." in first.output
    assert "Coaching: there already." in second.output
    assert "Profiles, assessments and training: there already." in second.output
    assert audit.verify(session).ok


def test_demo_logins_work(runner, client, auth, session):
    runner.invoke("demo", "--no-serve")
    for username in ("admin", "agent1", "auditor1"):
        assert auth.login(username, "demo-password").status_code == 302
        assert client.get("/interactions").status_code == 200
        auth.logout()
    pages = {"qa1": ["/evaluations", "/disputes", "/reports/evaluators", "/calibration",
                     "/calibration/1", "/calibration/1/results", "/calibration/2"],
             "agent1": ["/evaluations", "/scorecard", "/", "/training/sessions"],
             "hr1": ["/", "/training", "/training/courses", "/training/courses/2",
                     "/training/sessions", "/training/sessions/1", "/skills"],
             "lead1": ["/reports/evaluators", "/reports/drift", "/calibration/1/results",
                       "/calibration/1/export.csv"]}
    for username, urls in pages.items():
        auth.login(username, "demo-password")
        for url in urls:
            response = client.get(url, follow_redirects=True)
            assert response.status_code == 200, (username, url)
        auth.logout()
    auth.login("agent1", "demo-password")
    card = client.get("/scorecard", follow_redirects=True).get_data(as_text=True)
    assert re.search(r'id="scorecard-n">(\d+)<', card).group(1) != "0"
    auth.logout()
    auth.login("qa1", "demo-password")
    record = client.get("/calibration/1/results").get_data(as_text=True)
    assert "consensus" in record and "Krippendorff" in record
    blind = client.get("/calibration/2/results", follow_redirects=True).get_data(as_text=True)
    assert "blind session" in blind
    # The demo calls were transcribed while the demo was built: audio beside a transcript.
    from qm.interactions.models import Interaction as It
    from scoring.evaluations.models import Evaluation as Ev

    # Nothing here asserts the model's words or which tag it chose: both vary with the CPU.
    def evaluation_page(external_id: str) -> str:
        evaluation = session.scalar(select(Ev.id).join(It, It.id == Ev.interaction_id).where(
            It.external_id == external_id))
        return client.get(f"/evaluations/{evaluation}").get_data(as_text=True)

    page = evaluation_page("DEMO-CALL-1")
    assert 'id="transcript"' in page and 'id="player"' in page
    assert 'class="qm-segment qm-agent"' in page and 'class="qm-segment qm-customer"' in page
    # The card number read out in the third call never reaches the screen, however heard.
    page = evaluation_page("DEMO-CALL-3")
    stored = session.scalar(select(Transcript).join(It, It.id == Transcript.interaction_id)
                            .where(It.external_id == "DEMO-CALL-3"))
    assert sum(stored.redactions.values()) >= 1
    assert re.search(r"\[(?:CARD|NUMBER|ACCOUNT|PHONE|DOB|IBAN|EMAIL)\]", page)
    assert not re.search(r"\d(?:[\s,.-]*\d){5}", stored.text), stored.text  # no 6 digits left


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_qm_demo_serves_on_the_chosen_port(tmp_path, database_url):
    port = _free_port()
    env = {**os.environ, "QM_DATA_DIR": str(tmp_path / "demo"), "QM_DATABASE_URL": database_url}
    qm = os.path.join(os.path.dirname(sys.executable), "qm")
    # run where a folder named qm is not qm (a checkout beside an installed qm): the server
    # the demo hands over to must still import the installed one
    (tmp_path / "qm").mkdir()
    (tmp_path / "qm" / "__init__.py").write_text('raise ImportError("not the installed qm")\n')
    proc = subprocess.Popen([qm, "demo", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        body = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    body = r.read().decode()
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.3)
        assert "Log in to qm" in body, proc.stdout.read() if proc.poll() is not None else ""
    finally:
        proc.terminate()
        proc.wait(timeout=10)
