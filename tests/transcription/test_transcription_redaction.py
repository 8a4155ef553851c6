"""PII redaction: a table of what must go (written, spoken) and what must stay, then properties."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transcription.redaction import (
    Redacted,
    Span,
    iban_valid,
    luhn_valid,
    redact,
    redact_segments,
    redact_words,
)
from transcription.timeline import Segment, Word

REDACTED = [
    # cards: Luhn-valid 13-19 digits, however written or said
    ("my card is 4111 1111 1111 1111 thanks", "my card is [CARD] thanks"),
    ("4111-1111-1111-1111", "[CARD]"),
    ("it is 4111111111111111.", "it is [CARD]."),
    ("amex 378282246310005", "amex [CARD]"),
    ("number four one one one one one one one one one one one one one one one ok",
     "number [CARD] ok"),
    ("it's four one one one, one one one one, one one one one, one one one one",
     "it's [CARD]"),
    ("it's 4 1 one one, 1111 one one 1 1, 1111", "it's [CARD]"),
    ("forty one eleven eleven eleven eleven eleven eleven eleven", "[CARD]"),
    ("five five double five five five five five five five five five four four four four",
     "[CARD]"),
    # Luhn-valid is a card whatever comes before it: no "card" needed (tiny.en hears "my card
    # number" as "my car number"), and neither "+" nor an amount's commas make it else
    ("my car number is 4556 7321 09876548", "my car number is [CARD]"),
    ("my number is 4556732109876548", "my number is [CARD]"),
    ("my account number is 4556 7321 0987 6548", "my account number is [CARD]"),
    ("call me on 4556 7321 0987 6548", "call me on [CARD]"),
    ("it is 4,556,732,109,876,548", "it is [CARD]"),
    ("plus 4556 7321 0987 6548", "plus [CARD]"),
    ("+378282246310005", "+[CARD]"),
    ("(4556) 7321 0987 6548", "[CARD]"),
    # not Luhn-valid: a card when "card" is said, a plain number otherwise
    ("card number four five six seven double eight nine oh one two three four five six seven "
     "eight", "card number [CARD]"),
    ("the card number is 4111 1111 1111 1112", "the card number is [CARD]"),
    ("4111 1111 1111 1112", "[NUMBER]"),
    ("my car number is 4567321 09876548.", "my car number is [NUMBER]."),  # a digit dropped
    ("my car number is 4556 7321 0987 6549", "my car number is [NUMBER]"),
    ("my account number is 4556 7321 0987 6549", "my account number is [ACCOUNT]"),
    ("card 4,567,321,098,765,481", "card [CARD]"),  # card-length: never an amount
    ("4,567,321,098,765,481", "[NUMBER]"),
    ("0556 7321 0987 6548", "[NUMBER]"),  # Luhn-valid, but no card starts with 0
    # the security code, short as it is
    ("and the security code is 737", "and the security code is [CARD]"),
    ("the three digits on the back are seven three seven",
     "the three digits on the back are [CARD]"),
    ("CVV 1234.", "CVV [CARD]."),
    # phones: international, national, North American, spoken
    ("call me on +44 20 7946 0958 please", "call me on [PHONE] please"),
    ("+44 (0) 20 7946 0958", "[PHONE]"),
    ("it's 020 7946 0958", "it's [PHONE]"),
    ("my mobile is 07700 900123.", "my mobile is [PHONE]."),
    ("it's (555) 123-4567 or 555-123-4567", "it's [PHONE] or [PHONE]"),
    ("1 555 123 4567", "[PHONE]"),
    ("you can reach me at 2125550123", "you can reach me at [PHONE]"),
    ("my phone number is 555 0123 456", "my phone number is [PHONE]"),
    ("oh seven seven double oh nine double oh one two three", "[PHONE]"),
    ("it's plus four four two oh seven nine four six oh nine five eight",
     "it's [PHONE]"),
    ("zero two zero, seven nine four six, oh nine five eight", "[PHONE]"),
    ("my number is 4 4 twenty 79 four six", "my number is [NUMBER]"),
    # e-mail, written and spoken
    ("john.smith@example.com", "[EMAIL]"),
    ("email me at John.Smith+qa@mail.example.co.uk.", "email me at [EMAIL]."),
    ("it's john dot smith at example dot com", "it's [EMAIL]"),
    ("my email is jsmith at gmail dot com thanks", "my email is [EMAIL] thanks"),
    ("my email address is jo at example.co.uk", "my email address is [EMAIL]"),
    ("j underscore smith at example dot org", "[EMAIL]"),
    ("jsmith85 at example dot net", "[EMAIL]"),
    ("it's john @ example dot com", "it's [EMAIL]"),
    # dates of birth, numeric and spoken
    ("my date of birth is 12/03/1985", "my date of birth is [DOB]"),
    ("DOB: 1985-03-12.", "DOB: [DOB]."),
    ("born 12.03.85", "born [DOB]"),
    ("I was born on the twelfth of March nineteen eighty five",
     "I was born on [DOB]"),
    ("date of birth March 12 1985, thanks", "date of birth [DOB], thanks"),
    ("birthday: twenty-first of May, two thousand and one", "birthday: [DOB]"),
    ("May I have your date of birth? Yes, it's 4th July 1976.",
     "May I have your date of birth? Yes, it's [DOB]."),
    ("he was born in nineteen ninety", "he was born in [DOB]"),
    ("born in 1985", "born in [DOB]"),
    ("born in March 1985", "born in [DOB]"),
    ("12/03/1985 is my birthday and 1/1/2020 is a Wednesday",
     "[DOB] is my birthday and 1/1/2020 is a Wednesday"),
    ("12/03/1985, that's my DOB", "[DOB], that's my DOB"),
    ("my DOB is one two oh three one nine eight five", "my DOB is [DOB]"),
    # "date of birth" as speech recognition sometimes hears it
    ("can you confirm your date of the earth? It is the 12th of March 1985.",
     "can you confirm your date of the earth? It is [DOB]."),
    ("date of berth 12/03/1985", "date of berth [DOB]"),
    # IBAN (mod-97 valid) and accounts
    ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "IBAN [IBAN] thanks"),
    ("it's GB82WEST12345698765432", "it's [IBAN]"),
    ("gb82 west 1234 5698 7654 32", "[IBAN]"),
    ("DE89 3704 0044 0532 0130 00.", "[IBAN]."),
    ("IBAN GB00 WEST 1234 5698 7654 32", "IBAN GB00 WEST [ACCOUNT]"),  # fails mod-97
    ("sort code 20-00-00 account number 31926819",
     "sort code [ACCOUNT] account number [ACCOUNT]"),
    ("account number 01234567", "account number [ACCOUNT]"),
    ("sort code two oh, double oh, oh five", "sort code [ACCOUNT]"),
    # any other long number
    ("order number 123456", "order number [NUMBER]"),
    ("it's 4 5 six 7 8 9", "it's [NUMBER]"),
    ("Oh, 123456", "Oh, [NUMBER]"),
]

KEPT = [
    "ticket 12345",
    "see you at 10:30",
    "that's £45.99 in total",
    "the balance is £2500.00",
    "I paid 250000 pounds for it",
    "we have 1,250,000 customers",
    "a budget of 1,250,000,000 pounds",
    "in 2024",
    "the 2023-2024 season and 2019/20",
    "your appointment is on 12/03/2025 at 10:30",
    "the appointment is on March 12, 2025 at 10:30",
    "on the twelfth of March twenty twenty five",
    "card ending 1234",
    "go to our website at example dot com",
    "look at this dot com",
    "oh I see, one moment",
    "I have two kids and one dog, twenty five pounds",
    "Room 101, floor 3",
    "reference ABC12",
    "a 5 star hotel for 3 nights, 2 adults",
    "I was born in Leeds",
    "the date of the appointment is 12/03/2025",
    "down to earth, 12 March 1985",
    "she phoned about 3 times",
    "",
]


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_redacts(text, expected):
    assert redact(text).text == expected


@pytest.mark.parametrize("text", KEPT)
def test_keeps(text):
    r = redact(text)
    assert r.text == text
    assert r.counts == {} and r.spans == ()


@pytest.mark.parametrize("text", [t for t, _ in REDACTED] + KEPT)
def test_spans_point_at_the_original_and_redaction_is_idempotent(text):
    r = redact(text)
    check_spans(text, r)
    again = redact(r.text)
    assert again.text == r.text
    assert again.counts == {} and again.spans == ()


def check_spans(text: str, r: Redacted) -> None:
    rebuilt, pos = [], 0
    for span in r.spans:
        assert pos <= span.start < span.end <= len(text)
        assert text[span.start:span.end] == text[span.start:span.end].strip()
        rebuilt += [text[pos:span.start], f"[{span.tag}]"]
        pos = span.end
    assert "".join(rebuilt) + text[pos:] == r.text
    assert sum(r.counts.values()) == len(r.spans)
    assert r.counts == {tag: sum(1 for s in r.spans if s.tag == tag) for tag in r.counts}


def test_counts_and_spans():
    text = "card 4111 1111 1111 1111, phone 020 7946 0958, or +44 20 7946 0958; jo@x.io"
    r = redact(text)
    assert r.text == "card [CARD], phone [PHONE], or [PHONE]; [EMAIL]"
    assert r.counts == {"CARD": 1, "PHONE": 2, "EMAIL": 1}
    assert [text[s.start:s.end] for s in r.spans] == [
        "4111 1111 1111 1111", "020 7946 0958", "+44 20 7946 0958", "jo@x.io",
    ]
    assert r.spans[0] == Span(5, 24, "CARD")


def test_tags_already_there_are_neither_touched_nor_counted():
    r = redact("my card is [CARD] and my DOB is [DOB], phone [PHONE] 123")
    assert r.text == "my card is [CARD] and my DOB is [DOB], phone [PHONE] 123"
    assert r.counts == {}


def test_a_whole_transcript_with_lines():
    transcript = (
        "Agent: Can I take your date of birth?\n"
        "Customer: Yes, 12/03/1985.\n"
        "Agent: And the long number on the card?\n"
        "Customer: 4111 1111 1111 1111.\n"
        "Agent: Thanks, your appointment is on 14/05/2025.\n"
    )
    r = redact(transcript)
    assert r.text == (
        "Agent: Can I take your date of birth?\n"
        "Customer: Yes, [DOB].\n"
        "Agent: And the long number on the card?\n"
        "Customer: [CARD].\n"
        "Agent: Thanks, your appointment is on 14/05/2025.\n"
    )


def test_checksums():
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112") and not luhn_valid("")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and iban_valid("de89370400440532013000")
    assert not iban_valid("GB00 WEST 1234 5698 7654 32") and not iban_valid("GB82")


# -- words and segments -----------------------------------------------------------------------


def test_redact_words_keeps_one_output_per_word():
    words = ["my", "card", "is", "4111", "1111", "1111", "1111,", "thanks"]
    out, counts = redact_words(words)
    assert out == ["my", "card", "is", "[CARD]", "", "", ",", "thanks"]
    assert counts == {"CARD": 1}
    # faster-whisper words carry their leading space
    words = [" Call", " me", " on", " 020", " 7946", " 0958."]
    out, counts = redact_words(words)
    assert out == [" Call", " me", " on", " [PHONE]", "", "."]
    assert "".join(out) == redact("".join(words)).text


def test_redact_segments_joins_a_speakers_segments_and_merges_words():
    def seg(start, end, speaker, *words):
        ws = tuple(Word(start + i, start + i + 1, w, 0.9 - i / 100) for i, w in enumerate(words))
        return Segment(start, end, "".join(words), speaker, ws)

    timeline = [
        seg(0, 3, "agent", " The", " long", " number?"),
        seg(3, 6, "customer", " It's", " 4111", " 1111"),
        seg(7, 10, "customer", " 1111", " 1111", " thanks"),  # after a 1 s pause: one number
    ]
    out, counts = redact_segments(timeline)
    assert counts == {"CARD": 1}
    # one number over two segments: one utterance, the second joins the first
    assert [s.text for s in out] == [" The long number?", " It's [CARD] thanks"]
    assert [(s.start, s.end, s.speaker) for s in out] == [(0, 3, "agent"), (3, 10, "customer")]
    assert out[0] is timeline[0]
    card = out[1].words[1]  # from the first digit's start to the last one's end
    assert (card.text, card.start, card.end, card.probability) == (" [CARD]", 4, 9, 0.88)
    assert [(w.text, w.start) for w in out[1].words] == [(" It's", 3), (" [CARD]", 4),
                                                         (" thanks", 9)]
    # The agent's "Mhm." among the digits parts them (issue 15): two numbers, each redacted in
    # its own segment. (This test used to expect one card across the agent's turn.)
    timeline.insert(2, seg(6, 7, "agent", " Mhm."))
    out, counts = redact_segments(timeline)
    assert counts == {"NUMBER": 2}
    assert [s.text for s in out] == [" The long number?", " It's [NUMBER]", " Mhm.",
                                     " [NUMBER] thanks"]
    assert out[2] is timeline[2]


# -- a card read out, as a recogniser may write it (what the audio tests stood in for) ---------


def _heard(*segments: tuple[str, float, str]) -> list[Segment]:
    """A timeline as faster-whisper gives it: (speaker, start, words with their leading
    space), a word a quarter of a second."""
    out = []
    for speaker, start, text in segments:
        pieces = re.findall(r"\s*\S+", text)
        words = tuple(Word(start + i / 4, start + (i + 1) / 4, w, 0.9) for i, w in
                      enumerate(pieces))
        out.append(Segment(start, start + len(pieces) / 4, text, speaker, words))
    return out


CARD_HEARD = [
    # (what was heard, the one tag it must get)
    (" My card number is 4556 7321 0987 6548.", "CARD"),
    (" It's 4556 7321 0987 6548.", "CARD"),  # no "card" said at all
    (" My car number is 4556 7321 09876548.", "CARD"),  # tiny.en, one machine
    (" My car number is 4556-7321-09876548", "CARD"),  # tiny.en, alone: hyphens in the words
    (" My car number is 4556732109876548", "CARD"),
    (" My car number is four five five six, seven three two one, zero nine eight seven, six"
     " five four eight.", "CARD"),
    (" My car number is 4,556,732,109,876,548.", "CARD"),
    # Luhn fails (a digit misheard or dropped): a card only if "card" was heard
    (" My card number is 4556 7321 0987 6549.", "CARD"),
    (" My car number is 4556 7321 0987 6549.", "NUMBER"),
    (" My car number is 4567321 09876548.", "NUMBER"),  # tiny.en, another machine: 15 digits
    (" My car number is 4566-7321-09676548", "NUMBER"),
    (" My account number is 4556 7321 0987 6549.", "ACCOUNT"),
]


@pytest.mark.parametrize(("heard", "tag"), CARD_HEARD)
def test_a_card_read_out_is_redacted_whole_in_the_timeline(heard, tag):
    timeline = _heard(("agent", 0.0, " Can I take the payment details?"),
                      ("customer", 3.0, heard))
    out, counts = redact_segments(timeline)
    assert counts == {tag: 1}, out[1].text
    assert out[0] is timeline[0]
    said = out[1]
    assert said.text.count(f"[{tag}]") == 1 and not re.search(r"\d", said.text), said.text
    assert "".join(w.text for w in said.words) == said.text
    heard_words = timeline[1].words
    first = next(i for i, w in enumerate(heard_words)
                 if re.search(r"\d|\b(?:four|five)\b", w.text))
    # the words before the number are kept as they were heard; the tag's word starts with the
    # number and only punctuation follows it, the whole ending where the number ended
    assert said.words[:first] == heard_words[:first]
    tagged = said.words[first]
    assert tagged.text.rstrip(".,") == f" [{tag}]" and tagged.start == heard_words[first].start
    assert all(not w.text.strip(" .,") for w in said.words[first + 1:])
    assert said.words[-1].end == heard_words[-1].end


def test_a_card_read_out_in_pauses_is_one_card_but_not_across_the_agents_mhm():
    """A pause of 1.5 s keeps the card whole; the agent's "Mhm." in it parts it (issue 15; this
    test used to expect one card across the agent's turn)."""
    timeline = _heard(("customer", 0.0, " My car number is 4556 7321"),
                      ("agent", 2.5, " Mhm."),
                      ("customer", 3.0, " 0987 6548."))
    out, counts = redact_segments([timeline[0], timeline[2]])
    assert counts == {"CARD": 1}
    assert [s.text for s in out] == [" My car number is [CARD]."]  # one utterance now
    out, counts = redact_segments(timeline)
    # two halves of a card, 8 digits each: still redacted (the second starts with 0: a phone)
    assert counts == {"NUMBER": 1, "PHONE": 1}
    assert [s.text for s in out] == [" My car number is [NUMBER]", " Mhm.", " [PHONE]."]


