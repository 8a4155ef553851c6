"""Rule detectors: flags a person can read and check, each with the evidence that fired it.

A rule is a small frozen value holding its parameters (``PhraseRule(("cancel my account",))``,
``SilenceRule(min_s=30)``) with one method, ``check(view) -> Finding``. ``view`` is a
``TranscriptView``: a read-only reading of a stored transcript (``TranscriptView.from_stored``,
from a ``Transcript``'s text, segments, metrics and source, plus, for repeat contact, when the
contact happened and the customer's earlier contacts, which only the caller can look up). No
database, no Flask, no scikit-learn: a rule runs in a worker, a notebook or a test on a
transcript built by hand. A rule's parameters go to JSON and back (``to_dict``,
``rule_from_dict``), so a flag's rule can be stored, edited and versioned; a parameter that
makes no sense is a ``RuleError`` that says which and why, and nothing is built.

The rules, decided once here:

* **Phrases** (``PhraseRule``) are matched on words, not characters: case, accents,
  punctuation and apostrophes do not count ("Cancel my account!" and "cancel, my account"
  match "cancel my account"; "dont" matches "don't"), a hyphen parts words ("follow-up" is
  "follow up"), and a redaction tag (``[CARD]``) is no word: it matches nothing, and a phrase
  never runs across it. A phrase runs over consecutive words of one speaker, across their
  segments when they follow each other (in a call, at most ``max_gap_s`` apart; in a chat,
  with no other party's message between them), never across the other party's words in a
  chat. Only the ``speakers`` named count (the customer by default, None for anyone); a
  recording that cannot tell the parties apart (mono) and an e-mail without ``Customer:`` /
  ``Agent:`` prefixes always count, and their evidence says it cannot tell who spoke. Each
  match gives the time of its words (in a call) or its message (in a chat) and the words to
  highlight. ``MissingPhraseRule`` is its mirror, for a required disclosure: it fires when no
  phrase was said at all.
* **Silence and hold** (``SilenceRule``, ``HoldRule``): the longest stretch where nobody talks,
  as the call's metrics measured it from each channel's speech activity (what the call's page
  shows), or, for a transcript stored without it, from the segments' times
  (``metrics.measure``). A transcript cannot tell a hold from dead air; ``HoldRule`` is the
  same measurement with a longer threshold and its own words.
* **Overtalk** (``OvertalkRule``): both parties at once, in all and the longest stretch; never
  in a mono recording or a text.
* **Talk share** (``TalkShareRule``): a party's share of the two parties' talk time, or, in a
  chat, of their words; not judged on a short contact.
* **Repeat contact** (``RepeatContactRule``): this contact and the customer's earlier ones in
  the last ``days`` days.

``score`` orders the fired findings of one flag by risk: 0.5 at a rule's threshold, rising
linearly to 1.0 at twice it (``_excess``); for phrases, 0.5 for one match, 0.75 for two,
0.875 for three ... A finding that did not fire scores 0 and has no evidence.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, NamedTuple, Protocol

from qm.errors import QMError
from transcription.flagging.evidence import Evidence, clock, duration, ordinal
from transcription.metrics import measure
from transcription.timeline import AGENT, CUSTOMER, MONO, SPEAKERS, Segment, Word

MAX_GAP_S = 2.0
"""The longest pause inside one phrase said over two segments of a speaker: a recogniser cuts
utterances at a 1 s pause (``segmenting.MAX_PAUSE_S``), and "I want to cancel ... my account"
with a breath in the middle is still one request."""
MAX_EVIDENCE = 5
"""At most this many pieces of evidence per finding (the first in the transcript); the score
still counts every match."""
PARTIES = (AGENT, CUSTOMER)


class RuleError(QMError):
    """A rule's parameters make no sense; the message says which and why."""


# ---------------------------------------------------------------------------------------------
# Words: what a phrase is matched on


_TAG = re.compile(r"\[[A-Z][A-Z_]*\]")
"""A redaction tag, as ``redaction`` writes it: ``[CARD]``, ``[PHONE]`` ..."""
_TOKEN = re.compile(r"[^\W_]+")
_APOSTROPHES = str.maketrans("", "", "'\u2019\u02bc`")


