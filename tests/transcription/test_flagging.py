"""Flagging models learnt from evaluators' verdicts: trained on finished evaluations, measured
by cross-validation, kept whole in the database, applied to calls and texts as they are stored,
with the model version on every verdict; too little data is refused and a broken model loses
no transcript."""

from __future__ import annotations

import shutil
from pathlib import Path

import factories
import pytest
from sqlalchemy import func, select

from qm.audit import AuditEntry
from qm.config import Settings
from qm.db import SESSION_SETTINGS
from scoring.evaluations import services as ev
from transcription import flagging
from transcription.models import FlaggingModel, ReviewFlag, Transcript
from transcription.settings import TranscriptionSettings

AUDIO = Path(__file__).parents[1] / "data" / "audio"
CALM = ["Customer: I would like to update my address please.\nAgent: Done, thank you.",
        "Customer: Can I change my payment date?\nAgent: Of course, it is changed.",
        "Customer: What time do you open tomorrow?\nAgent: We open at nine.",
        "Customer: Thanks for the help with my router.\nAgent: You are welcome."]
ANGRY = ["Customer: This is useless, I want to cancel and speak to a manager.\nAgent: Sorry.",
         "Customer: Third time I call, the service is useless, cancel my contract.\nAgent: OK.",
         "Customer: I want a manager now, this is a disgrace, I will cancel.\nAgent: Right.",
         "Customer: Useless again, cancel it all and get me a manager.\nAgent: Fine."]
NEW_ANGRY = ("Customer: Useless, useless. Cancel my broadband and find me a manager.\n"
             "Agent: I understand.\nAgent: Reference 77.")
GOOD = {"greet": "yes", "verify": "yes"}  # 100
POOR = {"greet": "no", "verify": "yes"}  # 66.67: below 80, a problem


def _evaluated_chats(session, people, count: int) -> list:
    """``count`` chats of agent a, each evaluated by qa: the angry ones scored poorly."""
    chats = []
    for n in range(count):
        angry = n % 2 == 1
        body = (ANGRY if angry else CALM)[n // 2 % 4] + f"\nAgent: Reference {n}."
        chat = factories.create_interaction(session, people["agent_a"], channel="chat",
                                            body=body)
        evaluation = ev.start_evaluation(session, people["qa"], chat)
        ev.submit(session, people["qa"], evaluation.id, POOR if angry else GOOD)
        chats.append(chat)
    session.commit()
    return chats


@pytest.fixture
def trained(session, people):
    factories.create_form(session)
    _evaluated_chats(session, people, 48)
    report = flagging.train(session)
    session.commit()
    return report


def test_training_learns_the_verdicts_and_stores_the_model_whole(session, people, trained):
    assert trained.examples == 48 and trained.problems == 24 and trained.prevalence == 0.5
    assert trained.folds == 5 and trained.score_below == 80
    assert trained.cv_roc_auc > 0.9  # the angry words tell; chance is 0.5
    assert trained.top_decile_precision == 1.0
    stored = session.scalar(select(FlaggingModel))
    assert stored.version == trained.version and stored.examples == 48
    assert stored.report["cv_roc_auc"] == trained.cv_roc_auc and len(stored.payload) > 1000
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "flagging.trained"))
    assert entry.after["version"] == trained.version
    # the same evaluations give the same model: nothing stored twice
    assert flagging.train(session).version == trained.version
    assert session.scalar(select(func.count(FlaggingModel.id))) == 1


def test_new_chats_are_flagged_as_they_arrive_with_the_model_version(session, people,
                                                                     trained):
    angry = factories.create_interaction(
        session, people["agent_b"], channel="chat",
        body=NEW_ANGRY)
    calm = factories.create_interaction(
        session, people["agent_b"], channel="email",
        body="Customer: Can I change my address please?\n"
             "Agent: Of course, it is changed.\nAgent: Reference 78.")
    session.commit()
    angry_flag = flagging.latest_flag(session, angry)
    calm_flag = flagging.latest_flag(session, calm)
    assert angry_flag.flagged and angry_flag.probability > 0.5, angry_flag.reasons
    assert angry_flag.model_version == trained.version
    assert {"useless", "cancel", "manager"} & set(angry_flag.reasons)
    assert "and" not in angry_flag.reasons
    assert not calm_flag.flagged and calm_flag.probability < 0.5, calm_flag.reasons


