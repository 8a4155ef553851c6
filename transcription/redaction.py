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
   runs; in a call, not a long pause or the other party's word either: see "Calls" below). An
   "oh" set off by punctuation at the edge of a run ("Oh, 123456") is an interjection, not a
   zero. A run of at least ``min_digits`` (``RedactionRules``, ``MIN_DIGITS`` = 6 unless the
   site says otherwise) digits is redacted, whatever it is; only the tag depends on what it
   looks like, first match wins:

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
     -> ``[ACCOUNT]`` (``account_digits``, 6-34 unless the site says otherwise);
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
   right after "CVV", "security code" or "digits on the back", which are ``[CARD]``, and runs
   of ``SHORTEST_NUMBER`` (5) digits or more that one of the kinds above recognises (at the
   default rules none does: each needs 6 digits or more; a site that lowers ``account_digits``
   to 5 gets "account number 12345" redacted, and one that raises ``min_digits`` still gets
   every card, phone, account number and date of birth). A run of 1-4 digits is never a
   number of its own: a short answer ("two", "four one"), a time, a PIN's "last four".
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

**Calls** (``redact_segments``, issue 15). A call is redacted word by word, never by joining a
speaker's segments: that turned every digit a customer said over a minute, across pauses and
the agent's turns, into one ``[NUMBER]``. All the words of both parties, in time order, make one
text (a segment without words is one word lasting the segment), in which two neighbouring words
are parted by a *turn* break (a newline) where the speaker changes, and by a *pause* break where
one speaker pauses longer than ``RedactionRules.number_gap_s`` (1.5 s). So a spoken number is
the digits of one party with no pause longer than that between two of them and no word of the
other party among them: a card read out in four groups with short pauses is one ``[CARD]``;
the same groups a few seconds apart, or the agent's "two" between the customer's digits, are
separate runs, and the short ones stay.

Only digit runs stop at a pause break. The other rules read it as a space (an IBAN or an e-mail
address said in pieces, a date with a pause before its year), and context windows, which
count characters, cross both kinds: the agent's "date of birth?" licenses the customer's answer,
and "my card number is ... 4111 1111 1111 1112" after a long pause is still a ``[CARD]``. A
turn break stops the e-mail, IBAN and date patterns: a spoken address or a date cut by the
other party's word is not seen whole (its digits, when they are enough, still are).

A redaction replaces only the words it covers and keeps their times: its tag is one word from
the first covered word's start to the last covered word's end; the words around it keep their
text and times, and a segment that holds none of its words is left exactly as it was.

