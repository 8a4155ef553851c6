"""The questions drawn in Python (``scoring.evaluations.sheet``) are the HTML the Jinja macro
drew before (``tests/data/templates/questions_macro_before.html``, the macro as it was), apart
from the amount of whitespace between words and tags, which HTML does not show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Environment
from markupsafe import Markup

from scoring.evaluations import sheet

BEFORE = (Path(__file__).resolve().parent.parent / "data" / "templates"
          / "questions_macro_before.html").read_text()

DEFINITION = {"sections": [
    {"key": "open", "title": "Opening <call>", "weight": 2, "questions": [
        {"key": "greet", "text": "Greets & names", "type": "yes_no", "points": 1,
         "critical": "form", "help": "Within 5 s"},
        {"key": "tone", "text": "Tone", "type": "scale", "scale_min": 1, "scale_max": 5,
         "points": 2.5, "allow_na": True},
        {"key": "why", "text": "Why not?", "type": "text",
         "condition": {"question": "greet", "values": ["no"]}},
        {"key": "extra", "text": "Went further", "type": "yes_no", "kind": "bonus",
         "points": 3},
        {"key": "rude", "text": "Was rude", "type": "yes_no", "kind": "penalty"},
    ]},
    {"key": "close", "weight": 1.5, "questions": [
        {"key": "topic", "text": "Topic", "type": "single", "critical": "section",
         "options": [{"value": "a", "label": "Billing"}, {"value": "b"},
                     {"value": 3, "label": "Three <3>"}]},
        {"key": "steps", "text": "Steps", "type": "multi",
         "options": [{"value": "x", "label": "Verify"}, {"value": "y", "label": "Summarise"}],
         "condition": {"question": "topic", "values": ["a", "b"]}},
        {"key": "when", "text": "Follow-up", "type": "date"},
    ]},
]}

ANSWERS = [
    {},
    {"greet": "yes", "tone": "4", "extra": True, "topic": "a", "steps": ["x", "y"],
     "when": "2026-12-01"},
    {"greet": "no", "why": "Line was <bad>", "tone": "n/a", "rude": "no", "topic": "b",
     "steps": ["y"], "when": ""},
    {"greet": "no", "topic": "3", "steps": "x", "extra": False},
]


def _macro(**kwargs):
    module = Environment(autoescape=True).from_string(BEFORE).module
    return module.questions(**kwargs)


def _squeezed(html) -> str:
    return re.sub(r"\s+", " ", str(html)).strip()


@pytest.mark.parametrize("answers", ANSWERS)
@pytest.mark.parametrize("show_notes", [True, False])
def test_the_answers_are_the_macros_html(answers, show_notes):
    notes = {"greet": "Said “hi” <late>", "topic": "Right one", "why": "ok"}
    sources = {"greet": "revision 2, Lead <A>"}
    scores = {"open": "83.33", "close": None}
    for errors in ({}, {"tone": "Answer this"}):
        drawn = sheet.answered(DEFINITION, answers, notes, errors, show_notes, scores, sources)
        assert isinstance(drawn, Markup)
        assert _squeezed(drawn) == _squeezed(_macro(
            definition=DEFINITION, answers=answers, notes=notes, errors=errors,
            editable=False, show_notes=show_notes, section_scores=scores,
            note_sources=sources))


def test_nothing_given_is_escaped_or_lost():
    drawn = str(sheet.answered(DEFINITION, ANSWERS[2], {"why": "<script>"}))
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    assert "Line was &lt;bad&gt;" in drawn and "Opening &lt;call&gt;" in drawn
    # shown only when its condition holds
    assert 'id="wrap-why"' in drawn
    assert 'id="wrap-why"' not in str(sheet.answered(DEFINITION, ANSWERS[1], {}))


def test_a_scalar_answer_to_a_choice_or_a_condition_is_read_as_one_value():
    """An answer stored as a number (the API accepts one) reads as that one value, where the
    macro stopped with a TypeError."""
    q = DEFINITION["sections"][1]["questions"][0]
    assert sheet.answer_label(q, 3) == "Three &lt;3&gt;"
    assert sheet.answer_label(q, ["a", "b"]) == "Billing, b"
    definition = {"sections": [{"key": "s", "questions": [
        {"key": "n", "type": "scale"},
        {"key": "m", "type": "text", "condition": {"question": "n", "values": ["4"]}}]}]}
    assert 'id="wrap-m"' in str(sheet.answered(definition, {"n": 4}, {}))


@pytest.mark.parametrize("answers", ANSWERS[:3])
def test_the_inputs_keep_the_macros_html(app, answers):
    """The editable questions (inputs, with headings from ``sheet``) are the macro's HTML as
    it was, errors, feedback and a dispute's feedback in force included."""
    notes = {"greet": "Said hi", "tone": "<calm>"}
    for errors, prior in (({}, None), ({"greet": "Answer this"}, {"greet": "Was “late”"})):
        kwargs = dict(definition=DEFINITION, answers=answers, notes=notes, errors=errors,
                      editable=True, prior_notes=prior, note_sources={"greet": "revision 2"})
        with app.test_request_context("/"):
            template = app.jinja_env.get_template("scoring/evaluations/_questions.html")
            drawn = template.module.questions(**kwargs)
        assert 'type="radio"' in drawn and "<textarea" in drawn
        assert _squeezed(drawn) == _squeezed(_macro(**kwargs))