def test_too_few_verdicts_are_refused_and_nothing_is_stored(session, people):
    factories.create_form(session)
    _evaluated_chats(session, people, 12)
    with pytest.raises(flagging.FlaggingError, match="Not enough to learn from: 12"):
        flagging.train(session)
    assert session.scalar(select(func.count(FlaggingModel.id))) == 0
    # and without a model, texts are stored unflagged
    chat = factories.create_interaction(session, people["agent_a"], channel="chat",
                                        body="Customer: cancel it, useless.")
    session.commit()
    assert flagging.latest_flag(session, chat) is None
    assert session.scalar(select(Transcript).where(Transcript.interaction_id == chat.id))


def test_cli_train_then_apply_scores_what_is_left(runner, session, people):
    factories.create_form(session)
    chats = _evaluated_chats(session, people, 48)
    result = runner.invoke("flagging", "train")
    assert result.exit_code == 0, result.output
    assert "48 evaluated interactions, 24 with a problem" in result.output
    assert "cross-validated ROC AUC" in result.output
    assert "48 interaction(s) scored, 24 flagged for review." in result.output
    flags = session.scalars(select(ReviewFlag)).all()
    assert {f.interaction_id for f in flags} == {c.id for c in chats}
    assert runner.invoke("flagging", "apply").output.startswith("0 interaction(s) scored")


def test_cli_refuses_to_train_on_nothing(runner, session, people):
    result = runner.invoke("flagging", "train")
    assert result.exit_code != 0
    assert "Not enough to learn from: 0 finished evaluation(s)" in result.output
    assert "run `qm flagging train` first" in runner.invoke("flagging", "apply").output


def test_calls_are_flagged_when_their_transcript_is_stored(runner, session, people, trained,
                                                          tmp_path):
    folder = tmp_path / "calls"
    folder.mkdir()
    shutil.copy(AUDIO / "mono_16k.flac", folder / "mono_16k.flac")  # "cancel ... manager"
    result = runner.invoke("transcribe", str(folder), "--agent", "agent.a")
    assert result.exit_code == 0, result.output
    call = session.scalar(select(Transcript).where(Transcript.source == "audio"))
    verdict = session.scalar(select(ReviewFlag).where(
        ReviewFlag.interaction_id == call.interaction_id))
    assert verdict.model_version == trained.version and 0 <= verdict.probability <= 1


def test_a_broken_model_loses_no_transcript(session, people, trained, caplog):
    stored = session.scalar(select(FlaggingModel))
    stored.payload = b"not a model"
    stored.version = "broken-1"
    session.commit()
    chat = factories.create_interaction(session, people["agent_a"], channel="chat",
                                        body="Customer: cancel it, useless, a manager now.")
    session.commit()
    assert session.scalar(select(Transcript).where(Transcript.interaction_id == chat.id))
    assert flagging.latest_flag(session, chat) is None
    assert "flagging model could not score" in caplog.text


def test_the_flag_shows_to_evaluators_not_to_agents(client, auth, session, people, trained):
    chat = factories.create_interaction(session, people["agent_a"], channel="chat",
                                        body=NEW_ANGRY)
    assert flagging.latest_flag(session, chat).flagged
    session.commit()
    auth.login("qa")
    page = client.get(f"/interactions/{chat.id}").get_data(as_text=True)
    assert 'id="review-flag"' in page and trained.version in page
    auth.logout()
    auth.login("agent.a")
    page = client.get(f"/interactions/{chat.id}").get_data(as_text=True)
    assert 'id="transcript"' in page and 'id="review-flag"' not in page


def test_score_below_setting(monkeypatch, tmp_path):
    def below() -> float:
        return TranscriptionSettings.from_settings(
            Settings(data_dir=tmp_path, secret_key="t")).flag_score_below

    monkeypatch.delenv("QM_FLAG_SCORE_BELOW", raising=False)
    assert below() == 80
    monkeypatch.setenv("QM_FLAG_SCORE_BELOW", "70")
    assert below() == 70
    for bad in ("lots", "101", "nan"):
        monkeypatch.setenv("QM_FLAG_SCORE_BELOW", bad)
        with pytest.raises(ValueError, match="QM_FLAG_SCORE_BELOW must be a score from 0 to 100"):
            below()


def test_training_takes_the_sites_score_from_the_session(session, people, monkeypatch):
    """Without ``below``, training uses the site's setting: the one the session carries (the
    app's sessions carry the app's settings), else the environment's."""
    factories.create_form(session)
    _evaluated_chats(session, people, 48)
    monkeypatch.setenv("QM_FLAG_SCORE_BELOW", "50")  # 66.67 is no problem any more
    with pytest.raises(flagging.FlaggingError, match="0 that found a problem"):
        flagging.train(session)
    session.info[SESSION_SETTINGS] = Settings(data_dir=Path("unused"), secret_key="t",
                                              flag_score_below=70)
    assert flagging.train(session).score_below == 70