def _fold(text: str) -> str:
    """Lower case without accents or apostrophes: what two spellings of a word share."""
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text)
                       if not unicodedata.combining(c))
    return text.casefold().translate(_APOSTROPHES)


def tokens_of(text: str) -> list[str | None]:
    """The words of a text as phrases are matched on them; None stands for a redaction tag,
    which matches nothing and stops a phrase."""
    if "[" not in text:
        return _TOKEN.findall(_fold(text))
    out: list[str | None] = []
    position = 0
    for tag in _TAG.finditer(text):
        out.extend(_TOKEN.findall(_fold(text[position:tag.start()])))
        out.append(None)
        position = tag.end()
    out.extend(_TOKEN.findall(_fold(text[position:])))
    return out


def _phrase_tokens(phrase: str) -> tuple[str, ...]:
    if not isinstance(phrase, str):
        raise RuleError(f"A phrase must be text, not {phrase!r}.")
    tokens = tokens_of(phrase)
    if None in tokens:
        raise RuleError(f"The phrase '{phrase}' holds a redaction tag: a tag is no word to "
                        "match (the words it hides are gone). Leave it out.")
    if not tokens:
        raise RuleError(f"The phrase '{phrase}' has no word to match (only punctuation).")
    return tuple(t for t in tokens if t is not None)