def test_a_luhn_valid_16_digit_run_needs_no_context_word():
    for text in ("4556 7321 0987 6548", "ok 4556732109876548 ok", "car 4556 7321 0987 6548"):
        assert redact(text).counts == {"CARD": 1}, text
    assert luhn_valid("4556732109876548") and not luhn_valid("4556732109876549")
    assert redact("4556 7321 0987 6549").counts == {"NUMBER": 1}


# -- properties -------------------------------------------------------------------------------

UNIT_WORDS = "zero one two three four five six seven eight nine".split()
SPOKEN_TO_DIGIT = {w: str(i) for i, w in enumerate(UNIT_WORDS)} | {"oh": "0", "nought": "0"}


def luhn_complete(prefix: str) -> str:
    return next(prefix + d for d in "0123456789" if luhn_valid(prefix + d))


@st.composite
def card_numbers(draw):
    digits = luhn_complete(draw(st.sampled_from("3456")) + draw(st.text("0123456789",
                                                                          min_size=14,
                                                                          max_size=14)))
    style = draw(st.sampled_from(["plain", "groups", "dashes", "spoken", "mixed"]))
    if style == "plain":
        return digits
    if style == "groups":
        return " ".join(digits[i:i + 4] for i in range(0, 16, 4))
    if style == "dashes":
        return "-".join(digits[i:i + 4] for i in range(0, 16, 4))
    words = []
    for d in digits:
        spoken = draw(st.booleans()) if style == "mixed" else True
        words.append((draw(st.sampled_from(["oh", "zero"])) if d == "0" else UNIT_WORDS[int(d)])
                     if spoken else d)
    return draw(st.sampled_from([" ", ", "])).join(words)


