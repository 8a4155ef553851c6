"""Speech activity and utterances (issue 15), on constructed values: pauses under 0.5 s are talk,
metrics come from activity when it is known, words are trimmed to the speech they overlap, and
segments are utterances of at most 15 s."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from transcription import activity, metrics, segmenting
from transcription.timeline import Segment, Word


def test_bridge_joins_pauses_under_half_a_second_only():
    spans = [(3.2, 4.0), (0.0, 1.0), (1.4, 2.0), (2.5, 2.6), (4.0, 4.2), (5.0, 5.0)]
    # 1.0 -> 1.4 is 0.4 s: talk; 2.0 -> 2.5 is 0.5 s: a pause; touching spans join; an empty
    # span is dropped
    assert activity.bridge(spans) == [(0.0, 2.0), (2.5, 2.6), (3.2, 4.2)]
    assert activity.bridge(spans, max_pause_s=0.0) == [
        (0.0, 1.0), (1.4, 2.0), (2.5, 2.6), (3.2, 4.2)]


def test_no_speech_in_silence_or_noise():
    assert activity.speech_spans(np.zeros(0, dtype=np.float32)) == []
    assert activity.speech_spans(np.zeros(16000 * 3, dtype=np.float32)) == []
    noise = np.random.default_rng(1).normal(0, 0.0003, 16000 * 3).astype(np.float32)
    assert activity.speech_spans(noise) == []
    with pytest.raises(ValueError, match="16000 Hz"):
        activity.speech_spans(np.zeros(8000, dtype=np.float32), sample_rate=8000)


def test_metrics_come_from_activity_and_words_from_segments():
    # A segment that runs over the pause between two utterances (as Whisper's do): from its
    # boundaries the agent talks 10 s; their channel's activity says 3 s
    segments = [Segment(0.0, 10.0, " one two three four", "agent",
                        (Word(0.0, 1.0, " one", 0.9), Word(1.0, 2.0, " two", 0.9),
                         Word(8.0, 9.0, " three", 0.9), Word(9.0, 10.0, " four", 0.9))),
                Segment(4.0, 6.0, " yes", "customer")]
    by_segments = metrics.measure(segments, 12.0)
    assert by_segments.agent_talk_s == 10.0 and by_segments.overtalk_s == 2.0
    found = metrics.measure(segments, 12.0, activity={
        "agent": [(0.2, 1.9), (8.1, 9.4)], "customer": [(4.5, 5.0)]})
    assert found.agent_talk_s == pytest.approx(3.0)
    assert found.customer_talk_s == pytest.approx(0.5)
    assert found.overtalk_s == 0.0
    assert found.longest_silence_s == pytest.approx(8.1 - 5.0)
    assert found.longest_silence_at_s == 5.0  # where a flag's reason points
    assert (found.longest_overtalk_s, found.longest_overtalk_at_s) == (0.0, None)
    both = metrics.measure([], 10.0, activity={"agent": [(1.0, 4.0), (6.0, 9.0)],
                                               "customer": [(3.0, 4.0), (6.5, 8.0)]})
    assert (both.longest_overtalk_s, both.longest_overtalk_at_s) == (1.5, 6.5)
    assert both.overtalk_s == 2.5 and both.longest_silence_at_s == 4.0
    assert found.silence_s == pytest.approx(12.0 - 3.5)
    assert found.agent_words == 4 and found.customer_words == 1
    # a dead channel: no talk at all, even where a segment says otherwise
    silent = metrics.measure(segments, 12.0, activity={"agent": [(0.2, 1.9)], "customer": []})
    assert silent.customer_talk_s == 0.0
    # mono activity makes a mono call
    mono = metrics.measure([], 5.0, activity={"speaker": [(1.0, 2.0)]})
    assert mono.mono and mono.talk_s == 1.0 and mono.agent_talk_s is None
    # spans outside the call are clipped
    assert metrics.measure([], 5.0, activity={"speaker": [(4.0, 9.0)]}).talk_s == 1.0


def _raw(words, start=0.0, end=None, text=None):
    return SimpleNamespace(
        start=start, end=end if end is not None else words[-1][1], avg_logprob=-0.1,
        text=text if text is not None else "".join(w[2] for w in words),
        words=[SimpleNamespace(start=a, end=b, word=t, probability=0.8) for a, b, t in words])


def test_words_are_trimmed_to_the_speech_they_overlap():
    words = [Word(0.0, 1.5, " one", 0.9), Word(1.5, 4.0, " two", 0.9), Word(5.0, 5.5, " x", 0.9)]
    spans = [(0.5, 1.2), (3.0, 3.6)]
    snapped = segmenting.snap(words, spans)
    assert [(w.start, w.end) for w in snapped] == [(0.5, 1.2), (3.0, 3.6), (5.0, 5.5)]
    assert [w.text for w in snapped] == [" one", " two", " x"]


def test_a_segment_is_an_utterance_on_its_words():
    # Whisper's window runs 0-30 s; the words pause 1.2 s after "two"
    raw = _raw([(2.0, 2.5, " one"), (2.6, 3.0, " two"), (4.2, 4.6, " three")], start=0.0,
               end=30.0)
    first, second = segmenting.to_segments(raw, "customer", duration_s=30.0)
    assert (first.start, first.end, first.text) == (2.0, 3.0, " one two")
    assert (second.start, second.end, second.text) == (4.2, 4.6, " three")
    # with activity, a pause Whisper's word times hid comes out
    hidden = _raw([(2.0, 3.5, " one"), (3.5, 5.0, " two")])
    joined = segmenting.to_segments(hidden, "agent", duration_s=9.0)
    assert len(joined) == 1
    split = segmenting.to_segments(hidden, "agent", duration_s=9.0,
                                   activity=[(2.1, 2.6), (4.0, 4.6)])
    assert [(s.start, s.end) for s in split] == [(2.1, 2.6), (4.0, 4.6)]


def test_long_utterances_are_cut_at_their_longest_pauses():
    # 40 words, 0.5 s each, 0.2 s apart, with 0.8 s pauses after words 10 and 25: 33 s
    words, t = [], 0.0
    for i in range(40):
        words.append(Word(t, t + 0.5, f" w{i}", 0.9))
        t += 0.5 + (0.8 if i in (9, 24) else 0.2)
    pieces = segmenting.split_long(words)
    assert all(p[-1].end - p[0].start <= segmenting.MAX_UTTERANCE_S for p in pieces)
    assert [len(p) for p in pieces] == [10, 15, 15]
    assert sum(len(p) for p in pieces) == 40
    # one long word cannot be cut
    assert segmenting.split_long([Word(0.0, 20.0, " hmm", 0.5)]) == [[Word(0.0, 20.0, " hmm",
                                                                            0.5)]]