def test_evaluators_can_list_what_the_current_model_flagged(client, auth, session, people,
                                                            trained):
    angry = factories.create_interaction(session, people["agent_a"], channel="chat",
                                         body=NEW_ANGRY, external_id="ANGRY-1")
    factories.create_interaction(session, people["agent_a"], channel="chat",
                                 body=CALM[0], external_id="CALM-1")
    session.commit()
    auth.login("qa")
    page = client.get("/interactions?flagged=1").get_data(as_text=True)
    assert 'id="f-flagged"' in page and "ANGRY-1" in page and "CALM-1" not in page
    flagged_ids = {f.interaction_id for f in session.scalars(
        select(ReviewFlag).where(ReviewFlag.flagged))}
    assert angry.id in flagged_ids
    auth.logout()
    auth.login("agent.a")  # the filter is not theirs: ignored, and not offered
    page = client.get("/interactions?flagged=1").get_data(as_text=True)
    assert 'id="f-flagged"' not in page and "CALM-1" in page


def test_training_is_for_those_who_decide_what_is_evaluated(runner, session, people):
    factories.create_form(session)
    _evaluated_chats(session, people, 48)
    refused = runner.invoke("flagging", "train", "--as", "qa")
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    assert session.scalar(select(func.count(FlaggingModel.id))) == 0
    admin = factories.create_user(session, "admin.f", roles=["admin"])
    session.commit()
    done = runner.invoke("flagging", "train", "--as", "admin.f", "--no-apply")
    assert done.exit_code == 0, done.output
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "flagging.trained"))
    assert entry.actor_id == admin.id
    assert session.scalar(select(func.count(ReviewFlag.id))) == 0  # --no-apply: none scored


def test_a_model_no_better_than_chance_is_refused(session, people):
    """Verdicts that have nothing to do with the words (each chat text scored well three
    times and poorly three times): cross-validation sees it, and nothing is stored."""
    factories.create_form(session)
    for n in range(48):
        body = (ANGRY if n % 2 else CALM)[n // 2 % 4] + f"\nAgent: Reference {n}."
        chat = factories.create_interaction(session, people["agent_a"], channel="chat",
                                            body=body)
        evaluation = ev.start_evaluation(session, people["qa"], chat)
        ev.submit(session, people["qa"], evaluation.id, POOR if n // 8 % 2 else GOOD)
    session.commit()
    with pytest.raises(flagging.FlaggingError, match="would not tell problems apart"):
        flagging.train(session)
    assert session.scalar(select(func.count(FlaggingModel.id))) == 0


def test_targeted_evaluations_do_not_teach_the_model(session, people, trained):
    """Evaluations drawn because a model flagged them would teach the next model its own
    picks (more problems each round, more flags): training leaves them out."""
    from scoring.evaluations.models import Evaluation

    extra = _evaluated_chats(session, people, 10)
    ids = [c.id for c in extra]
    for evaluation in session.scalars(select(Evaluation).where(
            Evaluation.interaction_id.in_(ids))):
        evaluation.targeted = True
    session.commit()
    ids_used, _rows, _labels = flagging.training_set(session, 80)
    assert len(ids_used) == 48 and not set(ids) & set(ids_used)
    assert flagging.train(session).version == trained.version  # the same examples, same model


def test_a_model_pickled_before_the_restructure_still_loads_and_flags(session, people):
    """A site's stored models name module paths (transcription.flagging's feature functions):
    this one was pickled by the code before the layers were reshaped (qm.interactions, the
    verdicts signal), and must load and score with the code of today."""
    payload = (Path(__file__).parents[1] / "data" / "flagging_model_before_restructure.joblib"
               ).read_bytes()
    session.add(FlaggingModel(version="m-before-the-move", examples=60, report={},
                              payload=payload))
    chat = factories.create_interaction(session, people["agent_a"], channel="chat",
                                        body="Customer: you were rude, I want a manager\n"
                                             "Agent: wait")
    session.commit()
    loaded = flagging.current(session)
    assert loaded is not None and loaded.version == "m-before-the-move"
    transcript = session.scalar(select(Transcript).where(Transcript.interaction_id == chat.id))
    probability, reasons = loaded.verdict(flagging.row_of(transcript))
    assert 0.5 < probability <= 1 and reasons  # it learnt that "rude ... manager" is a problem
