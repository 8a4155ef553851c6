"""Call metrics: timelines with answers worked out by hand, then properties of every timeline."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transcription.metrics import CallMetrics, measure
from transcription.timeline import Segment, Word, merge


def agent(start, end, text="x"):
    return Segment(start, end, text, "agent")


def customer(start, end, text="x", words=()):
    return Segment(start, end, text, "customer", words=words)


def mono(start, end, text="x"):
    return Segment(start, end, text, "speaker")


def test_overtalk_and_the_basic_figures():
    m = measure(
        [
            agent(0, 10, "hello there"),
            agent(20, 30, "how can I help"),
            customer(8, 15, "my card is broken"),
            customer(28, 40, "yes"),
        ],
        60,
    )
    # agent union [0,10] [20,30] = 20; customer [8,15] [28,40] = 7 + 12 = 19
    assert m.agent_talk_s == 20
    assert m.customer_talk_s == 19
    # both talk in [8,10] and [28,30]
    assert m.overtalk_s == 4
    # someone talks in [0,15] and [20,40] = 35; silent [15,20] and [40,60] = 5 + 20
    assert m.talk_s == 35
    assert m.silence_s == 25
    assert m.longest_silence_s == 20
    assert m.silences_over_10s == 1
    assert m.hold_like_gaps == 0
    assert m.talk_ratio == pytest.approx(20 / 39)
    # agent: 6 words in 20 s = 18 wpm; customer: 5 words in 19 s
    assert (m.agent_words, m.customer_words, m.words) == (6, 5, 11)
    assert m.agent_wpm == pytest.approx(18.0)
    assert m.customer_wpm == pytest.approx(5 / (19 / 60))
    assert m.wpm == pytest.approx(11 / (35 / 60))
    assert m.mono is False


def test_nested_and_overlapping_segments_of_one_speaker_count_once():
    # agent union: [0,30] swallows [5,10]; [25,35] extends it -> [0,35] = 35 s
    m = measure([agent(0, 30), agent(5, 10), agent(25, 35)], 40)
    assert m.agent_talk_s == 35
    assert m.customer_talk_s == 0
    assert m.overtalk_s == 0
    assert m.silence_s == 5  # trailing [35,40]
    assert m.talk_ratio == 1.0
    assert m.customer_wpm is None
    assert m.agent_wpm == pytest.approx(3 / (35 / 60))


def test_leading_and_trailing_silence_count_and_touching_turns_leave_no_gap():
    # silent [0,12] and [25,40]; customer [12,20] and agent [20,25] touch, so no gap at 20
    m = measure([customer(12, 20), agent(20, 25)], 40)
    assert m.silence_s == 27
    assert m.longest_silence_s == 15
    assert m.silences_over_10s == 2
    assert m.talk_s == 13


def test_a_silence_of_exactly_ten_seconds_is_not_over_ten():
    # gaps: [5,15] = 10.0 (not over), [20,30.5] = 10.5 (over), [40,40] none
    m = measure([agent(0, 5), customer(15, 20), agent(30.5, 40)], 40)
    assert m.silences_over_10s == 1
    assert m.longest_silence_s == 10.5


def test_float_noise_does_not_push_a_ten_second_silence_over():
    assert 16.1 - 6.1 > 10  # the float arithmetic says 10.000000000000002
    m = measure([agent(0, 6.1), customer(16.1, 20)], 20)
    assert m.silences_over_10s == 0


def test_hold_like_gaps_are_at_least_the_hold_threshold():
    # gaps: [10,40] = 30 (hold: >= 30), [50,79.9] = 29.9 (not), [90,150] = 60 (hold)
    m = measure([agent(0, 10), customer(40, 50), agent(79.9, 90), customer(150, 200)], 200)
    assert m.hold_like_gaps == 2
    assert m.silences_over_10s == 3
    assert m.longest_silence_s == 60
    assert m.silence_s == pytest.approx(119.9)
    # the thresholds are parameters and are kept with the figures
    m = measure([agent(0, 10), customer(40, 50)], 50, silence_threshold_s=30, hold_threshold_s=31)
    assert (m.silences_over_10s, m.hold_like_gaps) == (0, 0)
    assert (m.silence_threshold_s, m.hold_threshold_s) == (30.0, 31.0)


def test_mono_reports_talk_without_parties():
    # union [0,15]; silent [15,20]; 5 words in 15 s = 20 wpm
    m = measure([mono(0, 10, "one two three"), mono(5, 15, "four five")], 20)
    assert m.mono is True
    assert m.talk_s == 15
    assert m.silence_s == 5
    assert m.agent_talk_s is None and m.customer_talk_s is None
    assert m.talk_ratio is None
    assert m.agent_wpm is None and m.customer_wpm is None
    assert m.agent_words is None
    assert m.overtalk_s == 0.0
    assert m.wpm == pytest.approx(20.0)


def test_empty_timeline_is_all_silence():
    m = measure([], 30)
    assert m.mono is False
    assert (m.talk_s, m.agent_talk_s, m.customer_talk_s, m.overtalk_s) == (0, 0, 0, 0)
    assert (m.silence_s, m.longest_silence_s) == (30, 30)
    assert (m.silences_over_10s, m.hold_like_gaps) == (1, 1)
    assert m.talk_ratio is None
    assert (m.agent_wpm, m.customer_wpm, m.wpm) == (None, None, None)
    # a silent mono recording, when the caller knows it is mono
    m = measure([], 30, mono=True)
    assert m.mono is True and m.agent_talk_s is None
    # a zero-length call has no silences at all
    m = measure([], 0)
    assert (m.silence_s, m.longest_silence_s, m.silences_over_10s, m.hold_like_gaps) == (0, 0, 0, 0)


def test_segments_are_clipped_and_broken_ones_ignored():
    words = (
        Word(26, 27, " yes", 0.9),
        Word(28, 29, " -", 0.9),  # not a word
        Word(35, 36, " bye", 0.9),  # midpoint 35.5 is after the end of the call
    )
    m = measure(
        [
            agent(-5, 10, "a b"),  # clipped to [0,10]
            customer(25, 45, "yes - bye", words),  # clipped to [25,30]
            agent(31, 40, "gone"),  # wholly after the end
            customer(12, 12, "zero"),  # zero length
            agent(20, 18, "backwards"),  # negative
            agent(math.nan, 5, "nan"),
        ],
        30,
    )
    assert m.agent_talk_s == 10
    assert m.customer_talk_s == 5
    assert m.silence_s == 15  # [10,25]
    assert m.agent_words == 2
    assert m.customer_words == 1
    assert m.customer_wpm == pytest.approx(12.0)


def test_words_without_letters_or_digits_are_not_counted():
    m = measure([agent(0, 60, "well - I ... see 42")], 60)
    assert m.agent_words == 4
    assert m.agent_wpm == 4.0


def test_no_pace_below_one_second_of_talk():
    m = measure([agent(0, 0.5, "yes"), customer(1, 2, "no")], 10)
    assert m.agent_wpm is None
    assert m.customer_wpm == 60.0
    assert m.wpm == pytest.approx(2 * 60 / 1.5)


def test_as_dict_rounds_for_json():
    m = measure([agent(0, 10, "a b c"), customer(8.123456, 15, "d")], 60)
    d = m.as_dict()
    assert d["customer_talk_s"] == 6.88
    assert d["overtalk_s"] == 1.88
    assert d["talk_ratio"] == round(10 / (10 + 15 - 8.123456), 4)
    assert d["agent_wpm"] == 18.0
    assert d["customer_wpm"] == round(1 / ((15 - 8.123456) / 60), 1)
    assert d["silences_over_10s"] == 1 and isinstance(d["silences_over_10s"], int)
    assert d["mono"] is False
    assert set(d) == set(CallMetrics.__dataclass_fields__)


def test_invalid_input_is_refused():
    with pytest.raises(ValueError):
        measure([], -1)
    with pytest.raises(ValueError):
        measure([], math.inf)
    with pytest.raises(ValueError):
        measure([], 10, silence_threshold_s=-1)
    with pytest.raises(ValueError, match="mixes"):
        measure([agent(0, 1), mono(2, 3)], 10)
    with pytest.raises(ValueError):
        measure([agent(0, 1)], 10, mono=True)
    with pytest.raises(ValueError):
        measure([mono(0, 1)], 10, mono=False)
    with pytest.raises(ValueError, match="unknown speaker"):
        Segment(0, 1, "x", "Agent")


def test_measure_accepts_a_generator_and_merge_orders_tracks():
    a = [agent(5, 6), agent(0, 2)]
    c = [customer(0, 1), customer(5, 6)]
    timeline = merge(a, c)
    assert [(s.start, s.end, s.speaker) for s in timeline] == [
        (0, 1, "customer"), (0, 2, "agent"), (5, 6, "agent"), (5, 6, "customer"),
    ]
    assert measure((s for s in timeline), 10).talk_s == 3


def test_segment_words_become_a_tuple():
    s = Segment(0, 1, " hi", "agent", words=[Word(0, 1, " hi", 0.5)])  # type: ignore[arg-type]
    assert s.words == (Word(0, 1, " hi", 0.5),)
    assert hash(s) == hash(Segment(0, 1, " hi", "agent", words=(Word(0, 1, " hi", 0.5),)))
    assert Segment(3, 1, "", "agent").duration == 0.0


def test_the_pure_modules_import_neither_flask_nor_the_database():
    code = (
        "import sys, transcription.timeline, transcription.metrics, transcription.redaction; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'qm')); "
        "assert not bad, bad"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


# -- properties -------------------------------------------------------------------------------


@st.composite
def two_speaker_calls(draw, inside=True):
    duration = draw(st.floats(min_value=0, max_value=7200, allow_nan=False))
    lo, hi = (0.0, duration) if inside else (-duration - 1, 2 * duration + 1)
    times = st.floats(min_value=lo, max_value=hi, allow_nan=False)
    segments = draw(st.lists(
        st.builds(Segment, times, times, st.just("x y"), st.sampled_from(["agent", "customer"])),
        max_size=40,
    ))
    return segments, duration


def check_identities(m: CallMetrics) -> None:
    assert m.agent_talk_s is not None and m.customer_talk_s is not None
    total = m.agent_talk_s + m.customer_talk_s - m.overtalk_s + m.silence_s
    assert abs(total - m.duration_s) <= 1e-9
    assert abs(m.talk_s + m.silence_s - m.duration_s) <= 1e-9
    for value in (m.talk_s, m.agent_talk_s, m.customer_talk_s, m.overtalk_s, m.silence_s,
                  m.longest_silence_s, m.silences_over_10s, m.hold_like_gaps):
        assert value >= 0
    assert m.overtalk_s <= min(m.agent_talk_s, m.customer_talk_s) + 1e-9
    assert m.longest_silence_s <= m.silence_s + 1e-9
    assert m.hold_like_gaps <= m.silences_over_10s  # every 30 s gap is over 10 s
    if m.talk_ratio is not None:
        assert 0 <= m.talk_ratio <= 1
    for wpm in (m.agent_wpm, m.customer_wpm, m.wpm):
        assert wpm is None or wpm >= 0


@settings(max_examples=300, deadline=None)
@given(two_speaker_calls())
def test_talk_minus_overtalk_plus_silence_is_the_call(call):
    segments, duration = call
    check_identities(measure(segments, duration))


@settings(max_examples=200, deadline=None)
@given(two_speaker_calls(inside=False))
def test_the_identity_holds_after_clipping_too(call):
    segments, duration = call
    check_identities(measure(segments, duration))


@settings(max_examples=200, deadline=None)
@given(two_speaker_calls())
def test_order_of_segments_does_not_matter(call):
    segments, duration = call
    assert measure(segments, duration) == measure(list(reversed(segments)), duration)