@functools.lru_cache(maxsize=256)
def _index(phrases: tuple[str, ...]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """First word -> the phrases starting with it, longest first (the longest match wins)."""
    by_first: dict[str, set[tuple[str, ...]]] = {}
    for phrase in phrases:
        tokens = _phrase_tokens(phrase)
        by_first.setdefault(tokens[0], set()).add(tokens)
    return {first: tuple(sorted(found, key=lambda t: (-len(t), t)))
            for first, found in by_first.items()}


# ---------------------------------------------------------------------------------------------
# The view of a transcript


class Contact(NamedTuple):
    """An earlier contact of the same customer, as the caller found it."""

    at: dt.datetime
    interaction_id: int | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """One stored segment as the rules read it. ``words`` are (start, end, text): the stored
    words with their times, or, for a segment without them (a chat message), the
    whitespace-separated tokens of its text, timeless."""

    index: int
    speaker: str
    start: float | None
    end: float | None
    text: str
    words: tuple[tuple[float | None, float | None, str], ...]


class _Word(NamedTuple):
    part: int  # index into view.parts
    word: int
    start: float | None
    end: float | None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _when(part: Part) -> tuple[float, int]:
    """A call's part in time order (a part without a time last, in stored order)."""
    return (part.start if part.start is not None else math.inf, part.index)


def _utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


class TranscriptView:
    """A read-only reading of one stored transcript: its parts, its figures, when it happened.

    Build it with ``from_stored``; it parses once and keeps what rules compute from it (the
    words as phrases see them, the timeline's figures), so a whole flag set reads one
    transcript once. Malformed stored values (a word that is not a list, a time that is not a
    number) are skipped, not raised: a flag must not fail on a transcript the page can show.
    """

    __slots__ = ("source", "text", "parts", "metrics", "duration_s", "at", "earlier", "_cache")

    def __init__(self, source: str, text: str, parts: tuple[Part, ...],
                 metrics: Mapping[str, Any], duration_s: float | None,
                 at: dt.datetime | None, earlier: tuple[Contact, ...]) -> None:
        self.source = source
        self.text = text
        self.parts = parts
        self.metrics = metrics
        self.duration_s = duration_s
        self.at = at
        self.earlier = earlier
        self._cache: dict[Any, Any] = {}

    @classmethod
    def from_stored(cls, text: str | None, segments: Sequence[Mapping[str, Any]] | None,
                    metrics: Mapping[str, Any] | None, source: str = "audio", *,
                    duration_s: float | None = None, at: dt.datetime | None = None,
                    earlier: Iterable[Contact | tuple[dt.datetime, int | None]] = ()
                    ) -> TranscriptView:
        """From a ``Transcript``'s ``text``, ``segments``, ``metrics`` and ``source``
        (``"audio"`` or ``"text"``); ``duration_s`` is the call's (else the metrics'); ``at``
        when this contact happened and ``earlier`` the same customer's other contacts, for
        ``RepeatContactRule``. A transcript with text but no segments reads as one part by a
        speaker nobody knows."""
        timed = source != "text"
        parts: list[Part] = []
        for stored in segments or ():
            if not isinstance(stored, Mapping):
                continue
            seg_text = str(stored.get("text") or "")
            words: list[tuple[float | None, float | None, str]] = []
            for word in stored.get("words") or ():
                if isinstance(word, Sequence) and not isinstance(word, str) and len(word) >= 3:
                    start, end = _number(word[0]), _number(word[1])
                    words.append((start if timed else None, end if timed else None,
                                  str(word[2])))
                else:  # kept as nothing, so that the marks still count the stored words
                    words.append((None, None, ""))
            if not any(text for _s, _e, text in words):
                words = [(None, None, token) for token in seg_text.split()]
            parts.append(Part(len(parts), str(stored.get("speaker") or MONO),
                              _number(stored.get("start")) if timed else None,
                              _number(stored.get("end")) if timed else None,
                              seg_text, tuple(words)))
        if not parts and (text or "").strip():
            parts.append(Part(0, MONO, None, None, text or "",
                              tuple((None, None, token) for token in (text or "").split())))
        metrics = dict(metrics or {})
        length = _number(duration_s) if duration_s is not None else _number(
            metrics.get("duration_s"))
        contacts = tuple(c if isinstance(c, Contact) else Contact(*c) for c in earlier)
        return cls(source, text or "", tuple(parts), metrics, length, at, contacts)

    @property
    def is_text(self) -> bool:
        """A chat or an e-mail: messages in order, no times."""
        return self.source == "text"

    def said_by(self, *speakers: str) -> str:
        """What these speakers said or wrote, in order, one text (what a classifier reads);
        the words of a mono recording or an unprefixed e-mail are included, since they may be
        anyone's. No speakers: everything."""
        wanted = set(speakers) | {MONO}
        return " ".join(p.text.strip() for p in self.parts
                        if (not speakers or p.speaker in wanted) and p.text.strip())

    # -- figures ---------------------------------------------------------------------------

    def figure(self, name: str) -> float | None:
        """A stored call metric by name, or, when the stored metrics lack it, the same figure
        measured from the segments' times (``metrics.measure``); None where it does not apply
        (a chat has no silence, a mono call no talk share)."""
        if name in self.metrics:
            return _number(self.metrics[name])
        return _number(self._timeline().get(name))

    def pair(self, value: str, at: str) -> tuple[float | None, float | None]:
        """A figure and where it happened, from one source: both stored, or both measured
        from the segments, never a stored length at a measured time."""
        if value in self.metrics:
            return _number(self.metrics[value]), _number(self.metrics.get(at))
        timeline = self._timeline()
        return _number(timeline.get(value)), _number(timeline.get(at))

    def _timeline(self) -> dict[str, Any]:
        if "timeline" not in self._cache:
            self._cache["timeline"] = self._measure()
        return self._cache["timeline"]

    def _measure(self) -> dict[str, Any]:
        if self.is_text or not self.parts:
            return {}
        segments = []
        for part in self.parts:
            if part.speaker not in SPEAKERS or part.start is None or part.end is None:
                continue
            words = tuple(Word(s, e, t, 1.0) for s, e, t in part.words
                          if s is not None and e is not None)
            segments.append(Segment(part.start, part.end, part.text, part.speaker, words))
        if not segments:
            return {}
        length = self.duration_s if self.duration_s is not None else max(
            s.end for s in segments)
        try:
            return measure(segments, max(0.0, length)).as_dict()
        except ValueError:  # mono mixed with parties: no figure rather than a wrong one
            return {}

    # -- words -----------------------------------------------------------------------------

    def _tokens(self, part: Part) -> list[tuple[str | None, int]]:
        """(token, word index) of one part, None for a redaction tag."""
        key = ("tokens", part.index)
        found = self._cache.get(key)
        if found is None:
            found = [(token, n) for n, (_s, _e, text) in enumerate(part.words)
                     for token in tokens_of(text)]
            self._cache[key] = found
        return found

    def turns(self, speakers: Sequence[str] | None = None, max_gap_s: float = MAX_GAP_S
              ) -> tuple[tuple[Part, ...], ...]:
        """The turns of these speakers (and mono; None: everyone): the runs of one speaker's
        parts that a phrase may run across (in a call, at most ``max_gap_s`` apart; in a chat,
        consecutive messages), in the order they start."""
        key = ("turns", None if speakers is None else frozenset(speakers), max_gap_s)
        found = self._cache.get(key)
        if found is not None:
            return found
        wanted = None if speakers is None else set(speakers) | {MONO}
        by_speaker: dict[str, list[Part]] = {}
        for part in self.parts:
            if wanted is None or part.speaker in wanted:
                by_speaker.setdefault(part.speaker, []).append(part)
        runs: list[list[Part]] = []
        for speaker_parts in by_speaker.values():
            if not self.is_text:
                speaker_parts.sort(key=_when)
            for part in speaker_parts:
                if runs and runs[-1][-1].speaker == part.speaker and self._joined(
                        runs[-1][-1], part, max_gap_s):
                    runs[-1].append(part)
                else:
                    runs.append([part])
        runs.sort(key=lambda run: run[0].index if self.is_text else _when(run[0]))
        self._cache[key] = found = tuple(tuple(run) for run in runs)
        return found

    def stream(self, speakers: Sequence[str] | None, max_gap_s: float = MAX_GAP_S
               ) -> tuple[list[str | None], list[_Word]]:
        """The words of these speakers (and mono) as one list, with None wherever a phrase may
        not run on: a tag, the end of a turn (``turns``)."""
        key = ("stream", None if speakers is None else frozenset(speakers), max_gap_s)
        found = self._cache.get(key)
        if found is not None:
            return found
        tokens: list[str | None] = []
        refs: list[_Word] = []
        for turn in self.turns(speakers, max_gap_s):
            for part in turn:
                for token, n in self._tokens(part):
                    start, end = part.words[n][0], part.words[n][1]
                    if start is None and not self.is_text:  # a call segment without words
                        start, end = part.start, part.end
                    tokens.append(token)
                    refs.append(_Word(part.index, n, start, end))
            tokens.append(None)
            refs.append(_Word(-1, -1, None, None))
        self._cache[key] = found = (tokens, refs)
        return found

    def _joined(self, before: Part, after: Part, max_gap_s: float) -> bool:
        """May a phrase run from the end of one part into the next of the same speaker?"""
        if self.is_text:
            return after.index == before.index + 1
        end = next((e for _s, e, _t in reversed(before.words) if e is not None), before.end)
        start = next((s for s, _e, _t in after.words if s is not None), after.start)
        return end is not None and start is not None and start - end <= max_gap_s + 1e-9


# ---------------------------------------------------------------------------------------------
# Findings


@dataclass(frozen=True, slots=True)
class Finding:
    """What one rule found in one transcript: whether it fired, how strongly (0..1, to order
    a flag's queue by risk) and the evidence, first in the transcript first."""

    fired: bool
    score: float = 0.0
    evidence: tuple[Evidence, ...] = ()

    @property
    def reasons(self) -> list[str]:
        """The evidence in words, for a list or a tooltip."""
        return [item.text for item in self.evidence]

    def as_dict(self) -> dict[str, Any]:
        return {"fired": self.fired, "score": round(self.score, 4),
                "evidence": [item.as_dict() for item in self.evidence]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(bool(data["fired"]), float(data.get("score", 0.0)),
                   tuple(Evidence.from_dict(e) for e in data.get("evidence") or ()))


NOT_FIRED = Finding(False)


def _excess(value: float, threshold: float) -> float:
    """0.5 at the threshold, 1.0 at twice it and beyond: how far past the line a finding is."""
    if threshold <= 0:
        return 1.0
    return round(0.5 + 0.5 * min(1.0, max(0.0, (value - threshold) / threshold)), 4)


class Match(NamedTuple):
    """One phrase found in a transcript: who, where, and the words as they were written."""

    speaker: str
    segment: int
    start: float | None
    end: float | None
    marks: tuple[tuple[int, int], ...]
    quote: str


_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def find_phrases(view: TranscriptView, phrases: Sequence[str],
                 speakers: Sequence[str] | None = (CUSTOMER,),
                 max_gap_s: float = MAX_GAP_S) -> list[Match]:
    """Every place these speakers said one of the phrases, turn by turn in the order the turns
    start; at one place the longest phrase wins, and matches do not overlap."""
    index = _index(tuple(phrases))
    tokens, refs = view.stream(speakers, max_gap_s)
    found: list[Match] = []
    i, count = 0, len(tokens)
    while i < count:
        token = tokens[i]
        candidates = index.get(token) if token is not None else None
        length = 0
        for phrase in candidates or ():
            n = len(phrase)
            if tuple(tokens[i:i + n]) == phrase:
                length = n
                break
        if not length:
            i += 1
            continue
        words = refs[i:i + length]
        marks = tuple(dict.fromkeys((w.part, w.word) for w in words))
        parts = view.parts
        quote = " ".join(parts[p].words[n][2].strip() for p, n in marks)
        found.append(Match(parts[words[0].part].speaker, words[0].part, words[0].start,
                           words[-1].end, marks, _EDGES.sub("", quote)))
        i += length
    return found


def _who(speaker: str) -> str | None:
    return speaker if speaker in PARTIES else None


def said(view: TranscriptView, match: Match) -> str:
    """"customer said 'cancel my account' at 1:42"; in a chat "customer wrote ... in message
    3"; where nobody can tell who spoke, "'...' was said at 1:42"."""
    who = _who(match.speaker)
    if view.is_text:
        where = f" in message {match.segment + 1}"
        return (f"{who} wrote '{match.quote}'{where}" if who
                else f"'{match.quote}' was written{where}")
    where = "" if match.start is None else f" at {clock(match.start)}"
    return f"{who} said '{match.quote}'{where}" if who else f"'{match.quote}' was said{where}"


def phrase_evidence(view: TranscriptView, match: Match, kind: str = "phrase",
                    text: str | None = None) -> Evidence:
    """A match as evidence (``kind="model"`` for a classifier's phrase)."""
    return Evidence(kind, text or said(view, match), match.start, match.end,
                    _who(match.speaker), match.segment, match.marks)


# ---------------------------------------------------------------------------------------------
# Rules


class Rule(Protocol):
    """What every rule offers: its kind (the key in ``RULES``), a check, its parameters."""

    kind: ClassVar[str]

    def check(self, view: TranscriptView) -> Finding: ...

    def to_dict(self) -> dict[str, Any]: ...


def _speakers(value: Sequence[str] | str | None) -> tuple[str, ...] | None:
    if value is None or value == "any":
        return None
    if isinstance(value, str):
        value = (value,)
    speakers = tuple(dict.fromkeys(value))
    unknown = [s for s in speakers if s not in PARTIES]
    if unknown or not speakers:
        raise RuleError(f"Speakers must be among {', '.join(PARTIES)} (or 'any'), not "
                        f"{', '.join(map(str, unknown)) or 'none'}.")
    return speakers


def _phrases(value: Iterable[str] | str) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else tuple(value)
    if any(not isinstance(p, str) for p in items):
        raise RuleError("A phrase rule's phrases must each be a piece of text.")
    phrases = tuple(dict.fromkeys(p.strip() for p in items if p.strip()))
    if not phrases:
        raise RuleError("A phrase rule needs at least one phrase.")
    _index(phrases)  # every phrase must have a word to match
    return phrases


def _seconds(name: str, value: Any, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    number = _number(value)
    if number is None or number <= 0:
        raise RuleError(f"{name} must be a number of seconds above 0, not {value!r}.")
    return number


@dataclass(frozen=True)
class PhraseRule:
    """Fires when a listed phrase is said (or written) by the speakers that count."""

    kind: ClassVar[str] = "phrase"
    phrases: tuple[str, ...]
    speakers: tuple[str, ...] | None = (CUSTOMER,)
    max_gap_s: float = MAX_GAP_S

    def __post_init__(self) -> None:
        object.__setattr__(self, "phrases", _phrases(self.phrases))
        object.__setattr__(self, "speakers", _speakers(self.speakers))
        gap = _number(self.max_gap_s)
        if gap is None or gap < 0:
            raise RuleError(f"max_gap_s must be a number of seconds >= 0, not "
                            f"{self.max_gap_s!r}.")
        object.__setattr__(self, "max_gap_s", gap)

    def check(self, view: TranscriptView) -> Finding:
        matches = find_phrases(view, self.phrases, self.speakers, self.max_gap_s)
        if not matches:
            return NOT_FIRED
        return Finding(True, round(1.0 - 0.5 ** len(matches), 4),
                       tuple(phrase_evidence(view, m) for m in matches[:MAX_EVIDENCE]))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "phrases": list(self.phrases),
                "speakers": None if self.speakers is None else list(self.speakers),
                "max_gap_s": self.max_gap_s}


@dataclass(frozen=True)
class MissingPhraseRule:
    """Fires when none of the phrases was said: a required disclosure ("this call is
    recorded") the agent never gave. A contact where the speakers that count said fewer than
    ``min_words`` words is too short to judge and does not fire."""

    kind: ClassVar[str] = "missing_phrase"
    phrases: tuple[str, ...]
    speakers: tuple[str, ...] | None = (AGENT,)
    min_words: int = 30
    max_gap_s: float = MAX_GAP_S

    def __post_init__(self) -> None:
        object.__setattr__(self, "phrases", _phrases(self.phrases))
        object.__setattr__(self, "speakers", _speakers(self.speakers))
        if isinstance(self.min_words, bool) or not isinstance(self.min_words, int) \
                or self.min_words < 0:
            raise RuleError(f"min_words must be a whole number >= 0, not {self.min_words!r}.")

    def check(self, view: TranscriptView) -> Finding:
        tokens, _refs = view.stream(self.speakers, self.max_gap_s)
        if sum(1 for t in tokens if t is not None) < max(1, self.min_words):
            return NOT_FIRED
        if find_phrases(view, self.phrases, self.speakers, self.max_gap_s):
            return NOT_FIRED
        quoted = ", ".join(f"'{p}'" for p in self.phrases[:3])
        more = "" if len(self.phrases) <= 3 else f" (or {len(self.phrases) - 3} more)"
        if self.speakers is None:
            text = f"nobody said {'any of ' if len(self.phrases) > 1 else ''}{quoted}{more}"
        else:
            who = " or ".join(f"the {s}" for s in self.speakers)
            text = (f"{who} never said {quoted}" if len(self.phrases) == 1
                    else f"{who} said none of {quoted}{more}")
        speaker = self.speakers[0] if self.speakers and len(self.speakers) == 1 else None
        return Finding(True, 1.0, (Evidence("phrase", text, speaker=speaker),))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "phrases": list(self.phrases),
                "speakers": None if self.speakers is None else list(self.speakers),
                "min_words": self.min_words, "max_gap_s": self.max_gap_s}


@dataclass(frozen=True)
class SilenceRule:
    """Fires when nobody talks for ``min_s`` seconds or more at a stretch."""

    kind: ClassVar[str] = "silence"
    words: ClassVar[str] = "silence of"
    min_s: float = 30.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "min_s", _seconds("min_s", self.min_s))

    def check(self, view: TranscriptView) -> Finding:
        if view.is_text:
            return NOT_FIRED
        longest, at = view.pair("longest_silence_s", "longest_silence_at_s")
        if longest is None or longest < self.min_s - 1e-9:
            return NOT_FIRED
        where = "" if at is None else f" at {clock(at)}"
        return Finding(True, _excess(longest, self.min_s), (Evidence(
            "silence", f"{self.words} {duration(longest)}{where}", at,
            None if at is None else at + longest),))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "min_s": self.min_s}


