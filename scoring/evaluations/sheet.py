"""A scoring form's questions as HTML, drawn in Python where a page draws them on every view:
the answers given (an evaluation, a revision, a calibration score), each question's heading,
and the label of an answer. The editable inputs stay in
``templates/scoring/evaluations/_questions.html``, which uses the headings from here, so both
views share one markup. A Jinja macro costs about two hundred Python calls per question; an
evaluation of sixteen questions spent a fifth of its page on them.

``definition`` is a form version's JSON shape (``scoring.forms.rules``): dicts, read the way the
template read them (a missing key shows as nothing, a ``None`` as "None"). Every value is
escaped here (``escape``) before it goes into the markup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

_SCORED = ("yes_no", "scale", "single", "multi")
_NOT_ANSWERED = '<span class="text-muted">not answered</span>'


def _text(item: Mapping[str, Any], key: str, default: Any = "") -> str:
    return escape(item[key] if key in item else default)


def _label(q: Mapping[str, Any], value: Any) -> str:
    if value is None or value == "":
        return _NOT_ANSWERED
    if value == "n/a":
        return "N/A"
    kind = q.get("type")
    if kind == "yes_no":
        return escape(str(value).capitalize())
    if kind in ("single", "multi"):
        values = value if isinstance(value, list | tuple) else [value]
        options = q.get("options", ())
        return ", ".join("".join(escape(o.get("label") or o.get("value")) for o in options
                                 if str(o.get("value")) == str(v))
                         for v in values)
    return escape(value)


def answer_label(q: Mapping[str, Any], value: Any) -> Markup:
    """How an answer reads: "not answered", "N/A", "Yes", an option's label (several,
    comma-separated, for a multiple choice), or the value itself."""
    return Markup(_label(q, value))  # noqa: S704 - escaped in _label


def _section_head(section: Mapping[str, Any], section_scores: Mapping[str, Any] | None
                  ) -> str:
    key = escape(section.get("key"))
    score = section_scores.get(section.get("key")) if section_scores else None
    title = escape(section.get("title") or section.get("key"))
    return ('<fieldset class="card mb-3 qm-section"> <legend class="card-header h6 mb-0 d-flex '
            f'justify-content-between"> <span>{title} <span class="text-muted small">weight '
            f'{_text(section, "weight", 1)}</span></span> <span class="badge text-bg-light" '
            f'data-section-score="{key}">{"" if score is None else escape(score)}</span> '
            '</legend> <div class="card-body"> ')


def section_head(section: Mapping[str, Any], section_scores: Mapping[str, Any] | None
                 ) -> Markup:
    """A section's opening: its title and weight, and its score where one is given."""
    return Markup(_section_head(section, section_scores))  # noqa: S704 - escaped there


def _question_head(q: Mapping[str, Any], errors: Mapping[str, Any] | None) -> str:
    key = q.get("key")
    error = " border-start border-danger ps-2" if errors and errors.get(key) else ""
    parts = [f'<div class="mb-3 qm-question{error}" id="wrap-{escape(key)}" ']
    condition = q.get("condition")
    if condition:
        values = escape("|".join(str(v) for v in condition["values"]))
        parts.append(f'data-condition-question="{_text(condition, "question")}" '
                     f'data-condition-values="{values}"')
    heading = [_text(q, "text")]
    critical = q.get("critical")
    if critical:
        whole = critical == "form"
        heading.append('<span class="badge text-bg-danger" title="Critical: answered as a '
                       'failure, it zeroes '
                       f'{"the whole evaluation" if whole else "this section"}">critical: a '
                       f'miss zeroes {"the evaluation" if whole else "the section"}</span>')
    kind = q.get("kind")
    points = _text(q, "points", 1)
    if kind == "bonus":
        heading.append(f'<span class="badge text-bg-success">bonus +{points}</span>')
    elif kind == "penalty":
        heading.append(f'<span class="badge text-bg-warning">penalty −{points}</span>')
    if q.get("type") in _SCORED and q.get("kind", "normal") == "normal":
        heading.append(f'<span class="text-muted small">{points} pt</span>')
    parts.append(f'> <div class="fw-semibold">{" ".join(heading)} </div> ')
    if q.get("help"):
        parts.append(f'<div class="form-text mt-0 mb-1">{escape(q["help"])}</div> ')
    return "".join(parts)


def question_head(q: Mapping[str, Any], errors: Mapping[str, Any] | None = None) -> Markup:
    """A question's opening: its wrapper (marked when it has an error; its condition for the
    page's script), its text with its critical, bonus or penalty badge and points, and its
    help. The caller closes the wrapper's ``div``."""
    return Markup(_question_head(q, errors))  # noqa: S704 - escaped there


def answered(definition: Mapping[str, Any], answers: Mapping[str, Any],
             notes: Mapping[str, Any], errors: Mapping[str, Any] | None = None,
             show_notes: bool = True, section_scores: Mapping[str, Any] | None = None,
             note_sources: Mapping[str, Any] | None = None) -> Markup:
    """The questions with the answers given, read-only: a conditional question only where
    its condition holds; each answer's feedback (``notes``) when ``show_notes``, with who
    wrote it (``note_sources``) where that is not the evaluator."""
    parts: list[str] = []
    for section in definition.get("sections", ()):
        parts.append(_section_head(section, section_scores))
        for q in section.get("questions", ()):
            key = q.get("key")
            condition = q.get("condition")
            if condition:
                given = answers.get(condition.get("question"))
                given = ([] if given is None else given if isinstance(given, list | tuple)
                         else [given])
                if not any(str(g) in condition["values"] for g in given):
                    continue
            parts.append(_question_head(q, errors))
            parts.append(f"<div>{_label(q, answers.get(key))}</div> ")
            note = notes.get(key) if show_notes else None
            if note:
                source = note_sources.get(key) if note_sources else None
                by = (f' <span class="text-muted fst-normal">({escape(source)})</span>'
                      if source else "")
                parts.append(f'<div class="small fst-italic" data-note="{escape(key)}">'
                             f"“{escape(note)}”{by}</div> ")
            parts.append("</div> ")
        parts.append("</div> </fieldset> ")
    return Markup("".join(parts))  # noqa: S704 - every value escaped on the way in