FILLER = [
    "my", "card", "number", "is", "phone", "oh", "one", "double", "born", "at", "dot", "email",
    "thanks", "the", "on", "12/03/1985", "2024", "£45.99", "10:30", "ticket", "12345", "account",
    "security", "code", "7", "42", "-", ",", ".", "GB82", "WEST", "+", "(", ")", "birthday",
    "March", "twelfth", "of", "nineteen", "eighty", "five", "[CARD]", "x@y.com", "com",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(card_numbers(), st.sampled_from(FILLER)), min_size=1, max_size=12),
       st.sampled_from([" ", ", ", " - "]))
def test_no_luhn_valid_16_digit_run_survives(pieces, sep):
    out = redact(sep.join(pieces)).text
    for run in digit_runs(out):
        for i in range(len(run) - 15):
            assert not luhn_valid(run[i:i + 16]), (sep.join(pieces), out)


BEFORE_A_CARD = ["", "my card number is", "my car number is", "my number is", "it's",
                 "account number", "my phone is", "call me on", "born", "plus", "+", "the order",
                 "and the security code is", "thanks.", "email me at"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BEFORE_A_CARD),
       # a final "oh" set off by a comma is the interjection (rule 4), not a zero
       card_numbers().filter(lambda card: not card.endswith(", oh")))