@dataclass(frozen=True)
class HoldRule(SilenceRule):
    """A long hold: the same measurement as ``SilenceRule`` (a transcript cannot tell music
    on hold from dead air), a longer threshold, and words that say so."""

    kind: ClassVar[str] = "hold"
    words: ClassVar[str] = "hold or silence of"
    min_s: float = 120.0


@dataclass(frozen=True)
class OvertalkRule:
    """Fires when both parties talk at once for ``min_total_s`` in all, or for
    ``min_longest_s`` at a stretch (either given threshold fires it; at least one is needed)."""

    kind: ClassVar[str] = "overtalk"
    min_total_s: float | None = None
    min_longest_s: float | None = None

    def __post_init__(self) -> None:
        total = _seconds("min_total_s", self.min_total_s, allow_none=True)
        longest = _seconds("min_longest_s", self.min_longest_s, allow_none=True)
        if total is None and longest is None:
            raise RuleError("An overtalk rule needs min_total_s, min_longest_s or both.")
        object.__setattr__(self, "min_total_s", total)
        object.__setattr__(self, "min_longest_s", longest)

    def check(self, view: TranscriptView) -> Finding:
        if view.is_text:
            return NOT_FIRED
        evidence: list[Evidence] = []
        scores: list[float] = []
        if self.min_longest_s is not None:
            longest, at = view.pair("longest_overtalk_s", "longest_overtalk_at_s")
            if longest is not None and longest >= self.min_longest_s - 1e-9:
                where = "" if at is None else f" at {clock(at)}"
                evidence.append(Evidence(
                    "overtalk", f"both talked over each other for {duration(longest)}{where}",
                    at, None if at is None else at + longest))
                scores.append(_excess(longest, self.min_longest_s))
        if self.min_total_s is not None:
            total = view.figure("overtalk_s")
            if total is not None and total >= self.min_total_s - 1e-9:
                evidence.append(Evidence(
                    "overtalk", f"both talked at once for {duration(total)} in all"))
                scores.append(_excess(total, self.min_total_s))
        if not evidence:
            return NOT_FIRED
        return Finding(True, max(scores), tuple(evidence))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "min_total_s": self.min_total_s,
                "min_longest_s": self.min_longest_s}


