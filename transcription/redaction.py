"""PII redaction of transcripts before they are stored for people to read.

A recogniser writes what it hears: "four five six seven, double one ...", "john dot smith at
example dot com", "the twelfth of March nineteen eighty five". Every redaction is replaced by a
typed tag (``[CARD]``, ``[PHONE]`` ...) so a reviewer still sees *what kind* of thing the customer
said, and counted so that a call's redactions can be reported without showing them.

The rules, in the order they run (each later pass leaves earlier redactions alone; the dates
of rule 5 are found before rule 4 runs, so that rule 4 can leave them to it):

1. **Existing tags** (``[CARD]`` ...) are left as they are, which makes ``redact`` idempotent:
   redacting a redacted text changes nothing.
2. **E-mail** ``[EMAIL]``: a written address (``john.smith@example.com``), or a spoken one
   (``john dot smith at example dot com``, ``jo at example.co.uk``) whose domain ends in a known
   top-level domain. A spoken address with a plain one-word local part ("website at example dot
   com") is only taken when "email", "mail" or "address" comes shortly before it; with a spoken
   "dot"/"underscore"/"dash", a digit or a written "@" it is always taken.
3. **IBAN** ``[IBAN]``: two letters, two check digits and 11-30 letters or digits, in groups or
   not (``GB82 WEST 1234 5698 7654 32``), valid under the ISO 7064 mod-97 check. An IBAN-shaped
   string that fails the check is left to rule 4, which redacts its digits.
4. **Digit runs**. Digits written (``4111``) or spoken (``four``, ``oh``/``zero``/``nought``,
   ``double five``, ``triple oh``, ``twenty three``, ``fifteen``, ``eight hundred``), mixed
   freely (``4 5 six 7``), form one run while they are separated only by spaces and at most two
   hyphens, dots, slashes, brackets or commas (not a newline, not a colon: ``10:30`` is two
   runs). An "oh" set off by punctuation at the edge of a run ("Oh, 123456") is an interjection,
   not a zero. A run of at least ``MIN_DIGITS`` (6) digits is redacted, whatever it is; only
   the tag depends on what it looks like, first match wins:

   * ``[CARD]``: 13-19 digits, not starting with 0, Luhn-valid, whatever comes before it: no
     context word is needed (a recogniser hears "my card number" as "my car number"), and
     neither a "+" nor the shape of an amount (``4,556,732,109,876,548``) makes it anything
     else. One digit string in ten passes Luhn by chance, so a phone or account number of
     that length may be tagged ``[CARD]``: the tag errs towards the graver kind, and the digits
     are redacted either way;
   * ``[PHONE]``: a "+" or spoken "plus" before it and 7-15 digits;
   * the nearest context word in the ``CONTEXT_WINDOW`` characters before it (stopping at the
     previous run of 3+ digits or redaction) whose kind fits the length: card/visa/debit...
     -> ``[CARD]`` (12-19 digits, so a misheard digit that breaks Luhn is still a card);
     phone/mobile/call me... -> ``[PHONE]`` (7-15); account/sort code/bank/IBAN...
     -> ``[ACCOUNT]`` (6-34);
     born/birth/DOB -> ``[DOB]`` (6-8);
   * ``[PHONE]``: a leading 0 (written or spoken "oh") and 7-15 digits, or the North American
     shapes ``(555) 123-4567`` / ``555-123-4567``;
   * ``[NUMBER]`` otherwise: a long number that is none of these (an order number, a policy
     number) is still redacted, because a card or account number said without context looks
     exactly like it. That is the price of never leaking one.

   Not redacted, although six digits or more: a run wholly inside a date (``12/03/2024``,
   ``March 12 2025``: rule 5 decides about dates; a date must hold whole every run it touches,
   so "1985" in "1985 4111 1111" is not one), an amount (``1500.00``, ``£250000``, at most nine
   digits before the point; ``1,250,000``, at most twelve: never the length of a card), a pair
   of years (``2023-2024``).
   Shorter runs stay (``ticket 12345``, ``10:30``, ``£45.99``, ``in 2024``), except 3-4 digits
   right after "CVV", "security code" or "digits on the back", which are ``[CARD]``.
5. **Dates of birth** ``[DOB]``: a date (``12/03/1985``, ``1985-03-12``, ``12th March 1985``,
   ``the twelfth of March nineteen eighty five``, ``March 12, 1985``, ``March 1985``, or a year
   alone) is redacted when "born", "birth", "birthday" or "DOB" licenses it: a keyword licenses
   one date: the date just before it when a copula ties them ("12/03/1985 is my birthday"),
   else the first date after it within ``DOB_WINDOW_AFTER`` characters ("my date of birth is
   ..."), else the date just before it within ``DOB_WINDOW_BEFORE`` characters ("12/03/1985,
   that's my birthday"). "Date of" followed by what speech recognition often hears for
   "birth" ("the earth", "berth", "bath") counts as the keyword. Other dates (appointments,
   "in 2024") stay.

All windows stop at the previous (or next) number, date or redaction, so a keyword belongs to
the nearest candidate only, and a second pass over redacted text sees exactly the same windows.

What this does not catch (see the tests' "known gaps"): spelt-out letters ("G B eight two W E S
T ..."): the digits are still redacted but the letters stay; a spoken e-mail whose local part is
two words without "dot" ("john smith at example dot com" keeps "john", redacts the rest); a
spoken address without "email"/"address" before it and a one-word local part; names and postal
addresses; numbers spoken as large cardinals ("four thousand one hundred and eleven"); numbers
of five digits or fewer outside a CVV context (a PIN, "the last four").
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from transcription.timeline import Segment, Word

CARD = "CARD"
PHONE = "PHONE"
EMAIL = "EMAIL"
DOB = "DOB"
IBAN = "IBAN"
ACCOUNT = "ACCOUNT"
NUMBER = "NUMBER"
TAGS = (CARD, PHONE, EMAIL, DOB, IBAN, ACCOUNT, NUMBER)

MIN_DIGITS = 6
"""The shortest digit run redacted whatever it is: long enough to leave tickets, times, amounts
and years readable, short enough to catch a sort code and any part of a card said in pieces."""

CONTEXT_WINDOW = 60
EMAIL_WINDOW = 60
DOB_WINDOW_AFTER = 50
DOB_WINDOW_BEFORE = 30

_MASK = "\u4e00"
"""Stands in for redacted text while the passes run. No pattern here matches it, yet it is a word
character, like the letters and digits at the edges of what it hides: text next to a redaction
then meets the same word boundary now as next to its tag on a second pass, which keeps
``redact`` idempotent."""


class Span(NamedTuple):
    """A redaction: ``text[start:end]`` of the original text became ``[tag]``."""

    start: int
    end: int
    tag: str


@dataclass(frozen=True)
class Redacted:
    """The redacted text, how many of each tag it gained, and where they were in the original.

    ``counts`` holds only tags that occur; tags already present in the input are neither counted
    nor listed in ``spans``.
    """

    text: str
    counts: dict[str, int]
    spans: tuple[Span, ...]


def placeholder(tag: str) -> str:
    """The text that replaces a redaction of kind ``tag``."""
    return f"[{tag}]"


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return bool(digits) and total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616 / ISO 7064 mod-97: the check digits make the rearranged number 1 modulo 97."""
    compact = re.sub(r"\s+", "", candidate).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


