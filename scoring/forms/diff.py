"""What publishing a draft changes, in words: the difference between the published version of
a scoring form and the draft that will replace it (pure: ``rules.Form`` in, sentences out).

Sections and questions are matched by their keys, which the builder keeps while texts change:
a question whose key stays is the same question, reworded or re-weighted; a key that appears
or disappears is a question added or removed. One sentence per change, in the form's order, so
a publisher reads what evaluators will meet before it is frozen. The view passes what
``rules.form_from_dict`` made of each version's definition.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# The shapes of ``scoring.forms.rules`` (Form, Section, Question, Option), read by attribute:
# a pure module imports nothing of the app.
Form = Section = Question = Option = Any

CRITICAL_WORDS = {None: "not critical", "section": "failing it zeroes its section",
                  "form": "failing it zeroes the whole form"}


def _n(value: Decimal) -> str:
    """2, 2.5: a number as people write it."""
    return format(value.normalize(), "f")


def _options(question: Question, old: tuple[Option, ...], new: tuple[Option, ...]) -> list[str]:
    out = []
    before = {o.value: o for o in old}
    after = {o.value: o for o in new}
    name = f"Question '{question.text}'"
    for value, option in after.items():
        label = option.label or value
        if value not in before:
            out.append(f"{name}: option '{label}' added ({_n(option.points)} points).")
            continue
        was = before[value]
        if (was.label or value) != label:
            out.append(f"{name}: option '{was.label or value}' renamed to '{label}'.")
        if was.points != option.points:
            out.append(f"{name}: option '{label}' now gives {_n(option.points)} points "
                       f"(was {_n(was.points)}).")
        if was.fails != option.fails:
            out.append(f"{name}: choosing '{label}' "
                       f"{'now fails' if option.fails else 'no longer fails'} the question.")
    for value, option in before.items():
        if value not in after:
            out.append(f"{name}: option '{option.label or value}' removed.")
    return out


def _question(old: Question, new: Question, old_section: Section,
              new_section: Section) -> list[str]:
    out = []
    if old.text != new.text:
        out.append(f"Question '{old.text}' reworded: '{new.text}'.")
    name = f"Question '{new.text}'"
    if old_section.key != new_section.key:
        out.append(f"{name} moved from section '{old_section.title}' to '{new_section.title}'.")
    if old.type != new.type:
        out.append(f"{name}: type {old.type} changed to {new.type}.")
    if old.points != new.points:
        out.append(f"{name}: weight {_n(old.points)} points changed to {_n(new.points)}.")
    if old.kind != new.kind:
        out.append(f"{name}: {old.kind} question now {new.kind}.")
    if old.critical != new.critical:
        out.append(f"{name}: {CRITICAL_WORDS[new.critical]} (was "
                   f"{CRITICAL_WORDS[old.critical]}).")
    if old.allow_na != new.allow_na:
        allowed = "allowed" if new.allow_na else "no longer allowed"
        out.append(f"{name}: 'not applicable' {allowed}.")
    if (old.scale_min, old.scale_max) != (new.scale_min, new.scale_max) and new.type == "scale":
        out.append(f"{name}: scale {old.scale_min}-{old.scale_max} changed to "
                   f"{new.scale_min}-{new.scale_max}.")
    if old.condition != new.condition:
        out.append(f"{name}: when it is asked changed.")
    out += _options(new, old.options, new.options)
    return out


def differences(published: Form | None, draft: Form) -> list[str]:
    """The changes from ``published`` to ``draft``, one sentence each ([] when none).

    Worked example: a published form with section Opening (weight 1) holding "Greets the
    customer" (1 point), and a draft where Opening has weight 2, the question reads "Greets the
    customer by name" and gives 2 points, gives ``["Section 'Opening': weight 1 changed to 2.",
    "Question 'Greets the customer' reworded: 'Greets the customer by name'.", "Question
    'Greets the customer by name': weight 1 points changed to 2."]``.
    """
    if published is None:
        return []
    out: list[str] = []
    old_sections = {s.key: s for s in published.sections}
    new_sections = {s.key: s for s in draft.sections}
    old_questions = {q.key: (q, s) for s in published.sections for q in s.questions}
    new_questions = {q.key: (q, s) for s in draft.sections for q in s.questions}
    for section in draft.sections:
        was = old_sections.get(section.key)
        if was is None:
            out.append(f"Section '{section.title}' added (weight {_n(section.weight)}, "
                       f"{len(section.questions)} question(s)).")
        else:
            if was.title != section.title:
                out.append(f"Section '{was.title}' renamed to '{section.title}'.")
            if was.weight != section.weight:
                out.append(f"Section '{section.title}': weight {_n(was.weight)} changed to "
                           f"{_n(section.weight)}.")
        for question in section.questions:
            before = old_questions.get(question.key)
            if before is None:
                critical = f"; {CRITICAL_WORDS[question.critical]}" if question.critical else ""
                out.append(f"Question '{question.text}' added to section '{section.title}' "
                           f"({_n(question.points)} points{critical}).")
            else:
                out += _question(before[0], question, before[1], section)
    for key, (question, section) in old_questions.items():
        if key not in new_questions:
            out.append(f"Question '{question.text}' removed from section '{section.title}'.")
    for key, section in old_sections.items():
        if key not in new_sections:
            out.append(f"Section '{section.title}' removed.")
    return out
