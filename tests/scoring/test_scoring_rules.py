"""The scoring function: worked examples, then properties that hold for every form."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.forms.rules import (
    NA,
    AnswerError,
    Condition,
    Form,
    FormError,
    Option,
    Question,
    Section,
    form_from_dict,
    round2,
    score,
    validate_form,
)

D = Decimal


def yn(key, points=1, **kw):
    return Question(key, f"Question {key}", "yes_no", D(points), **kw)


EXAMPLE = Form((
    Section("open", "Opening", D(1), (
        yn("greet", 2),
        yn("identify", 3, critical="form"),
    )),
    Section("body", "Handling", D(3), (
        Question("empathy", "Empathy", "scale", D(4), scale_min=1, scale_max=5),
        Question("resolution", "Resolution", "single", D(5), options=(
            Option("full", points=D(5)), Option("partial", points=D(2)),
            Option("none", points=D(0), fails=True))),
        yn("disclosure", 1, allow_na=True, critical="section"),
        Question("notes", "Notes", "text"),
    )),
    Section("extra", "Extras", D(0), (
        yn("above", 5, kind="bonus"),
        yn("rude", 10, kind="penalty"),
    )),
))


def test_worked_example():
    answers = {"greet": "yes", "identify": "yes", "empathy": 4, "resolution": "partial",
               "disclosure": "yes", "notes": "fine", "above": "no", "rude": "no"}
    result = score(EXAMPLE, answers)
    opening, handling, extras = result.sections
    assert opening.score == D("100.00")
    # empathy 4*(4-1)/(5-1) = 3, resolution 2, disclosure 1: 6 of 10
    assert (handling.earned, handling.possible, handling.score) == (6, 10, D("60.00"))
    assert extras.score is None  # nothing normal to score: the section is N/A
    # (1*100 + 3*60) / 4 = 70
    assert result.total == D("70.00") and not result.critical_fail


def test_bonus_and_penalty_move_the_total_within_bounds():
    base = {"greet": "yes", "identify": "yes", "empathy": 5, "resolution": "full",
            "disclosure": "yes", "rude": "no"}
    assert score(EXAMPLE, {**base, "above": "yes"}).total == D("100.00")  # capped
    assert score(EXAMPLE, {**base, "above": "no", "rude": "yes"}).total == D("90.00")


def test_critical_form_question_zeroes_the_form():
    answers = {"greet": "yes", "identify": "no", "empathy": 5, "resolution": "full",
               "disclosure": "yes", "above": "yes", "rude": "no"}
    result = score(EXAMPLE, answers)
    assert result.total == D("0.00") and result.critical_fail
    assert result.critical_reasons == ("Opening: Question identify",)


def test_critical_section_question_zeroes_its_section_only():
    answers = {"greet": "yes", "identify": "yes", "empathy": 5, "resolution": "full",
               "disclosure": "no", "above": "no", "rude": "no"}
    result = score(EXAMPLE, answers)
    assert result.sections[1].score == D("0.00") and result.sections[0].score == D("100.00")
    assert result.total == D("25.00") and result.critical_fail


def test_failing_option_of_a_non_critical_question_is_just_zero_points():
    answers = {"greet": "yes", "identify": "yes", "empathy": 1, "resolution": "none",
               "disclosure": "yes", "above": "no", "rude": "no"}
    result = score(EXAMPLE, answers)
    assert not result.critical_fail and result.sections[1].score == D("10.00")


def test_na_leaves_the_denominator():
    answers = {"greet": "yes", "identify": "yes", "empathy": 5, "resolution": "full",
               "disclosure": NA, "above": "no", "rude": "no"}
    handling = score(EXAMPLE, answers).sections[1]
    assert (handling.earned, handling.possible) == (9, 9)


def test_conditional_questions_are_scored_only_when_shown():
    form = Form((Section("s", "S", D(1), (
        Question("reason", "Why did they call?", "single", D(0),
                 options=(Option("complaint"), Option("question"))),
        yn("apology", 2, condition=Condition("reason", ("complaint",))),
        yn("answer", 2),
    )),))
    hidden = score(form, {"reason": "question", "answer": "yes"})
    assert hidden.sections[0].possible == 2 and hidden.total == D("100.00")
    shown = score(form, {"reason": "complaint", "apology": "no", "answer": "yes"})
    assert shown.total == D("50.00")
    with pytest.raises(AnswerError, match="apology: not answered"):
        score(form, {"reason": "complaint", "answer": "yes"})


def test_bad_answers_are_named():
    with pytest.raises(AnswerError) as err:
        score(EXAMPLE, {"greet": "maybe", "identify": NA, "empathy": 9,
                        "resolution": "other", "disclosure": "yes"}, partial=True)
    assert set(err.value.problems) == {"greet", "identify", "empathy", "resolution"}


def test_partial_scores_what_is_answered():
    result = score(EXAMPLE, {"greet": "yes"}, partial=True)
    assert result.total == D("100.00") and "identify" in result.unanswered


def test_multi_select_sums_within_its_points():
    form = Form((Section("s", "S", D(1), (
        Question("checks", "Checks done", "multi", D(3), options=(
            Option("a", points=D(2)), Option("b", points=D(2)), Option("c", points=D(-1)))),
    )),))
    assert score(form, {"checks": ["a", "b"]}).total == D("100.00")  # 4 capped at 3
    assert score(form, {"checks": ["a", "c"]}).total == D("33.33")


def test_rounding_is_half_away_from_zero_once():
    assert round2(Fraction(1, 8)) == D("0.13")
    assert round2(Fraction(200, 3)) == D("66.67")


@pytest.mark.parametrize("bad", [
    {"sections": []},
    {"sections": [{"key": "s", "questions": [{"key": "q", "text": "x", "type": "essay"}]}]},
    {"sections": [{"key": "s", "questions": [{"key": "q", "text": "x"},
                                             {"key": "q", "text": "y"}]}]},
    {"sections": [{"key": "s", "questions": [{"key": "q", "text": "x", "condition":
                                              {"question": "later", "values": ["yes"]}}]}]},
    {"sections": [{"key": "s", "questions": [{"text": "no key"}]}]},
])
def test_invalid_forms_are_refused(bad):
    with pytest.raises(FormError):
        form_from_dict(bad)


# --- properties ------------------------------------------------------------------------------

@st.composite
def forms_and_answers(draw):
    sections = []
    answers = {}
    n = 0
    for s in range(draw(st.integers(1, 4))):
        questions = []
        for _ in range(draw(st.integers(1, 5))):
            n += 1
            key = f"q{n}"
            kind = draw(st.sampled_from(["yes_no", "scale", "single"]))
            points = D(draw(st.integers(0, 10)))
            allow_na = draw(st.booleans())
            critical = draw(st.sampled_from([None, None, None, "section", "form"]))
            if kind == "yes_no":
                q = Question(key, key, "yes_no", points, allow_na=allow_na, critical=critical)
                answer = draw(st.sampled_from(["yes", "no"]))
            elif kind == "scale":
                top = draw(st.integers(2, 10))
                q = Question(key, key, "scale", points, allow_na=allow_na, critical=critical,
                             scale_min=1, scale_max=top)
                answer = draw(st.integers(1, top))
            else:
                opts = tuple(Option(f"o{i}", points=D(draw(st.integers(0, 10))))
                             for i in range(draw(st.integers(1, 4))))
                q = Question(key, key, "single", max((o.points for o in opts), default=D(0)),
                             options=opts, allow_na=allow_na, critical=critical)
                answer = draw(st.sampled_from([o.value for o in opts]))
            if allow_na and draw(st.booleans()):
                answer = NA
            questions.append(q)
            answers[key] = answer
        sections.append(Section(f"s{s}", f"S{s}", D(draw(st.integers(0, 5))), tuple(questions)))
    return Form(tuple(sections)), answers


@settings(max_examples=200, deadline=None)
@given(forms_and_answers())
def test_scores_stay_within_0_and_100(case):
    form, answers = case
    validate_form(form)
    result = score(form, answers)
    for s in result.sections:
        assert s.score is None or D(0) <= s.score <= D(100)
    assert result.total is None or D(0) <= result.total <= D(100)


@settings(max_examples=200, deadline=None)
@given(forms_and_answers(), st.integers(2, 50))
def test_scaling_every_weight_changes_nothing(case, k):
    form, answers = case
    scaled = Form(tuple(Section(s.key, s.title, s.weight * k, s.questions)
                        for s in form.sections))
    assert score(scaled, answers).total == score(form, answers).total


@settings(max_examples=200, deadline=None)
@given(forms_and_answers())
def test_na_is_the_same_as_the_question_not_being_there(case):
    form, answers = case
    na_keys = {k for k, v in answers.items() if v == NA}
    stripped = Form(tuple(Section(s.key, s.title, s.weight,
                                  tuple(q for q in s.questions if q.key not in na_keys))
                          for s in form.sections))
    kept = {k: v for k, v in answers.items() if k not in na_keys}
    assert score(form, answers).total == score(stripped, kept).total


@settings(max_examples=200, deadline=None)
@given(forms_and_answers())
def test_best_answers_score_100_unless_nothing_counts(case):
    form, _answers = case
    best = {}
    for s in form.sections:
        for q in s.questions:
            if q.type == "yes_no":
                best[q.key] = "yes"
            elif q.type == "scale":
                best[q.key] = q.scale_max
            else:
                best[q.key] = max(q.options, key=lambda o: o.points).value
    result = score(form, best)
    assert result.total in (None, D("100.00"))
    assert not result.critical_fail


def test_json_round_trip_of_a_form():
    data = {"sections": [{"key": "s", "title": "S", "weight": 2, "questions": [
        {"key": "q1", "text": "Greets", "type": "yes_no", "points": 2, "critical": "form",
         "competencies": ["6.3.2"]},
        {"key": "q2", "text": "Tone", "type": "scale", "scale_min": 0, "scale_max": 4},
    ]}]}
    form = form_from_dict(data)
    assert form.sections[0].questions[0].competencies == ("6.3.2",)
    assert score(form, {"q1": "yes", "q2": 2}).total == D("83.33")