@dataclass(frozen=True)
class TalkShareRule:
    """Fires when one party has ``min_share`` or more of the two parties' talk (in a chat,
    of their words). A call with less than ``min_talk_s`` of the parties' talk, or a chat with
    fewer than ``min_words`` words, is too short for a share to mean anything."""

    kind: ClassVar[str] = "talk_share"
    party: str = CUSTOMER
    min_share: float = 0.7
    min_talk_s: float = 30.0
    min_words: int = 30

    def __post_init__(self) -> None:
        if self.party not in PARTIES:
            raise RuleError(f"The party must be {' or '.join(PARTIES)}, not {self.party!r}.")
        share = _number(self.min_share)
        if share is None or not 0 < share <= 1:
            raise RuleError(f"min_share must be a share between 0 and 1 (0.7 is 70%), not "
                            f"{self.min_share!r}.")
        object.__setattr__(self, "min_share", share)
        object.__setattr__(self, "min_talk_s", _seconds("min_talk_s", self.min_talk_s))
        if isinstance(self.min_words, bool) or not isinstance(self.min_words, int) \
                or self.min_words < 1:
            raise RuleError(f"min_words must be a whole number >= 1, not {self.min_words!r}.")

    def check(self, view: TranscriptView) -> Finding:
        if view.is_text:
            mine, other = view.figure(f"{self.party}_words"), view.figure(
                f"{_other(self.party)}_words")
            least, what = self.min_words, "wrote {share} of the words of the chat"
        else:
            mine, other = view.figure(f"{self.party}_talk_s"), view.figure(
                f"{_other(self.party)}_talk_s")
            least, what = self.min_talk_s, "talked {share} of the call"
        if mine is None or other is None or mine + other < least or mine + other <= 0:
            return NOT_FIRED
        share = mine / (mine + other)
        if share < self.min_share - 1e-9:
            return NOT_FIRED
        percent = f"{int(math.floor(share * 100 + 0.5))}%"
        score = 0.5 + 0.5 * min(1.0, (share - self.min_share) / max(1e-9, 1 - self.min_share))
        return Finding(True, round(score, 4), (Evidence(
            "talk_share", f"the {self.party} " + what.format(share=percent),
            speaker=self.party),))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "party": self.party, "min_share": self.min_share,
                "min_talk_s": self.min_talk_s, "min_words": self.min_words}