def test_a_luhn_valid_card_is_a_card_whatever_comes_before_it(before, card):
    r = redact(f"{before} {card} thanks".lstrip())
    assert r.text == f"{before} [CARD] thanks".lstrip(), (card, r.text)


def digit_runs(text: str) -> list[str]:
    """Digits said or written one after another, separated by spaces, hyphens or ", "."""
    runs, current = [], ""
    for token in re.split(r"(?:,?\s+|-)", text):
        low = token.lower()
        if token.isdigit():
            current += token
        elif low in SPOKEN_TO_DIGIT:
            current += SPOKEN_TO_DIGIT[low]
        else:
            runs.append(current)
            current = ""
    return [r for r in runs + [current] if r]


VOCABULARY = FILLER + [
    "12", "1985", "03", "0958", "7946", "020", "4111", "1111", "+44", "plus", "nine", "two",
    "sort", "cvv", "dob", "date", "birth", "john", "smith", "example", "gmail", "co", "uk", "@",
    "/", "GB00", "DE89", "3704", "0044", "0532", "0130", "00", "appointment", "pounds", "£",
    "1,250", ",000", "2023-2024", "May", "first", "twenty", "thousand", "and", "address",
    "mobile", "call", "me", "(555)", "123-4567", "triple", "hundred", "eight", "[DOB]", "[PHONE]",
    "\n", "that's", "it's", "was", "visa", "back", "digits",
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY), max_size=30),
       st.lists(st.sampled_from([" ", " ", " ", ", ", "", "-", ". "]), min_size=30, max_size=30))
