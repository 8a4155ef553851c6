"""The scoring rules of a form version: one pure function, ``score(form, answers)``.

The formula (README, "How a form is scored"):

* A question is *scored* when it is shown (its condition, if any, is met), answered, not N/A,
  and of a scored type (yes/no, scale, single select, multi select; text and date are not).
* Its earned points: yes/no gives its points for "yes", 0 for "no"; a scale of min..max gives
  ``points * (value - min) / (max - min)``; a single select gives the chosen option's points; a
  multi select gives the sum of the chosen options' points, kept within ``0..points``.
* A section's score is ``100 * earned / possible`` over its scored normal questions. A section
  with nothing scored (all N/A, hidden or unscored) is itself N/A and leaves the total.
* The total is the weighted mean of the scored sections' scores by section weight, then bonus
  questions answered "yes" add their points and penalty questions answered "yes" subtract
  theirs (percentage points), and the result is kept within 0..100.
* A critical question that fails ("no", the lowest scale value, or an option marked ``fails``)
  zeroes its section (``critical="section"``) or the whole form (``critical="form"``) and marks
  the evaluation as a critical fail with the question as the reason.
* Arithmetic is exact (``Fraction``); section scores and the total are rounded once, at the
  end, to two decimals, half away from zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

NA = "n/a"


QUESTION_TYPES = ("yes_no", "scale", "single", "multi", "text", "date")


SCORED_TYPES = ("yes_no", "scale", "single", "multi")


KINDS = ("normal", "bonus", "penalty")


HUNDRED = Fraction(100)


class FormError(ValueError):
    """The form definition is not valid."""


class AnswerError(ValueError):
    """Answers that do not fit the form; ``problems`` maps question keys to messages."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


@dataclass(frozen=True)
class Option:
    value: str
    label: str = ""
    points: Decimal = Decimal(0)
    fails: bool = False  # choosing it fails a critical question


@dataclass(frozen=True)
class Condition:
    """Show (and score) the question only when ``question`` was answered with one of ``values``."""

    question: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    type: str = "yes_no"
    points: Decimal = Decimal(1)
    kind: str = "normal"
    allow_na: bool = False
    critical: str | None = None  # None, "section" or "form"
    scale_min: int = 1
    scale_max: int = 5
    options: tuple[Option, ...] = ()
    condition: Condition | None = None
    help: str = ""
    competencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    weight: Decimal = Decimal(1)
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True)
class Form:
    sections: tuple[Section, ...]

    def questions(self) -> dict[str, Question]:
        return {q.key: q for s in self.sections for q in s.questions}


@dataclass(frozen=True)
class SectionScore:
    key: str
    earned: Fraction
    possible: Fraction
    score: Decimal | None  # None: the section is N/A
    critical_fail: bool = False


@dataclass(frozen=True)
class QuestionScore:
    """One scored question of a result: what the weakest-questions report is built from."""

    key: str
    section: str
    earned: Fraction
    possible: Fraction
    failed: bool = False


@dataclass(frozen=True)
class Result:
    sections: tuple[SectionScore, ...]
    total: Decimal | None  # None: nothing on the form was scored
    critical_fail: bool = False
    critical_reasons: tuple[str, ...] = ()
    bonus: Fraction = Fraction(0)
    penalty: Fraction = Fraction(0)
    unanswered: tuple[str, ...] = field(default_factory=tuple)
    questions: tuple[QuestionScore, ...] = field(default_factory=tuple)


def round2(value: Fraction) -> Decimal:
    """Two decimals, half away from zero, from the exact value."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def round4(value: Fraction) -> Decimal:
    """Four decimals, for per-question points stored for reports."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def validate_form(form: Form) -> None:
    seen: set[str] = set()
    if not form.sections:
        raise FormError("A form needs at least one section.")
    for section in form.sections:
        if section.weight < 0:
            raise FormError(f"Section {section.key!r} has a negative weight.")
        for q in section.questions:
            if q.key in seen:
                raise FormError(f"Question key {q.key!r} is used twice.")
            seen.add(q.key)
            if q.type not in QUESTION_TYPES:
                raise FormError(f"Question {q.key!r} has unknown type {q.type!r}.")
            if q.kind not in KINDS:
                raise FormError(f"Question {q.key!r} has unknown kind {q.kind!r}.")
            if q.points < 0:
                raise FormError(f"Question {q.key!r} has negative points.")
            if q.critical not in (None, "section", "form"):
                raise FormError(f"Question {q.key!r}: critical is 'section', 'form' or empty.")
            if q.kind != "normal" and q.type != "yes_no":
                raise FormError(f"Bonus and penalty question {q.key!r} must be yes/no.")
            if q.type == "scale" and q.scale_max <= q.scale_min:
                raise FormError(f"Scale question {q.key!r} needs max > min.")
            if q.type in ("single", "multi") and not q.options:
                raise FormError(f"Select question {q.key!r} needs options.")
            if q.condition is not None and q.condition.question not in seen:
                raise FormError(f"Question {q.key!r} depends on {q.condition.question!r}, "
                                "which must come before it.")