What this does not catch (see the tests' "known gaps"): spelt-out letters ("G B eight two W E S
T ..."): the digits are still redacted but the letters stay; a spoken e-mail whose local part is
two words without "dot" ("john smith at example dot com" keeps "john", redacts the rest); a
spoken address without "email"/"address" before it and a one-word local part; names and postal
addresses; numbers spoken as large cardinals ("four thousand one hundred and eleven"); numbers
of five digits or fewer outside a CVV context (a PIN, "the last four").
"""

from __future__ import annotations

import bisect
import math
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
"""The shortest digit run redacted whatever it is, unless the site says otherwise: long enough
to leave tickets, times, amounts and years readable, short enough to catch a sort code."""
SHORTEST_NUMBER = 5
"""No rule may redact a shorter digit run as a number (issue 15): one to four digits are a short
answer ("two", "four one"), a time or a PIN's "last four", never an account number. The CVV
rule, which needs its own words before the digits, is the one exception."""
NUMBER_GAP_S = 1.5
"""The longest pause inside one spoken number, in seconds: longer than the breaths between the
groups of a card or phone number read out (a second or so). Longer than the 1 s at which a
segment is cut into utterances (``segmenting.MAX_PAUSE_S``), so a number may run over two
segments of one speaker, which is why a call is redacted word by word."""
ACCOUNT_DIGITS = (6, 34)
"""How many digits an account number may have: from a UK sort code (6, said alone after "sort
code") to the longest IBAN (34 characters, its digits said without the country letters)."""

CONTEXT_WINDOW = 60
EMAIL_WINDOW = 60
DOB_WINDOW_AFTER = 50
DOB_WINDOW_BEFORE = 30

_MASK = "\u4e00"
"""Stands in for redacted text while the passes run. No pattern here matches it, yet it is a word
character, like the letters and digits at the edges of what it hides: text next to a redaction
then meets the same word boundary now as next to its tag on a second pass, which keeps
``redact`` idempotent."""


@dataclass(frozen=True)
class RedactionRules:
    """What makes a digit run a number to redact: the site's choice (``QM_REDACT_NUMBER_GAP_S``,
    ``QM_REDACT_MIN_DIGITS``, read by ``transcription.settings``), today's rules by default.

    Frozen, so one value can be shared by every file of a batch; a value that would break a
    rule of the issue (a run of 1-4 digits redacted as a number, a negative pause) is refused
    here, whoever builds it.
    """

    number_gap_s: float = NUMBER_GAP_S
    """In a call, a longer pause between two words of one party ends a spoken number."""
    min_digits: int = MIN_DIGITS
    """A run of this many digits is redacted whatever it is (``[NUMBER]`` when nothing else
    fits); a shorter one only when it is recognised as a card, phone, account number or date of
    birth."""
    account_digits: tuple[int, int] = ACCOUNT_DIGITS
    """The lengths (least, most) of a run that an account word ("account", "sort code",
    "bank" ...) before it makes an ``[ACCOUNT]``. Not (8, 18), a UK account number to the
    longest American one: a sort code or an IBAN's digits would then be tagged ``[NUMBER]``."""

    def __post_init__(self) -> None:
        gap = self.number_gap_s
        if isinstance(gap, bool) or not isinstance(gap, int | float) or not (
                math.isfinite(gap) and gap >= 0):
            raise ValueError(f"number_gap_s must be a number of seconds >= 0, got {gap!r}")
        if isinstance(self.min_digits, bool) or not isinstance(self.min_digits, int) \
                or self.min_digits < SHORTEST_NUMBER:
            raise ValueError(f"min_digits must be a whole number >= {SHORTEST_NUMBER}, "
                             f"got {self.min_digits!r}")
        try:
            low, high = self.account_digits
        except (TypeError, ValueError):
            low = high = None
        if not (isinstance(low, int) and isinstance(high, int)
                and SHORTEST_NUMBER <= low <= high):
            raise ValueError(f"account_digits must be (least, most) with {SHORTEST_NUMBER} <= "
                             f"least <= most, got {self.account_digits!r}")


DEFAULT_RULES = RedactionRules()


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


def redact(text: str, *, rules: RedactionRules | None = None) -> Redacted:
    """Redact one text: a chat, an e-mail, a note, a transcript written out.

    A text has no timing, so digits form one run across any spaces (rule 4): give a call's
    timeline to ``redact_segments`` instead, which knows where a speaker paused and who spoke.
    """
    return _redact(text, rules or DEFAULT_RULES, ())


def redact_words(words: Sequence[str], *, rules: RedactionRules | None = None
                 ) -> tuple[list[str], dict[str, int]]:
    """Redact a list of recognised words, keeping one output word per input word.

    The words are joined into one text (as they are when any word after the first starts with
    whitespace, the faster-whisper way, else with single spaces), redacted, and the result cut
    back at the same places: the first word a redaction touches carries its tag, the later words
    it covers completely become ``""`` (a caller keeping timings merges them into the tag's word).
    Like ``redact``, it knows no timing: for a call's words, use ``redact_segments``.
    """
    result, pieces, _ = _redact_pieces(words, rules or DEFAULT_RULES)
    return pieces, dict(result.counts)


def redact_segments(segments: Iterable[Segment], *, rules: RedactionRules | None = None
                    ) -> tuple[list[Segment], dict[str, int]]:
    """Redact a call's timeline, keeping every segment with its timing and speaker.

    The words of both parties are redacted as one text, in time order, where a digit run stops
    at a pause longer than ``rules.number_gap_s`` and at the other party's words, while a
    question of one party still licenses the redaction of the other's answer ("Calls" in the
    module docstring). A redaction becomes one word, its tag, from the first covered word's
    start to the last covered word's end, with the lowest probability among them; what is left
    of a word it covers only in part (the full stop after a number) stays in the tag's word, or,
    in a later segment, a word of its own with its own times. A segment none of whose words a
    redaction covers is returned as it was (the same object); one whose words all went into a
    tag in an earlier segment is left with an empty text.

    A segment's new text is its new words joined as its words were. A segment without words is
    one word lasting the whole segment. A segment whose text is not its words joined (a
    recogniser whose text and words disagree) is redacted by its text, as one word, and its
    words are then redacted on their own, so that neither keeps what the other lost; the counts
    are those of the texts.
    """
    rules = rules or DEFAULT_RULES
    out = list(segments)
    joins = [_word_join(segment) for segment in out]
    units = _units(out, joins)
    text, offsets, breaks = _call_text(units, joins, rules)
    result = _redact(_pause_marks(text), rules, breaks)
    cuts = _cut(text, offsets, [unit.text for unit in units], result.spans)
    new_words: dict[int, list[Word]] = {}
    new_texts: dict[int, str] = {}
    changed: set[int] = set()
    tag_words: dict[Span, tuple[int, int]] = {}  # span -> (segment, place in its new words)
    absorbed: dict[int, int] = {}  # segment -> the segment whose tag took some of its words
    for unit, cut in zip(units, cuts, strict=True):
        i = unit.segment
        if cut.text != unit.text:
            changed.add(i)
        if unit.word < 0:
            new_texts[i] = cut.text
            continue
        word = out[i].words[unit.word]
        kept = new_words.setdefault(i, [])
        if cut.text == unit.text:
            kept.append(word)
            continue
        if cut.placed is None and cut.carried is not None:  # inside a tag begun earlier
            holder = tag_words.get(cut.carried)
            same = holder is not None and holder[0] == i
            if holder is not None and not same:
                absorbed.setdefault(i, holder[0])
            if holder is not None and (same or not cut.text.strip()):
                # The tag's word lasts to this word's end; in its own segment it also takes
                # what the tag left of this word (the full stop after a number).
                tag = new_words[holder[0]][holder[1]]
                new_words[holder[0]][holder[1]] = replace(
                    tag, text=tag.text + cut.text if same else tag.text,
                    end=max(tag.end, word.end),
                    probability=min(tag.probability, word.probability))
            if same or not cut.text.strip():
                continue
        kept.append(replace(word, text=cut.text))
        if cut.placed is not None:
            tag_words[cut.placed] = (i, len(kept) - 1)
    for i, segment in enumerate(out):
        if segment.words and joins[i] is None:  # text and words disagree: words on their own
            words = _own_words(segment, rules)
            if i in changed or words != segment.words:
                out[i] = replace(segment, text=new_texts[i], words=words)
        elif i in changed:
            if i in new_texts:
                out[i] = replace(segment, text=new_texts[i])
            else:
                words = tuple(new_words[i])
                out[i] = replace(segment, words=words, text=_joined_text(
                    segment, joins[i] or "", [w.text for w in words]))
    return _merge_absorbed(out, absorbed), dict(result.counts)


def _merge_absorbed(out: list[Segment], absorbed: dict[int, int]) -> list[Segment]:
    """A number said over several utterances of one speaker is one utterance: each segment
    whose words went into a tag held by an earlier segment joins that segment (what is left of
    it, the comma after the last digit or the words after the number, follows the tag), so that
    no segment is left empty and the tag's segment lasts as long as the tag."""
    if not absorbed:
        return out
    into: dict[int, int] = {}
    for j in sorted(absorbed):
        i = absorbed[j]
        i = into.get(i, i)  # the holder may itself have joined an earlier one
        if i >= j or out[i].speaker != out[j].speaker or not out[i].words \
                or out[i].start > out[j].start:
            continue  # a timeline out of order (one speaker's segments overlapping): left as is
        into[j] = i
        holder, joined = out[i], out[j]
        rest = joined.text.strip()
        out[i] = replace(holder, end=max(holder.end, joined.end),
                         words=holder.words + joined.words,
                         text=holder.text + (joined.text if rest else ""))
    return [segment for k, segment in enumerate(out) if k not in into]


# -- a call as one text --------------------------------------------------------------------------


class _Unit(NamedTuple):
    """A word of the call in time order, or a segment without usable words as one word."""

    segment: int  # its place in the timeline
    word: int  # its place in the segment's words; -1: the segment's text
    start: float
    end: float
    text: str
    speaker: str


def _word_join(segment: Segment) -> str | None:
    """How a segment's words join into its text ("" when they carry their leading space, else
    " "), or None when they do not give its text (nor when it has no words)."""
    if not segment.words:
        return None
    texts = [word.text for word in segment.words]
    for sep in ("", " "):
        if sep.join(texts).strip() == segment.text.strip():
            return sep
    return None


def _units(out: Sequence[Segment], joins: Sequence[str | None]) -> list[_Unit]:
    units = []
    for i, segment in enumerate(out):
        if joins[i] is None:
            units.append(_Unit(i, -1, segment.start, segment.end, segment.text, segment.speaker))
            continue
        at = -math.inf
        for k, word in enumerate(segment.words):
            at = max(at, word.start)  # a word never goes before one heard before it
            units.append(_Unit(i, k, at, word.end, word.text, segment.speaker))
    units.sort(key=lambda unit: (unit.start, unit.segment, unit.word))
    return units


def _call_text(units: Sequence[_Unit], joins: Sequence[str | None], rules: RedactionRules
               ) -> tuple[str, list[int], list[int]]:
    """The call as one text: its units' texts, where each starts, and the pause breaks.

    A turn break is a newline, which every rule stops at but the context windows; a pause break
    is a whitespace character (the unit's own leading space, or one put there) whose position is
    given to ``_redact``, so that only digit runs stop there.
    """
    parts: list[str] = []
    offsets: list[int] = []
    breaks: list[int] = []
    pos = 0
    last: _Unit | None = None
    last_end = -math.inf  # the latest end of a word of this turn: words may overlap
    for unit in units:
        spaced = unit.text[:1].isspace()
        if last is None:
            sep = ""
        elif unit.speaker != last.speaker:
            sep = "\n"
            last_end = -math.inf
        elif unit.start - last_end > rules.number_gap_s:
            sep = "" if spaced else " "
            breaks.append(pos)
        elif unit.segment == last.segment and unit.word >= 0:
            sep = "" if spaced else joins[unit.segment] or ""
        else:
            sep = "" if spaced else " "
        parts += (sep, unit.text)
        pos += len(sep)
        offsets.append(pos)
        pos += len(unit.text)
        last, last_end = unit, max(last_end, unit.end)
    return "".join(parts), offsets, breaks


_ELLIPSIS = re.compile(r"\.{2,}|\u2026")


def _pause_marks(text: str) -> str:
    """A call's text with the recogniser's pause marks ("7... 3", "4\u2026") read as one dot
    and spaces, the same length (so spans fall where they did): in a call, where a number ends
    is for the words' times to say, and Whisper writes "..." wherever a speaker paused."""
    return _ELLIPSIS.sub(lambda m: "." + " " * (len(m.group()) - 1) if len(m.group()) > 1
                         else ".", text)


class _Cut(NamedTuple):
    """A piece of a redacted text cut back: its new text, the last tag it holds (whose span may
    go on into later pieces), and the first span begun in an earlier piece that covers it."""

    text: str
    placed: Span | None
    carried: Span | None


def _cut(text: str, offsets: Sequence[int], pieces: Sequence[str],
         spans: Sequence[Span]) -> list[_Cut]:
    """Cut the redaction of ``text`` back into its pieces (``pieces[i]`` at ``offsets[i]``): the
    first piece a span touches gets its tag, the later ones only what the span leaves of them."""
    cuts = []
    first = 0
    seen: set[Span] = set()
    for ps, piece in zip(offsets, pieces, strict=True):
        pe = ps + len(piece)
        while first < len(spans) and spans[first].end <= ps:
            first += 1
        parts: list[str] = []
        cursor = ps
        placed = carried = None
        j = first
        while j < len(spans) and spans[j].start < pe:
            span = spans[j]
            j += 1
            if span.start == span.end:
                continue
            parts.append(text[cursor:max(span.start, ps)])
            if span in seen:
                carried = carried or span
            else:
                parts.append(placeholder(span.tag))
                seen.add(span)
                placed = span
            cursor = max(cursor, min(span.end, pe))
        parts.append(text[cursor:pe])
        joined = "".join(parts)
        cuts.append(_Cut("" if placed is None and carried and not joined.strip() else joined,
                         placed, carried))
    return cuts


def _joined_text(segment: Segment, sep: str, texts: Sequence[str]) -> str:
    """A segment's text from its new words, joined as its words were."""
    new = sep.join(t for t in texts if t) if sep else "".join(texts)
    if segment.text == sep.join(word.text for word in segment.words):
        return new
    core = new.strip()  # the text had other spaces around its words: keep them
    if not core:
        return ""
    head = segment.text[:len(segment.text) - len(segment.text.lstrip())]
    return head + core + segment.text[len(segment.text.rstrip()):]


def _own_words(segment: Segment, rules: RedactionRules) -> tuple[Word, ...]:
    """A segment's words redacted on their own; a tag's word lasts until its last word's end."""
    _, texts, swallowed = _redact_pieces([word.text for word in segment.words], rules)
    kept: list[Word] = []
    for word, new_text, gone in zip(segment.words, texts, swallowed, strict=True):
        if gone:
            if kept:
                kept[-1] = replace(kept[-1], end=max(kept[-1].end, word.end),
                                   probability=min(kept[-1].probability, word.probability))
            continue
        kept.append(replace(word, text=new_text) if new_text != word.text else word)
    return tuple(kept)


# -- the passes --------------------------------------------------------------------------------


def _redact(text: str, rules: RedactionRules, breaks: Sequence[int]) -> Redacted:
    """The passes, in their order (see the module docstring); ``breaks`` are the pause breaks
    of a call's text (``_call_text``), none in a text without timing."""
    work = _Work(text, breaks)
    _emails(work)
    _ibans(work)
    _digit_runs(work, _dates(work), rules)
    _dates_of_birth(work)
    return work.result()



class _Work:
    """The text being redacted: the original, a masked copy, the spans found so far, and the
    pause breaks (positions, each a whitespace character) that digit runs do not cross."""

    def __init__(self, text: str, breaks: Sequence[int] = ()) -> None:
        self.text = text
        self.masked = text
        self.breaks = tuple(breaks)
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

    def hard(self) -> str:
        """The masked text with a newline at each pause break: where digit runs are read, so
        that a newline ends them there as it does everywhere (rule 4). Same length, same
        positions."""
        if not self.breaks:
            return self.masked
        chars = list(self.masked)
        for pos in self.breaks:
            chars[pos] = "\n"
        return "".join(chars)

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
    runs = [(run[0].start, run[-1].end) for run in _runs(work.hard())]
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


def _digit_runs(work: _Work, dates: list[tuple[int, int]], rules: RedactionRules) -> None:
    masked = work.masked  # a snapshot: runs come from the text as the digit pass found it
    fence = 0  # end of the last run of 3+ digits: context windows stop there
    for run in _runs(work.hard()):  # runs stop at pause breaks; the rest reads across them
        start, end = run[0].start, run[-1].end
        digits = "".join(t.digits for t in run)
        window_start = max(start - CONTEXT_WINDOW, fence, work.block_end_before(start))
        if len(digits) >= 3:
            fence = end
        if len(digits) < SHORTEST_NUMBER:
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
        tag = _classify(run, digits, masked, window_start, paren, rules)
        if tag is None and len(digits) >= rules.min_digits:
            tag = NUMBER  # long enough to be any of them: see rule 4
        if tag is not None:
            work.add(start, end, tag)


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


def _classify(run: list[_Token], digits: str, masked: str, window_start: int, paren: bool,
              rules: RedactionRules) -> str | None:
    """The kind a run of digits is recognised as (rule 4), None if none."""
    n = len(digits)
    start = run[0].start
    hits: list[tuple[int, str, int, int]] = []
    for tag, low, high, pattern in _CONTEXT:
        if tag == ACCOUNT:
            low, high = rules.account_digits
        hits += [(m.end(), tag, low, high) for m in pattern.finditer(masked, window_start, start)]
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
    return None


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


def _redact_pieces(pieces: Sequence[str], rules: RedactionRules
                   ) -> tuple[Redacted, list[str], list[bool]]:
    """Redact pieces of one text (words) as a whole and cut the result back.

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
    result = _redact(text, rules, ())
    cuts = _cut(text, offsets, pieces, result.spans)
    swallowed = [cut.placed is None and cut.carried is not None and not cut.text
                 for cut in cuts]
    return result, [cut.text for cut in cuts], swallowed
