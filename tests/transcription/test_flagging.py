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


def _evaluated_chats(session, people, count: int, *, also_poor: int = 0) -> list:
    """``count`` chats of agent a, each evaluated by qa: the angry ones scored poorly, and with
    ``also_poor`` one chat in that many (the first, calm, included) too."""
    chats = []
    for n in range(count):
        angry = n % 2 == 1
        body = (ANGRY if angry else CALM)[n // 2 % 4] + f"\nAgent: Reference {n}."
        chat = factories.create_interaction(session, people["agent_a"], channel="chat",
                                            body=body)
        evaluation = ev.start_evaluation(session, people["qa"], chat)
        poor = angry or (also_poor and n % also_poor == 0)
        ev.submit(session, people["qa"], evaluation.id, POOR if poor else GOOD)
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
    # reasons in words: what was said, not the model's feature names (was {"useless", ...})
    assert {"said 'useless'", "said 'cancel'", "said 'manager'"} & set(angry_flag.reasons)
    assert "said 'and'" not in angry_flag.reasons
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
    assert 'id="review-flag"' in page and "said &#39;" in page
    assert trained.version not in page  # reasons in words, never the model's id
    auth.logout()
    auth.login("agent.a")
    page = client.get(f"/interactions/{chat.id}").get_data(as_text=True)
    assert 'id="written-chat"' in page and 'id="review-flag"' not in page


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




# --- where it flags, and why, in words ----------------------------------------------------------


def _mostly_problems(session, people, count: int = 50) -> None:
    """A centre where most evaluations find a problem (60%, as in the demo): every angry chat
    and one calm chat in five scored poorly. Flagging everything "reaches" 60% precision."""
    factories.create_form(session)
    _evaluated_chats(session, people, count, also_poor=10)


def test_the_threshold_is_chosen_for_precision_and_stored(session, people, trained):
    from transcription.flagging.training import TARGET_PRECISION

    stored = session.scalar(select(FlaggingModel)).report
    choice = stored["threshold_choice"]
    assert choice["target"] == f"precision >= {TARGET_PRECISION:g}" and choice["met"]
    assert stored["threshold"] == trained.threshold >= max(choice["value"], 0.5)
    assert trained.precision_at_threshold >= TARGET_PRECISION and not trained.fell_back
    assert trained.flagged_share == 0.5 and trained.recall_at_threshold == 1.0
    assert ("flags from 0.50 up: 50% of these evaluations, 100% of them with a problem "
            "(cross-validated)") in trained.lines()
    assert flagging.current(session).threshold == trained.threshold
    assert flagging.TrainReport(**stored) == trained  # what is stored reads back whole


def test_a_centre_with_mostly_problems_is_flagged_few(runner, session, people):
    """Where most evaluations find a problem, flagging everything would meet the target
    precision: the threshold falls back to flagging the fifth the model ranks highest, and
    fewer interactions are flagged than at 0.5."""
    from transcription.flagging.training import MAX_FLAGGED_SHARE, TARGET_PRECISION

    _mostly_problems(session, people)
    result = runner.invoke("flagging", "train")
    assert result.exit_code == 0, result.output
    report = flagging.TrainReport(**session.scalar(select(FlaggingModel)).report)
    assert report.prevalence == TARGET_PRECISION and report.fell_back
    assert report.threshold_choice["met"]  # met by flagging all 50: no better than at random
    assert report.threshold_choice["flagged"] == 50
    assert report.threshold > 0.5 and report.flagged_share <= MAX_FLAGGED_SHARE
    assert report.precision_at_threshold > report.prevalence
    assert "flags the 20% it ranks highest" in result.output
    probabilities = [f.probability for f in session.scalars(select(ReviewFlag))]
    at_half = sum(p >= 0.5 for p in probabilities)
    at_threshold = sum(p >= report.threshold for p in probabilities)
    flagged = session.scalar(select(func.count(ReviewFlag.id)).where(ReviewFlag.flagged))
    assert len(probabilities) == 50 and flagged == at_threshold
    assert 0 < at_threshold < at_half, (at_threshold, at_half)
    assert f"50 interaction(s) scored, {flagged} flagged for review." in result.output


def test_reasons_are_words_an_evaluator_can_check(session, people, trained):
    from transcription.flagging.features import NUMBERS

    chat = factories.create_interaction(session, people["agent_b"], channel="chat",
                                        body=NEW_ANGRY)
    session.commit()
    verdict = flagging.latest_flag(session, chat)
    assert verdict.flagged and verdict.reasons
    for reason in verdict.reasons:
        assert "_" not in reason and "m-" not in reason, reason
        assert not any(name in reason for name in NUMBERS if name != "words"), reason
        assert reason.startswith("said '") or reason.endswith(")"), reason


def test_figures_read_in_words_in_the_direction_the_call_went(session):
    """A figure is named only when it pushed the probability up, and "longer" or "shorter"
    follows the call (above or below the training mean), whichever way the model weighs it."""
    from transcription.flagging.features import FIGURE_WORDS, NUMBERS, figure_reason

    assert set(FIGURE_WORDS) == set(NUMBERS)
    assert figure_reason("duration_s", 400, True) == "longer than usual (6:40)"
    assert figure_reason("duration_s", 3725, True) == "longer than usual (1:02:05)"
    assert figure_reason("longest_silence_s", 48.4, True) == "long silence (48 s)"
    assert figure_reason("overtalk_s", 22.2, True) == "much overtalk (22 s)"
    assert figure_reason("talk_ratio", 0.8012, True) == "agent talks a lot (80% of the talk)"
    assert figure_reason("agent_wpm", 190.3, True) == "fast agent speech (190 words a minute)"
    assert figure_reason("customer_messages", 14, True) == (
        "more customer messages than usual (14)")
    assert figure_reason("customer_messages", 2, False) == (
        "fewer customer messages than usual (2)")
    assert figure_reason("redactions", 5, True) == "many redactions (5)"

    def call(seconds: float) -> dict:
        return {"text": "Agent: hello, thank you for calling", "metrics": {"duration_s": seconds}}

    lengths = [60.0 + 20 * n for n in range(40)]  # 1:00 to 14:00
    for long_is_a_problem in (True, False):
        labels = [int((n >= 20) == long_is_a_problem) for n in range(40)]
        pipeline = flagging.build_pipeline().fit([call(s) for s in lengths], labels)
        loaded = flagging.Loaded("t", pipeline, 0.6)
        long_p, long_reasons = loaded.verdict(call(800))
        short_p, short_reasons = loaded.verdict(call(70))
        if long_is_a_problem:
            assert long_p > 0.5 and long_reasons[0] == "longer than usual (13:20)"
            assert not any("usual" in reason for reason in short_reasons)  # pushed it down
        else:
            assert short_p > 0.5 and short_reasons[0] == "shorter than usual (1:10)"
            assert not any("usual" in reason for reason in long_reasons)
    # a figure the transcript lacks (a chat has no duration) is never a reason
    _p, reasons = loaded.verdict({"text": "Agent: hello", "metrics": {}})
    assert not any("usual" in reason for reason in reasons)


def test_a_model_trained_before_thresholds_were_chosen_flags_from_half(session, people):
    """Reports stored before training chose a threshold lack it: they load, and their model
    flags from ``THRESHOLD`` (0.5) as it always did."""
    _mostly_problems(session, people)
    report = flagging.train(session)
    stored = session.scalar(select(FlaggingModel))
    stored.report = {k: v for k, v in stored.report.items() if k in (
        "version", "examples", "problems", "score_below", "folds", "cv_roc_auc", "prevalence",
        "top_decile_precision", "sklearn")}
    stored.version = "m-before-thresholds"
    session.commit()
    old = flagging.TrainReport(**stored.report)
    assert old.threshold is None and not any("flags from" in line for line in old.lines())
    loaded = flagging.current(session)
    assert loaded.threshold == flagging.THRESHOLD == 0.5 < report.threshold
    chats = [factories.create_interaction(session, people["agent_b"], channel="chat",
                                          body=body + f"\nAgent: Reference {90 + n}.")
             for n, body in enumerate([*ANGRY, *CALM])]
    session.commit()
    verdicts = [flagging.latest_flag(session, chat) for chat in chats]
    assert {v.model_version for v in verdicts} == {"m-before-thresholds"}
    assert all(v.flagged == (v.probability >= 0.5) for v in verdicts)
    # some angry chats the new model would leave under its threshold are flagged from 0.5
    assert any(0.5 <= v.probability < report.threshold and v.flagged for v in verdicts)