def _shown(q: Question, answers: dict[str, Any]) -> bool:
    if q.condition is None:
        return True
    given = answers.get(q.condition.question)
    given_values = given if isinstance(given, list | tuple) else [given]
    return any(str(v) in q.condition.values for v in given_values if v is not None)


def _earned(q: Question, value: Any) -> tuple[Fraction, bool]:
    """(earned points, failed) for an answered, scored question; ValueError if it does not fit."""
    points = Fraction(q.points)
    if q.type == "yes_no":
        if value not in ("yes", "no", True, False):
            raise ValueError("answer yes or no")
        yes = value in ("yes", True)
        return (points if yes else Fraction(0)), not yes
    if q.type == "scale":
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"a whole number from {q.scale_min} to {q.scale_max}") from None
        if not q.scale_min <= number <= q.scale_max:
            raise ValueError(f"a whole number from {q.scale_min} to {q.scale_max}")
        return points * Fraction(number - q.scale_min, q.scale_max - q.scale_min), (
            number == q.scale_min)
    options = {o.value: o for o in q.options}
    if q.type == "single":
        if str(value) not in options:
            raise ValueError(f"one of {', '.join(options)}")
        option = options[str(value)]
        return min(max(Fraction(option.points), Fraction(0)), points), option.fails
    chosen = list(value) if isinstance(value, list | tuple) else []
    if not chosen or any(str(v) not in options for v in chosen) or len(set(chosen)) != len(chosen):
        raise ValueError(f"one or more of {', '.join(options)}")
    total = sum((Fraction(options[str(v)].points) for v in chosen), Fraction(0))
    return min(max(total, Fraction(0)), points), any(options[str(v)].fails for v in chosen)


def score(form: Form, answers: dict[str, Any], *, partial: bool = False) -> Result:
    """Score ``answers`` (question key -> value, or NA) on ``form``.

    With ``partial`` (a draft's live score) unanswered questions are left out; without it they
    are an ``AnswerError``, as are answers that do not fit their question.
    """
    problems: dict[str, str] = {}
    unanswered: list[str] = []
    reasons: list[str] = []
    form_fail = False
    bonus = penalty = Fraction(0)
    section_scores: list[SectionScore] = []
    question_scores: list[QuestionScore] = []
    for section in form.sections:
        earned = possible = Fraction(0)
        section_fail = False
        for q in section.questions:
            if not _shown(q, answers):
                continue
            value = answers.get(q.key)
            if value is None or value == "" or value == []:
                if q.type in SCORED_TYPES:
                    unanswered.append(q.key)
                continue
            if value == NA:
                if not q.allow_na:
                    problems[q.key] = "N/A is not allowed here"
                continue
            if q.type == "date":
                try:
                    dt.date.fromisoformat(str(value))
                except ValueError:
                    problems[q.key] = "a date as YYYY-MM-DD"
                continue
            if q.type not in SCORED_TYPES:
                continue
            try:
                got, failed = _earned(q, value)
            except ValueError as exc:
                problems[q.key] = str(exc)
                continue
            if q.kind == "bonus":
                bonus += got
                continue
            if q.kind == "penalty":
                penalty += got  # "yes": the penalised thing happened
                continue
            earned += got
            possible += Fraction(q.points)
            question_scores.append(QuestionScore(q.key, section.key, got, Fraction(q.points),
                                                 failed))
            if q.critical and failed:
                reasons.append(f"{section.title}: {q.text}")
                if q.critical == "form":
                    form_fail = True
                else:
                    section_fail = True
        if possible == 0:
            section_scores.append(SectionScore(section.key, earned, possible, None))
            continue
        percent = Fraction(0) if section_fail else HUNDRED * earned / possible
        section_scores.append(SectionScore(section.key, earned, possible, round2(percent),
                                           section_fail))
    if unanswered and not partial:
        problems.update({k: "not answered" for k in unanswered if k not in problems})
    if problems:
        raise AnswerError(problems)
    total = _total(form, section_scores, bonus, penalty, form_fail=form_fail)
    return Result(tuple(section_scores), total, bool(reasons), tuple(reasons), bonus, penalty,
                  tuple(unanswered), tuple(question_scores))