def test_redaction_is_idempotent_and_spans_are_exact(words, seps):
    text = "".join(w + s for w, s in zip(words, seps, strict=False))
    r = redact(text)
    check_spans(text, r)
    again = redact(r.text)
    assert again.text == r.text, (text, r.text, again.text)
    assert again.counts == {}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY).filter(lambda w: w.strip()), max_size=25))
def test_words_joined_back_are_the_redacted_text(words):
    spaced = [" " + w for w in words]
    out, counts = redact_words(spaced)
    whole = redact("".join(spaced))
    assert len(out) == len(spaced)
    assert "".join(out) == whole.text
    assert counts == whole.counts


# -- known gaps: documented, so that closing one is noticed -----------------------------------


@pytest.mark.xfail(strict=True, reason="spelt-out letters of an IBAN are not recognised")
def test_gap_spelt_out_iban_letters():
    assert "W E S T" not in redact("G B eight two W E S T one two three four five six").text


@pytest.mark.xfail(strict=True, reason="a two-word spoken local part loses only its last word")
def test_gap_two_word_local_part():
    assert "john" not in redact("my email is john smith at example dot com").text


@pytest.mark.xfail(strict=True, reason="large spoken cardinals are not digit runs")
def test_gap_spoken_cardinals():
    assert "[" in redact("four thousand one hundred and eleven, one thousand one hundred").text