# -- vocabulary --------------------------------------------------------------------------------

_ONE_NINE = "one|two|three|four|five|six|seven|eight|nine"
_UNITS = f"zero|oh|nought|{_ONE_NINE}"
_TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS = "twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety"
_ORD_1_9 = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth"
_ORD_TEENS = (
    "tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth"
    "|nineteenth"
)
_WORD_VALUES = {
    w: i for i, w in enumerate("zero one two three four five six seven eight nine".split())
} | {"oh": 0, "nought": 0} | {
    w: 10 + i for i, w in enumerate(_TEENS.split("|"))
} | {
    w: 20 + 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety"
                                         .split())
} | {"fourty": 40}

_DIGIT_TOKEN = re.compile(
    rf"""
    \b(?P<mult>double|triple)[ \t]+(?P<mu>(?:{_UNITS})\b|\d(?!\d))
    |\b(?P<tens>{_TENS})\b(?:[ \t-]+(?P<tu>{_ONE_NINE})\b)?
    |\b(?P<teen>{_TEENS})\b
    |\b(?P<unit>{_UNITS})\b(?:[ \t]+(?P<hund>hundred)\b)?
    |(?P<num>\d+)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_JOINER = re.compile(r"[ \t]*(?:[-\u2013\u2014./(),][ \t]*){0,2}")

_DAY_WORD = (
    rf"(?:(?:twenty|thirty)[ \t-]+(?:{_ORD_1_9}|{_ONE_NINE})|twentieth|thirtieth|{_ORD_TEENS}"
    rf"|{_ORD_1_9}|{_TEENS}|twenty|thirty|{_ONE_NINE})"
)
_DAY = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?|{_DAY_WORD})"
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_YEAR_WORDS = (
    rf"(?:(?:nineteen|twenty)[ \t-]+(?:(?:{_TENS})(?:[ \t-]+(?:{_ONE_NINE}))?|{_TEENS}"
    rf"|(?:oh|zero|nought)[ \t-]+(?:{_ONE_NINE})|hundred)"
    rf"|two[ \t-]+thousand(?:[ \t-]+(?:and[ \t-]+)?(?:(?:{_TENS})(?:[ \t-]+(?:{_ONE_NINE}))?"
    rf"|{_TEENS}|{_ONE_NINE}))?)"
)
_YEAR = rf"(?:(?:19|20)\d\d|'\d\d|{_YEAR_WORDS})"
_DATE_FORMS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"(?<!\d)(?<!\d[/.-])(?:(?P<a>\d{1,2})(?P<s1>[/.-])(?P<b>\d{1,2})(?P=s1)(?:\d{4}|\d{2})"
        r"|(?:19|20)\d\d(?P<s2>[/.-])(?P<m>\d{1,2})(?P=s2)(?P<d>\d{1,2}))(?!\d)(?![/.-]\d)",
        rf"(?<![\w']){_DAY}(?:[ \t]+of)?[ \t]+{_MONTH}(?:,?[ \t]+(?:of[ \t]+)?{_YEAR})?(?!\w)",
        rf"(?<![\w'])the[ \t]+{_DAY}(?:[ \t]+of)?[ \t]+{_MONTH}(?:,?[ \t]+{_YEAR})?(?!\w)",
        rf"(?<![\w']){_MONTH}[ \t]+(?:the[ \t]+)?{_DAY}(?:,?[ \t]+{_YEAR})?(?!\w)",
        rf"(?<![\w']){_MONTH},?[ \t]+{_YEAR}(?!\w)",
        rf"(?<![\w']){_YEAR}(?!\w)",
    )
)

_BIRTH = re.compile(
    r"\b(?:born|birth(?:day|date)?s?|d\.?o\.?b"
    # what speech recognition makes of "date of birth" (tiny.en: "date of the earth")
    r"|date[ \t]+of[ \t]+(?:the[ \t]+)?(?:earth|berth|bath|bert|birds?|burst|worth))\b",
    re.IGNORECASE,
)
_CONTEXT = (
    (CARD, 12, 19, re.compile(
        r"\b(?:card|visa|master[ \t]?card|amex|american[ \t]+express|maestro|debit|credit"
        r"|long[ \t]+number)\b", re.IGNORECASE)),
    (PHONE, 7, 15, re.compile(
        r"\b(?:phone|mobile|cell(?:phone)?|telephone|tel|landline|whats[ \t]?app|fax"
        r"|(?:call|ring|reach|text)[ \t]+(?:me|you|us|him|her|them|back))\b", re.IGNORECASE)),
    (ACCOUNT, 6, 34, re.compile(
        r"\b(?:account|acct|a/c|sort[ \t]+code|iban|bank|building[ \t]+society"
        r"|roll[ \t]+number)\b", re.IGNORECASE)),
    (DOB, 6, 8, _BIRTH),
)
_CVV = re.compile(
    r"\b(?:cvv2?|cvc2?|cv2|security[ \t]+(?:code|number)|digits[ \t]+on[ \t]+the[ \t]+back)\b",
    re.IGNORECASE,
)
_ATTACHED_BEFORE = re.compile(
    r"[ \t,]*(?:is|was|'s|being|as)[ \t]+(?:(?:my|his|her|their|your|our|the)[ \t]+)?"
    r"(?:(?:date|day|year)[ \t]+of[ \t]+)?",
    re.IGNORECASE,
)
_EMAIL_CONTEXT = re.compile(r"\b(?:e-?mail|mail|address)\b", re.IGNORECASE)

_WRITTEN_EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
)
_TLD = (
    "com|net|org|edu|gov|mil|info|biz|io|co|uk|us|ie|eu|de|fr|es|it|nl|be|ch|at|se|no|dk|fi|pl"
    "|pt|au|nz|ca|in|me|tv|ac"
)
_LOCAL_WORD = r"[A-Za-z0-9](?:[A-Za-z0-9._%+-]*[A-Za-z0-9])?"
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_SPOKEN_DOT = r"(?:[ \t]+dot[ \t]+|\.)"
_SPOKEN_EMAIL = re.compile(
    rf"(?P<local>{_LOCAL_WORD}(?P<sep>(?:[ \t]+(?:dot|underscore|dash|hyphen)[ \t]+"
    rf"{_LOCAL_WORD})*))(?P<at>[ \t]+at[ \t]+|[ \t]*@[ \t]*)"
    rf"{_DOMAIN_LABEL}(?:{_SPOKEN_DOT}{_DOMAIN_LABEL})*{_SPOKEN_DOT}(?:{_TLD})\b",
    re.IGNORECASE,
)
_WORD_START = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9]")
_AT = re.compile(r"[ \t]at[ \t]|@", re.IGNORECASE)

_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?=[ \t]?[A-Za-z0-9])")
_EXISTING_TAG = re.compile(r"\[(?:" + "|".join(TAGS) + r")\]")

_AMOUNT = re.compile(r"\d{1,9}\.\d{2}|\d{1,3}(?:,\d{3}){1,3}(?:\.\d{1,2})?")
_PLAIN_AMOUNT = re.compile(r"\d{1,9}(?:\.\d{1,2})?")
_CURRENCY_BEFORE = re.compile(r"[£$€][ \t]?$")
_CURRENCY_AFTER = re.compile(r"[ \t]*(?:pounds?|dollars?|euros?|quid|pence)\b", re.IGNORECASE)
_YEAR_PAIR = re.compile(
    r"(?:19|20)\d\d(?:[ \t]*[-\u2013/][ \t]*(?:(?:19|20)\d\d|\d\d)|[ \t]+(?:19|20)\d\d)"
)
_PLUS_BEFORE = re.compile(r"(?:\+|\bplus)[ \t]*$", re.IGNORECASE)


# -- public API --------------------------------------------------------------------------------


def redact(text: str) -> Redacted:
    """Redact one text: a segment, a speaker's track or a whole transcript.

    Prefer the longest text you have (a speaker's whole track, see ``redact_segments``): a card
    number said in four pauses spans four segments, and only the joined text shows it whole.
    """
    work = _Work(text)
    _emails(work)
    _ibans(work)
    _digit_runs(work, _dates(work))
    _dates_of_birth(work)
    return work.result()


def redact_words(words: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """Redact a list of recognised words, keeping one output word per input word.

    The words are joined into one text (as they are when any word after the first starts with
    whitespace, the faster-whisper way, else with single spaces), redacted, and the result cut
    back at the same places: the first word a redaction touches carries its tag, the later words
    it covers completely become ``""`` (a caller keeping timings merges them into the tag's word).
    """
    result, pieces, _ = _redact_pieces(words)
    return pieces, dict(result.counts)


def redact_segments(segments: Iterable[Segment]) -> tuple[list[Segment], dict[str, int]]:
    """Redact a timeline, keeping every segment and its timing.

    First each speaker's segments are joined in time order, so digits said across a pause (or
    across the other party's "mhm") are seen as one number; then the whole conversation, so a
    question by one party licenses the redaction of the other's answer. A redaction that spans
    segments puts its tag in the first one and removes the covered text from the later ones (a
    segment may end up empty).
    Word lists are redacted the same way; the words a tag covers merge into one ``Word`` from the
    first one's start to the last one's end, with the lowest probability of them.
    """
    out = list(segments)
    by_speaker: dict[str, list[int]] = {}
    for i, segment in enumerate(out):
        by_speaker.setdefault(segment.speaker, []).append(i)
    counts = _redact_tracks(out, list(by_speaker.values()))
    # Then the whole conversation, in time order: the context that licenses a redaction is
    # often said by the other party ("Can you confirm your date of birth?" from the agent,
    # the date from the customer). Tags from the first pass are left alone.
    for tag, n in _redact_tracks(out, [list(range(len(out)))]).items():
        counts[tag] = counts.get(tag, 0) + n
    return out, counts


def _redact_tracks(out: list[Segment], tracks: list[list[int]]) -> dict[str, int]:
    """Redact ``out`` in place, each track (a list of segment indices) joined in time order."""
    counts: dict[str, int] = {}
    for indices in tracks:
        indices.sort(key=lambda i: (out[i].start, out[i].end))
        result, texts, _ = _redact_pieces([out[i].text for i in indices])
        for tag, n in result.counts.items():
            counts[tag] = counts.get(tag, 0) + n
        owners = [(i, w) for i in indices for w in out[i].words]
        new_words: dict[int, list[Word]] = {i: [] for i in indices}
        if owners:
            _, word_texts, swallowed = _redact_pieces([w.text for _, w in owners])
            for (i, word), new_text, gone in zip(owners, word_texts, swallowed, strict=True):
                kept = new_words[i]
                if gone:
                    if kept:  # covered by the tag in the previous word of this segment
                        kept[-1] = replace(kept[-1], end=max(kept[-1].end, word.end),
                                           probability=min(kept[-1].probability,
                                                           word.probability))
                    continue  # covered by a tag that sits in an earlier segment
                kept.append(replace(word, text=new_text) if new_text != word.text else word)
        for i, new_text in zip(indices, texts, strict=True):
            words = tuple(new_words[i]) if out[i].words else out[i].words
            if new_text != out[i].text or words != out[i].words:
                out[i] = replace(out[i], text=new_text, words=words)
    return counts


# -- the passes --------------------------------------------------------------------------------


class _Work:
    """The text being redacted: the original, a masked copy, the spans found so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.masked = text
        self.spans: list[Span] = []
        # Every masked stretch (new spans and tags already in the input), sorted, for windows.
        self.blocks: list[tuple[int, int, str]] = []
        for m in _EXISTING_TAG.finditer(text):
            self._block(m.start(), m.end(), m.group()[1:-1])

    def _block(self, start: int, end: int, tag: str) -> None:
        bisect.insort(self.blocks, (start, end, tag))
        self.masked = self.masked[:start] + _MASK * (end - start) + self.masked[end:]

    def add(self, start: int, end: int, tag: str) -> None:
        self.spans.append(Span(start, end, tag))
        self._block(start, end, tag)

    def is_free(self, start: int, end: int) -> bool:
        return _MASK not in self.masked[start:end]

    def block_end_before(self, pos: int) -> int:
        """Where the last masked stretch ending at or before ``pos`` ends (0 if none)."""
        i = bisect.bisect_right(self.blocks, (pos, pos, "\uffff"))
        while i > 0 and self.blocks[i - 1][1] > pos:  # blocks never overlap: at most one step
            i -= 1
        return self.blocks[i - 1][1] if i else 0

    def result(self) -> Redacted:
        spans = sorted(self.spans)
        parts: list[str] = []
        pos = 0
        counts: dict[str, int] = {}
        for span in spans:
            parts.append(self.text[pos:span.start])
            parts.append(placeholder(span.tag))
            pos = span.end
            counts[span.tag] = counts.get(span.tag, 0) + 1
        parts.append(self.text[pos:])
        return Redacted("".join(parts), counts, tuple(spans))


def _emails(work: _Work) -> None:
    for m in _WRITTEN_EMAIL.finditer(work.masked):
        work.add(m.start(), m.end(), EMAIL)
    ats = [m.start() for m in _AT.finditer(work.masked)]
    if not ats:
        return
    resume = 0
    for start_match in _WORD_START.finditer(work.masked):
        pos = start_match.start()
        if pos < resume:
            continue
        k = bisect.bisect_left(ats, pos)  # only try where an "at" follows closely
        if k == len(ats) or ats[k] - pos > 200:
            continue
        m = _SPOKEN_EMAIL.match(work.masked, pos)
        if not m:
            continue
        local = m.group("local")
        convincing = (
            "@" in m.group("at")
            or m.group("sep")
            or re.search(r"[\d._%+-]", local)
            or _EMAIL_CONTEXT.search(
                work.masked, max(pos - EMAIL_WINDOW, work.block_end_before(pos)), pos
            )
        )
        if convincing:
            work.add(m.start(), m.end(), EMAIL)
            resume = m.end()


def _ibans(work: _Work) -> None:
    text = work.masked
    resume = 0
    for m in _IBAN_START.finditer(text):
        if m.start() < resume:
            continue
        ends: list[int] = []
        pos, count = m.end(), 0
        while pos < len(text) and count < 30:
            if text[pos].isascii() and text[pos].isalnum():
                count += 1
                pos += 1
                if pos == len(text) or not (text[pos].isascii() and text[pos].isalnum()):
                    ends.append(pos)
            elif text[pos] in " \t" and pos + 1 < len(text) and text[pos + 1].isalnum():
                pos += 1
            else:
                break
        for end in reversed(ends):
            if iban_valid(text[m.start():end]):
                work.add(m.start(), end, IBAN)
                resume = end
                break


class _Token(NamedTuple):
    start: int
    end: int
    digits: str
    written: bool


def _tokens(masked: str) -> list[_Token]:
    out = []
    for m in _DIGIT_TOKEN.finditer(masked):
        if m.group("num"):
            digits, written = "".join(str(int(ch)) for ch in m.group("num")), True
        elif m.group("mult"):
            mu = m.group("mu").lower()
            d = mu if mu.isdigit() else str(_WORD_VALUES[mu])
            digits, written = d * (2 if m.group("mult").lower() == "double" else 3), False
        elif m.group("tens"):
            value = _WORD_VALUES[m.group("tens").lower()]
            if m.group("tu"):
                value += _WORD_VALUES[m.group("tu").lower()]
            digits, written = str(value), False
        elif m.group("teen"):
            digits, written = str(_WORD_VALUES[m.group("teen").lower()]), False
        else:
            digits = str(_WORD_VALUES[m.group("unit").lower()])
            if m.group("hund"):
                digits += "00"
            written = False
        out.append(_Token(m.start(), m.end(), digits, written))
    return out


def _runs(masked: str) -> list[list[_Token]]:
    """Tokens grouped into runs. An "oh" set off by punctuation at either end of a run ("Oh,
    123456") is the interjection, not a zero, and is left out of the run."""
    runs: list[list[_Token]] = []
    for token in _tokens(masked):
        if runs and _JOINER.fullmatch(masked, runs[-1][-1].end, token.start):
            runs[-1].append(token)
        else:
            runs.append([token])
    for run in runs:
        if len(run) > 1 and _interjection(masked, run[0], masked[run[0].end:run[1].start]):
            del run[0]
        if len(run) > 1 and _interjection(masked, run[-1], masked[run[-2].end:run[-1].start]):
            del run[-1]
    return runs


def _interjection(masked: str, token: _Token, joiner: str) -> bool:
    return masked[token.start:token.end].lower() == "oh" and joiner.strip(" \t") != ""


def _dates(work: _Work) -> list[tuple[int, int]]:
    """Every date-looking stretch not yet redacted, longest first where they overlap.

    A date must hold whole every digit run it touches: "2024" in "2023-2024", or "1985" in
    "1985 4111 1111", is part of a longer number, and redacting it as a date would split that
    number into pieces that read differently on a second pass.
    """
    runs = [(run[0].start, run[-1].end) for run in _runs(work.masked)]
    run_starts = [start for start, _ in runs]
    found: list[tuple[int, int]] = []
    for form in _DATE_FORMS:
        for m in form.finditer(work.masked):
            start, end = m.span()
            if end == start or not work.is_free(start, end) or not _plausible(m):
                continue
            i = max(bisect.bisect_right(run_starts, start) - 1, 0)
            touching = [r for r in runs[i:bisect.bisect_left(run_starts, end)]
                        if r[1] > start and r[0] < end]
            if all(start <= r0 and r1 <= end for r0, r1 in touching):
                found.append((start, end))
    found.sort(key=lambda se: (se[0], se[0] - se[1]))
    chosen: list[tuple[int, int]] = []
    for start, end in found:
        if not chosen or start >= chosen[-1][1]:
            chosen.append((start, end))
    return chosen


def _plausible(m: re.Match[str]) -> bool:
    groups = m.groupdict()
    if groups.get("a"):
        a, b = int(groups["a"]), int(groups["b"])
        return (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31)
    if groups.get("m"):
        return 1 <= int(groups["m"]) <= 12 and 1 <= int(groups["d"]) <= 31
    return True


def _digit_runs(work: _Work, dates: list[tuple[int, int]]) -> None:
    masked = work.masked  # a snapshot: runs come from the text as the digit pass found it
    fence = 0  # end of the last run of 3+ digits: context windows stop there
    for run in _runs(masked):
        start, end = run[0].start, run[-1].end
        digits = "".join(t.digits for t in run)
        window_start = max(start - CONTEXT_WINDOW, fence, work.block_end_before(start))
        if len(digits) >= 3:
            fence = end
        if len(digits) < MIN_DIGITS:
            if 3 <= len(digits) <= 4 and _CVV.search(masked, window_start, start):
                work.add(start, end, CARD)
            continue
        paren = start > 0 and masked[start - 1] == "("
        if paren and len(run) > 1 and ")" in masked[run[0].end:run[1].start]:
            start -= 1  # "(555) 123-4567": the bracket goes with the number
        if _card_number(digits):  # before any exemption or context: see rule 4
            work.add(start, end, CARD)
            continue
        if _exempt(masked, run[0].start, end, dates):
            continue
        plus = _PLUS_BEFORE.search(masked, max(0, run[0].start - 8), run[0].start)
        if plus and 7 <= len(digits) <= 15:
            work.add(plus.start(), end, PHONE)
            continue
        work.add(start, end, _classify(run, digits, masked, window_start, paren))


def _exempt(masked: str, start: int, end: int, dates: list[tuple[int, int]]) -> bool:
    raw = masked[start:end]
    i = bisect.bisect_right(dates, (start, len(masked) + 1)) - 1
    if i >= 0 and dates[i][0] <= start and end <= dates[i][1]:
        return True
    if _AMOUNT.fullmatch(raw) or _YEAR_PAIR.fullmatch(raw):
        return True
    currency = _CURRENCY_BEFORE.search(masked, max(0, start - 2), start) or _CURRENCY_AFTER.match(
        masked, end
    )
    return bool(currency and _PLAIN_AMOUNT.fullmatch(raw))


def _card_number(digits: str) -> bool:
    """A payment card number, whatever is said around it: 13-19 digits, not starting with 0,
    Luhn-valid."""
    return 13 <= len(digits) <= 19 and digits[0] != "0" and luhn_valid(digits)


def _classify(run: list[_Token], digits: str, masked: str, window_start: int, paren: bool) -> str:
    n = len(digits)
    start = run[0].start
    hits = [
        (m.end(), tag, low, high)
        for tag, low, high, pattern in _CONTEXT
        for m in pattern.finditer(masked, window_start, start)
    ]
    for _, tag, low, high in sorted(hits, reverse=True):
        if low <= n <= high:
            return tag
    if digits[0] == "0" and 7 <= n <= 15:
        return PHONE
    shape = [len(t.digits) for t in run]
    if all(t.written for t in run) and shape in ([3, 3, 4], [1, 3, 3, 4]):
        return PHONE
    if paren and len(run) > 1 and ")" in masked[run[0].end:run[1].start] and n in (10, 11):
        return PHONE
    return NUMBER


def _dates_of_birth(work: _Work) -> None:
    """License dates with birth keywords; see rule 5 in the module docstring.

    Each keyword licenses one date, chosen from its two neighbours only (the nearest item before
    and after it, items being dates and redactions), so the choice reads the same unchanged text
    on a second pass. A ``[DOB]`` already there counts as a date.
    """
    masked = work.masked
    items: list[tuple[int, int, bool]] = []  # (start, end, is a date)
    items += [(s, e, True) for s, e in _dates(work)]
    items += [(s, e, tag == DOB) for s, e, tag in work.blocks]
    items.sort()
    starts = [start for start, _, _ in items]
    licensed: set[int] = set()
    for kw in _BIRTH.finditer(masked):
        k = bisect.bisect_left(starts, kw.end())
        before = items[k - 1] if k and items[k - 1][2] else None
        after = items[k] if k < len(items) and items[k][2] else None
        if before and _ATTACHED_BEFORE.fullmatch(masked, before[1], kw.start()):
            licensed.add(k - 1)  # "12/03/1985 is my birthday"
        elif after and after[0] - kw.end() <= DOB_WINDOW_AFTER:
            licensed.add(k)  # "my date of birth is 12/03/1985"
        elif before and kw.start() - before[1] <= DOB_WINDOW_BEFORE:
            licensed.add(k - 1)  # "12/03/1985, that's my birthday"
    for k in sorted(licensed):
        start, end, _ = items[k]
        if work.is_free(start, end):  # a [DOB] already there stays as it is
            work.add(start, end, DOB)


def _redact_pieces(pieces: Sequence[str]) -> tuple[Redacted, list[str], list[bool]]:
    """Redact pieces of one text (words, segments) as a whole and cut the result back.

    Returns the redaction of the joined text, the new pieces, and for each piece whether a
    redaction that began in an earlier piece swallowed it (its new text is then ``""``).
    """
    sep = "" if any(p[:1].isspace() for p in pieces[1:]) else " "
    offsets: list[int] = []
    pos = 0
    for piece in pieces:
        offsets.append(pos)
        pos += len(piece) + len(sep)
    text = sep.join(pieces)
    result = redact(text)
    new: list[str] = []
    swallowed: list[bool] = []
    placed: set[Span] = set()
    for piece, ps in zip(pieces, offsets, strict=True):
        pe = ps + len(piece)
        parts: list[str] = []
        cursor = ps
        touched_earlier = False
        for span in result.spans:
            if span.end <= ps or span.start >= pe or (span.start == span.end):
                continue
            parts.append(text[cursor:max(span.start, ps)])
            if span not in placed:
                parts.append(placeholder(span.tag))
                placed.add(span)
            else:
                touched_earlier = True
            cursor = max(cursor, min(span.end, pe))
        parts.append(text[cursor:pe])
        joined = "".join(parts)
        gone = touched_earlier and not joined.strip()
        new.append("" if gone else joined)
        swallowed.append(gone)
    return result, new, swallowed