def _total(form: Form, sections: list[SectionScore] | tuple[SectionScore, ...], bonus: Fraction,
           penalty: Fraction, *, form_fail: bool, critical: bool = True) -> Decimal | None:
    """The total of scored sections (``score``'s formula); ``critical=False`` leaves out what
    critical questions did (no section zeroed, the form not zeroed)."""
    weights = {s.key: Fraction(s.weight) for s in form.sections}
    scored = [s for s in sections if s.score is not None and weights[s.key] > 0]
    if not scored:
        return None
    weight_sum = sum((weights[s.key] for s in scored), Fraction(0))
    mean = sum((weights[s.key] * (Fraction(0) if s.critical_fail and critical
                                  else HUNDRED * s.earned / s.possible) for s in scored),
               Fraction(0)) / weight_sum
    if form_fail and critical:
        return round2(Fraction(0))
    return round2(min(max(mean + bonus - penalty, Fraction(0)), HUNDRED))


@dataclass(frozen=True)
class CriticalEffect:
    """What failed critical questions did to a result, to say it in words: which questions,
    whether the whole form or some sections were zeroed, and the scores they would have had."""

    questions: tuple[tuple[str, str], ...]  # (section title, question text)
    whole_form: bool
    sections: tuple[tuple[str, Decimal], ...]  # zeroed section: (title, score it would have had)
    total: Decimal | None
    total_without: Decimal | None  # the total had no critical question failed

    def sentences(self) -> list[str]:
        """The effect in words, for an agent as much as an evaluator: which question was
        missed ("Critical question missed: 'Verified identity?' (Compliance)."), then what it
        zeroed and what that did ("The Compliance section scores 0 (it would have been 50.00);
        overall 50.00 instead of 75.00." or "The whole evaluation scores 0 (it would have been
        75.00).")."""
        missed = "; ".join(f"'{text}' ({title})" for title, text in self.questions)
        plural = "s" if len(self.questions) > 1 else ""
        out = [f"Critical question{plural} missed: {missed}."]
        if self.whole_form:
            out.append(f"The whole evaluation scores 0 (it would have been "
                       f"{self.total_without}).")
            return out
        zeroed = ", ".join(f"the {title} section scores 0 (it would have been {would})"
                           for title, would in self.sections)
        if zeroed:
            out.append(f"{zeroed[0].upper()}{zeroed[1:]}; overall {self.total} instead of "
                       f"{self.total_without}.")
        return out


def critical_effect(form: Form, result: Result) -> CriticalEffect | None:
    """What the critical questions that failed did to ``result`` (scored on ``form``); None
    when none failed. Pure: it reads the result's exact earned points, nothing is re-scored.

    Worked example: a Compliance section (weight 1) with a critical ("section") question
    missed and 1 of 2 points earned, and a Courtesy section (weight 1) at 100: Compliance
    scores 0 (it would have been 50.00); overall 50.00 instead of 75.00.
    """
    if not result.critical_fail:
        return None
    questions = form.questions()
    titles = {s.key: s.title for s in form.sections}
    failed = [q for q in result.questions if q.failed and questions[q.key].critical]
    whole_form = any(questions[q.key].critical == "form" for q in failed)
    zeroed = tuple((titles[s.key], round2(HUNDRED * s.earned / s.possible))
                   for s in result.sections if s.critical_fail and s.possible)
    without = _total(form, result.sections, result.bonus, result.penalty, form_fail=whole_form,
                     critical=False)
    return CriticalEffect(tuple((titles[q.section], questions[q.key].text) for q in failed),
                          whole_form, zeroed, result.total, without)


def form_from_dict(data: dict[str, Any]) -> Form:
    """A form version from its JSON shape (the import/export format)."""
    try:
        sections = []
        for s in data["sections"]:
            questions = []
            for q in s.get("questions", []):
                cond = q.get("condition")
                questions.append(Question(
                    key=str(q["key"]), text=str(q["text"]), type=q.get("type", "yes_no"),
                    points=Decimal(str(q.get("points", 1))), kind=q.get("kind", "normal"),
                    allow_na=bool(q.get("allow_na", False)), critical=q.get("critical"),
                    scale_min=int(q.get("scale_min", 1)), scale_max=int(q.get("scale_max", 5)),
                    options=tuple(Option(str(o["value"]), o.get("label", str(o["value"])),
                                         Decimal(str(o.get("points", 0))),
                                         bool(o.get("fails", False)))
                                  for o in q.get("options", [])),
                    condition=Condition(str(cond["question"]),
                                        tuple(str(v) for v in cond["values"])) if cond else None,
                    help=q.get("help", ""), competencies=tuple(q.get("competencies", [])),
                ))
            sections.append(Section(str(s["key"]), str(s.get("title", s["key"])),
                                    Decimal(str(s.get("weight", 1))), tuple(questions)))
    except AttributeError:  # a list or a number where an object belongs
        raise FormError("The form JSON is not valid: the form, each section, question, option "
                        "and condition must be a JSON object ({...}).") from None
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise FormError(f"The form JSON is not valid: {exc!r}") from None
    form = Form(tuple(sections))
    validate_form(form)
    return form