def test_the_other_partys_question_licenses_the_answer():
    """The agent asks for the date of birth; the customer's answer on the other channel is
    redacted, though the customer never says "birth"."""
    timeline = [
        Segment(0, 3, " Can you confirm your date of birth?", "agent"),
        Segment(3.5, 6, " It is the 12th of March 1985.", "customer"),
        Segment(6.5, 9, " Thank you.", "agent"),
    ]
    out, counts = redact_segments(timeline)
    assert counts == {"DOB": 1}
    assert out[1].text == " It is [DOB]."
    alone, _ = redact_segments([timeline[1]])
    assert alone[0].text == timeline[1].text  # without the question: a date like any other


@pytest.mark.parametrize(("question", "answer"), [
    (" For security, can you confirm your date of birth?", " It is the 12th of March 1985."),
    (" For security, can you confirm your date of the earth?", " It is the 12th of March, 1985."),
    (" Can you confirm your date of birth?", " It is the twelfth of March, nineteen eighty five."),
    (" Can you confirm your date of birth?", " It's 12 March 1985."),
])
def test_a_date_of_birth_asked_for_is_redacted_however_heard(question, answer):
    """What the demo's first call says (the agent asks, the customer answers), in the forms a
    recogniser writes it: the answer is a [DOB] and its year is gone."""
    out, counts = redact_segments([Segment(0, 3, question, "agent"),
                                   Segment(3.5, 6, answer, "customer"),
                                   Segment(6.5, 9, " Thank you.", "agent")])
    assert counts == {"DOB": 1}, out[1].text
    assert "[DOB]" in out[1].text and "1985" not in out[1].text and "eighty" not in out[1].text
