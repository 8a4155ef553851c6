"""Rule detectors of the named flags (issue 16), on transcripts built by hand: segments with
word times as the pipeline stores them, chats as ``texts`` stores them, metrics as
``metrics.measure`` writes them. Each rule fires with evidence a person can check (the words
and their time, the silence and where it starts), or does not fire."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from transcription.flagging.evidence import Evidence, clock, duration, ordinal
from transcription.flagging.rules import (
    RULES,
    STARTER_RULES,
    Contact,
    Finding,
    HoldRule,
    MissingPhraseRule,
    OvertalkRule,
    PhraseRule,
    RepeatContactRule,
    RuleError,
    SilenceRule,
    TalkShareRule,
    TranscriptView,
    rule_from_dict,
    tokens_of,
)


def seg(speaker: str, start: float, text: str, pace: float = 0.4) -> dict:
    """A stored segment whose words follow each other every ``pace`` seconds."""
    words = []
    at = start
    for token in text.split():
        words.append([round(at, 3), round(at + pace - 0.05, 3), " " + token, 0.9])
        at += pace
    return {"start": start, "end": round(at - 0.05, 3), "speaker": speaker, "text": text,
            "confidence": None, "words": words}


def call(*segments: dict, metrics: dict | None = None, **kwargs) -> TranscriptView:
    text = " ".join(s["text"] for s in segments)
    return TranscriptView.from_stored(text, list(segments), metrics or {}, "audio", **kwargs)


def chat(*lines: tuple[str, str]) -> TranscriptView:
    """As ``texts`` stores a chat: a segment per message, its line number for a time, no
    words."""
    segments = [{"start": float(n), "end": float(n), "speaker": who, "text": said,
                 "confidence": None, "words": []} for n, (who, said) in enumerate(lines)]
    return TranscriptView.from_stored(" ".join(s for _w, s in lines), segments,
                                      {"messages": len(lines)}, "text")


CANCEL = PhraseRule(("cancel my account",))


# -- phrases ------------------------------------------------------------------------------------


def test_a_phrase_is_found_with_the_time_and_the_words_to_highlight():
    view = call(seg("agent", 95.0, "How can I help?"),
                seg("customer", 101.0, "Hello, I want to cancel my account today."))
    found = CANCEL.check(view)
    assert found.fired and found.score == 0.5
    (evidence,) = found.evidence
    assert evidence.kind == "phrase" and evidence.speaker == "customer"
    assert evidence.text == "customer said 'cancel my account' at 1:42"
    assert evidence.segment == 1 and evidence.marks == ((1, 4), (1, 5), (1, 6))
    assert evidence.start == pytest.approx(102.6) and evidence.end == pytest.approx(103.75)


def test_a_phrase_said_over_two_segments_of_the_customer_is_one_match():
    view = call(seg("customer", 10.0, "I really want to cancel"),
                seg("agent", 11.5, "mm-hm"),
                seg("customer", 12.5, "my account, please."))
    (evidence,) = CANCEL.check(view).evidence
    assert evidence.marks == ((0, 4), (2, 0), (2, 1))  # highlighted in both segments
    assert evidence.start == pytest.approx(11.6) and evidence.end == pytest.approx(13.25)
    assert "'cancel my account'" in evidence.text and evidence.text.endswith("at 0:11")


def test_a_long_pause_parts_a_phrase():
    view = call(seg("customer", 10.0, "I want to cancel"),
                seg("customer", 16.0, "my account"))  # 4.45 s after "cancel"
    assert not CANCEL.check(view).fired
    assert PhraseRule(("cancel my account",), max_gap_s=5.0).check(view).fired


def test_the_agent_saying_a_customer_phrase_does_not_count_unless_anyone_counts():
    view = call(seg("agent", 5.0, "Do you want me to cancel my account for you? I mean yours."),
                seg("customer", 9.0, "No thanks."))
    assert not CANCEL.check(view).fired
    anyone = PhraseRule(("cancel my account",), speakers=None).check(view)
    assert anyone.fired and anyone.evidence[0].text.startswith("agent said")
    assert PhraseRule(("cancel my account",), speakers=("agent",)).check(view).fired


def test_case_punctuation_apostrophes_and_hyphens_do_not_count():
    view = call(seg("customer", 0.0, "CANCEL, my Account!! I don't want a follow-up call."))
    assert CANCEL.check(view).fired
    assert PhraseRule(("dont want",)).check(view).fired
    assert PhraseRule(("don't want",)).check(view).fired
    assert PhraseRule(("follow up",)).check(view).fired
    assert PhraseRule(("Follow-Up Call",)).check(view).fired
    assert not PhraseRule(("cancel my accounts",)).check(view).fired  # words, not prefixes
    evidence = CANCEL.check(view).evidence[0]
    assert "'CANCEL, my Account'" in evidence.text  # quoted as said, outer punctuation off


def test_a_redaction_tag_is_no_word_and_stops_a_phrase():
    view = call(seg("customer", 0.0, "cancel my [CARD] account and my card [CARD] number"))
    assert not CANCEL.check(view).fired
    assert not PhraseRule(("card number",)).check(view).fired
    assert PhraseRule(("my card",)).check(view).fired  # the spoken word "card" still counts
    assert tokens_of("my [CARD] card.") == ["my", None, "card"]
    with pytest.raises(RuleError, match="tag"):
        PhraseRule(("my [CARD]",))


def test_several_matches_score_higher_and_the_longest_phrase_wins():
    once = call(seg("customer", 0.0, "I want to cancel my account"))
    twice = call(seg("customer", 0.0, "cancel my account, I said cancel my account"))
    assert CANCEL.check(twice).score > CANCEL.check(once).score
    rule = PhraseRule(("cancel", "cancel my account"))
    (only,) = rule.check(once).evidence
    assert "'cancel my account'" in only.text and len(only.marks) == 3


def test_a_chat_gives_the_message_not_a_time():
    view = chat(("customer", "hi there"), ("agent", "Hello! How can I help?"),
                ("customer", "I'd like to cancel"), ("customer", "my account please"))
    (evidence,) = CANCEL.check(view).evidence
    assert evidence.text == "customer wrote 'cancel my account' in message 3"
    assert evidence.start is None and evidence.end is None
    assert evidence.segment == 2 and evidence.marks == ((2, 3), (3, 0), (3, 1))


def test_a_chat_phrase_does_not_run_across_the_other_partys_message():
    view = chat(("customer", "I'd like to cancel"), ("agent", "Sorry?"),
                ("customer", "my account"))
    assert not CANCEL.check(view).fired


def test_a_mono_recording_counts_but_does_not_say_who():
    view = call(seg("speaker", 60.0, "yes please cancel my account"))
    (evidence,) = CANCEL.check(view).evidence
    assert evidence.text == "'cancel my account' was said at 1:00" and evidence.speaker is None


def test_a_segment_without_word_times_gives_the_segments_time():
    stored = {"start": 30.0, "end": 34.0, "speaker": "customer",
              "text": "please cancel my account", "words": []}
    (evidence,) = CANCEL.check(call(stored)).evidence
    assert (evidence.start, evidence.end) == (30.0, 34.0) and evidence.marks == (
        (0, 1), (0, 2), (0, 3))


def test_malformed_stored_values_are_skipped_not_raised():
    stored = [{"start": "x", "end": None, "speaker": "customer", "text": "cancel my account",
               "words": [["a", None, " cancel"], "junk", [1.0]]}, "not a segment"]
    view = TranscriptView.from_stored(None, stored, None, "audio")
    found = CANCEL.check(view)
    assert not found.fired  # the only word left is "cancel"
    assert not SilenceRule(10).check(view).fired
    broken = [{"start": 0.0, "end": 2.0, "speaker": "customer", "text": "x cancel my account",
               "words": ["junk", [0.5, 0.9, " cancel", 0.9], [0.9, 1.2, " my", 0.9],
                         [1.2, 1.6, " account", 0.9]]}]
    (evidence,) = CANCEL.check(TranscriptView.from_stored("", broken, {}, "audio")).evidence
    assert evidence.marks == ((0, 1), (0, 2), (0, 3))  # the stored words' places, junk counted


# -- a missing disclosure ------------------------------------------------------------------------


DISCLOSURE = MissingPhraseRule(("this call may be recorded", "calls are recorded"), min_words=8)


def test_a_disclosure_the_agent_never_gave_fires():
    view = call(seg("agent", 0.0, "Hello you are through to broadband how can I help"),
                seg("customer", 5.0, "this call may be recorded by me"))
    found = DISCLOSURE.check(view)
    assert found.fired and found.evidence[0].speaker == "agent"
    assert found.evidence[0].text.startswith("the agent said none of")
    said = call(seg("agent", 0.0, "Hello, this call may be recorded, how can I help you today"))
    assert not DISCLOSURE.check(said).fired
    short = call(seg("agent", 0.0, "Hello?"))
    assert not DISCLOSURE.check(short).fired  # too short to judge


# -- silence, hold, overtalk, talk share ---------------------------------------------------------


def test_a_long_silence_from_the_stored_metrics():
    view = call(seg("agent", 0.0, "one moment"),
                metrics={"duration_s": 300.0, "longest_silence_s": 48.31,
                         "longest_silence_at_s": 190.2})
    found = SilenceRule(min_s=30).check(view)
    assert found.fired and found.evidence[0].text == "silence of 48 s at 3:10"
    assert found.evidence[0].start == 190.2 and found.evidence[0].end == pytest.approx(238.51)
    assert not SilenceRule(min_s=60).check(view).fired
    longer = call(metrics={"longest_silence_s": 80.0, "longest_silence_at_s": 10.0})
    assert SilenceRule(30).check(longer).score > found.score


def test_a_silence_measured_from_the_segments_when_no_metrics_were_stored():
    view = call(seg("agent", 0.0, "let me check"), seg("agent", 60.0, "thanks for waiting"),
                duration_s=62.0)
    (evidence,) = SilenceRule(min_s=30).check(view).evidence
    assert evidence.text == "silence of 59 s at 0:01" and evidence.start == pytest.approx(1.15)


def test_a_hold_is_a_longer_silence_in_its_own_words():
    view = call(metrics={"longest_silence_s": 125.0, "longest_silence_at_s": 3725.0})
    found = HoldRule().check(view)
    assert found.evidence[0].text == "hold or silence of 2 min 5 s at 1:02:05"
    assert not HoldRule(min_s=200).check(view).fired and SilenceRule().check(view).fired


def test_a_chat_has_no_silence_or_overtalk():
    view = chat(("customer", "hello"))
    assert not SilenceRule(1).check(view).fired
    assert not OvertalkRule(min_total_s=0.1).check(view).fired


def test_overtalk_the_longest_stretch_and_in_all():
    view = call(metrics={"overtalk_s": 14.2, "longest_overtalk_s": 6.0,
                         "longest_overtalk_at_s": 125.4})
    found = OvertalkRule(min_longest_s=5, min_total_s=10).check(view)
    assert found.reasons == ["both talked over each other for 6 s at 2:05",
                             "both talked at once for 14 s in all"]
    assert not OvertalkRule(min_longest_s=7).check(view).fired
    assert OvertalkRule(min_total_s=14).check(view).fired
    with pytest.raises(RuleError, match="min_total_s, min_longest_s"):
        OvertalkRule()


def test_overtalk_measured_from_the_segments():
    view = call(seg("agent", 0.0, "so what I was saying is that the plan"),
                seg("customer", 1.0, "no no no listen to me"), duration_s=10.0)
    (evidence,) = OvertalkRule(min_longest_s=1.0).check(view).evidence
    assert evidence.start == pytest.approx(1.0) and "at 0:01" in evidence.text
    mono = call(seg("speaker", 0.0, "a b c d"), seg("speaker", 0.5, "e f g h"))
    assert not OvertalkRule(min_total_s=0.1).check(mono).fired


def test_talk_share_of_a_call_and_of_a_chat():
    view = call(metrics={"agent_talk_s": 22.0, "customer_talk_s": 78.0})
    found = TalkShareRule("customer", 0.7).check(view)
    assert found.evidence[0].text == "the customer talked 78% of the call"
    assert not TalkShareRule("agent", 0.5).check(view).fired
    assert not TalkShareRule("customer", 0.8).check(view).fired
    short = call(metrics={"agent_talk_s": 2.0, "customer_talk_s": 9.0})
    assert not TalkShareRule("customer", 0.7).check(short).fired  # too short to mean much
    mono = call(metrics={"agent_talk_s": None, "customer_talk_s": None, "talk_s": 90.0})
    assert not TalkShareRule("customer", 0.5).check(mono).fired
    typed = TranscriptView.from_stored("", [], {"agent_words": 10, "customer_words": 40},
                                       "text")
    assert TalkShareRule("customer", 0.7).check(typed).reasons == [
        "the customer wrote 80% of the words of the chat"]


# -- repeat contact -----------------------------------------------------------------------------


def test_a_third_contact_within_seven_days():
    now = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
    earlier = [Contact(now - dt.timedelta(days=1), 11), (now - dt.timedelta(days=6), 12),
               Contact(now - dt.timedelta(days=9), 13),  # too long ago
               Contact(now + dt.timedelta(days=1), 14)]  # later: not an earlier contact
    view = call(at=now, earlier=earlier)
    found = RepeatContactRule(days=7, min_contacts=3).check(view)
    assert found.reasons == ["third contact from this customer in 7 days"]
    assert found.evidence[0].related == (12, 11)
    assert not RepeatContactRule(days=7, min_contacts=4).check(view).fired
    assert not RepeatContactRule(days=2, min_contacts=3).check(view).fired
    naive = call(at=now.replace(tzinfo=None), earlier=[(now - dt.timedelta(hours=1), None)])
    assert RepeatContactRule(days=1, min_contacts=2).check(naive).reasons == [
        "second contact from this customer in 1 day"]
    assert not RepeatContactRule().check(call()).fired  # nobody said when


# -- parameters, JSON, words --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STARTER_RULES))
def test_every_rule_goes_to_json_and_back(name):
    rule = STARTER_RULES[name]
    stored = json.loads(json.dumps(rule.to_dict()))
    assert rule_from_dict(stored) == rule and stored["kind"] in RULES


@pytest.mark.parametrize(("data", "says"), [
    ({"kind": "nonsense"}, "Unknown rule"),
    ({"kind": "phrase", "phrases": []}, "at least one phrase"),
    ({"kind": "phrase", "phrases": ["..."]}, "no word"),
    ({"kind": "phrase", "phrases": ["x"], "speakers": ["boss"]}, "Speakers"),
    ({"kind": "silence", "min_s": -3}, "min_s"),
    ({"kind": "silence", "min_s": "long"}, "min_s"),
    ({"kind": "silence", "threshold": 3}, "no parameter threshold"),
    ({"kind": "talk_share", "party": "customer", "min_share": 70}, "min_share"),
    ({"kind": "talk_share", "party": "manager"}, "party"),
    ({"kind": "repeat_contact", "min_contacts": 1}, "min_contacts"),
    ({"kind": "repeat_contact", "days": 0}, "days"),
    ("silence", "named parameters"),
])
def test_a_rule_that_makes_no_sense_is_refused_in_words(data, says):
    with pytest.raises(RuleError, match=says):
        rule_from_dict(data)


def test_evidence_and_findings_go_to_json_and_back():
    evidence = Evidence("phrase", "customer said 'x' at 0:01", 1.234, 2.5, "customer", 0,
                        ((0, 1), (1, 0)), (7,))
    finding = Finding(True, 0.75, (evidence,))
    again = Finding.from_dict(json.loads(json.dumps(finding.as_dict())))
    assert again.evidence[0].marks == ((0, 1), (1, 0)) and again.evidence[0].start == 1.23
    assert again.fired and again.score == 0.75 and again.evidence[0].related == (7,)
    with pytest.raises(ValueError, match="kind"):
        Evidence("feature", "x")


@pytest.mark.parametrize(("seconds", "shown"), [
    (0, "0:00"), (9.99, "0:09"), (102.7, "1:42"), (3599.9, "59:59"), (3605, "1:00:05"),
    (-1, "0:00"), (float("nan"), "0:00")])
def test_times_read_as_a_player_shows_them(seconds, shown):
    assert clock(seconds) == shown


def test_durations_and_counts_read_as_words():
    assert [duration(s) for s in (48.4, 48.5, 89.4, 125, 120, 3725)] == [
        "48 s", "49 s", "89 s", "2 min 5 s", "2 min", "1 h 2 min"]
    assert [ordinal(n) for n in (1, 3, 10, 11, 12, 21, 22, 113)] == [
        "first", "third", "tenth", "11th", "12th", "21st", "22nd", "113th"]


def test_turns_are_a_speakers_runs_in_the_order_they_start():
    view = call(seg("customer", 0.0, "I want to"), seg("agent", 0.5, "yes"),
                seg("customer", 1.5, "cancel it"), seg("customer", 9.0, "hello?"),
                seg("agent", 3.0, "ok"))
    assert [[p.index for p in turn] for turn in view.turns(("customer",))] == [[0, 2], [3]]
    assert [[p.index for p in turn] for turn in view.turns()] == [[0, 2], [1], [4], [3]]
    assert view.said_by("customer") == "I want to cancel it hello?"