def _other(party: str) -> str:
    return AGENT if party == CUSTOMER else CUSTOMER


@dataclass(frozen=True)
class RepeatContactRule:
    """Fires when this is at least the ``min_contacts``-th contact of the customer within
    ``days`` days (this one included): the customer's problem was not solved the first time.
    Needs the view's ``at`` and ``earlier`` contacts; without them it does not fire."""

    kind: ClassVar[str] = "repeat_contact"
    days: int = 7
    min_contacts: int = 3

    def __post_init__(self) -> None:
        for name in ("days", "min_contacts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise RuleError(f"{name} must be a whole number >= 1, not {value!r}.")
        if self.min_contacts < 2:
            raise RuleError("min_contacts must be at least 2: a first contact is no repeat.")

    def check(self, view: TranscriptView) -> Finding:
        if view.at is None:
            return NOT_FIRED
        now = _utc(view.at)
        since = now - dt.timedelta(days=self.days)
        within = sorted((c for c in view.earlier if since <= _utc(c.at) <= now),
                        key=lambda c: _utc(c.at))
        count = len(within) + 1
        if count < self.min_contacts:
            return NOT_FIRED
        span = "1 day" if self.days == 1 else f"{self.days} days"
        return Finding(True, _excess(count, self.min_contacts), (Evidence(
            "repeat", f"{ordinal(count)} contact from this customer in {span}",
            related=tuple(c.interaction_id for c in within if c.interaction_id is not None)),))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "days": self.days, "min_contacts": self.min_contacts}


RULES: dict[str, type] = {rule.kind: rule for rule in (
    PhraseRule, MissingPhraseRule, SilenceRule, HoldRule, OvertalkRule, TalkShareRule,
    RepeatContactRule)}
"""Every rule by its kind, as ``to_dict`` writes it."""


def rule_from_dict(data: Mapping[str, Any]) -> Rule:
    """A rule back from its stored parameters (``to_dict``); ``RuleError`` for an unknown
    kind, an unknown parameter or a value that makes no sense."""
    if not isinstance(data, Mapping):
        raise RuleError("A rule is a set of named parameters with its kind.")
    kind = data.get("kind")
    rule = RULES.get(kind) if isinstance(kind, str) else None
    if rule is None:
        raise RuleError(f"Unknown rule {kind!r}; the rules are {', '.join(sorted(RULES))}.")
    params = {k: v for k, v in data.items() if k != "kind"}
    known = {f.name for f in fields(rule)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise RuleError(f"A {kind} rule has no parameter {', '.join(unknown)}; it takes "
                        f"{', '.join(sorted(known))}.")
    for name in ("phrases", "speakers"):
        if isinstance(params.get(name), list):
            params[name] = tuple(params[name])
    try:
        return rule(**params)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise RuleError(f"A {kind} rule's parameters do not fit: {exc}.") from exc


def check_all(rules: Mapping[str, Rule], view: TranscriptView) -> dict[str, Finding]:
    """Every rule's finding on one transcript, by the flag's name."""
    return {name: rule.check(view) for name, rule in rules.items()}


STARTER_RULES: dict[str, Rule] = {
    "escalation request (phrases)": PhraseRule((
        "speak to a manager", "speak to your manager", "speak to the manager",
        "talk to a manager", "talk to your manager", "speak to a supervisor",
        "speak to your supervisor", "talk to a supervisor", "get me a manager",
        "put me through to a manager", "someone more senior", "escalate this",
        "make a formal complaint", "the ombudsman")),
    "cancellation (phrases)": PhraseRule((
        "cancel my account", "cancel my contract", "cancel my subscription",
        "close my account", "terminate my contract", "end my contract", "pac code",
        "leaving you", "switch provider", "switching provider", "go elsewhere",
        "take my business elsewhere")),
    "recording disclosure missing": MissingPhraseRule((
        "this call may be recorded", "this call is recorded", "calls are recorded",
        "calls may be recorded", "recorded for training", "recorded for quality"),
        speakers=(AGENT,)),
    "long silence": SilenceRule(min_s=30.0),
    "long hold": HoldRule(min_s=120.0),
    "overtalk": OvertalkRule(min_total_s=20.0, min_longest_s=5.0),
    "customer talks most": TalkShareRule(CUSTOMER, min_share=0.7),
    "repeat contact": RepeatContactRule(days=7, min_contacts=3),
}
"""A starting set of rule flags (the demo's and the benchmark's): a site edits the phrases and
thresholds as its own flags."""


__all__ = [
    "MAX_EVIDENCE", "MAX_GAP_S", "NOT_FIRED", "RULES", "STARTER_RULES", "Contact", "Finding",
    "HoldRule", "Match", "MissingPhraseRule", "OvertalkRule", "Part", "PhraseRule",
    "RepeatContactRule", "Rule", "RuleError", "SilenceRule", "TalkShareRule", "TranscriptView",
    "check_all", "find_phrases", "phrase_evidence", "rule_from_dict", "said", "tokens_of",
]
