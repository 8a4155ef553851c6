"""The read side of named flags: each flag with how it measures, in words and figures, and
what fired on one interaction (with the words to highlight)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, false, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from qm.interactions.models import Interaction
from transcription.flagging import services as flag_services
from transcription.flagging import verdicts as model_verdicts
from transcription.models import (
    Flag,
    FlagKind,
    FlagResult,
    FlagVerdict,
    FlagVerdictKind,
    FlagVersion,
    ReviewFlag,
)


def flagged_rows(*, flag_id: int | None = None, leave_out: str = "rejected") -> Any:
    """What flags in use found, one row per interaction and flag: ``interaction_id``,
    ``flag_id`` and ``score`` (a classifier's probability, a rule's strength, the "found a
    problem" model's probability; its ``flag_id`` is NULL until that flag is installed). The
    named flags' active versions and the model in use (``verdicts.in_use``), less where an
    evaluator rejected the flag (``leave_out="rejected"``: what still counts as flagged),
    gave it any verdict (``"judged"``: what still waits for a verdict), or nothing
    (``"nothing"``: everything it fired on, what the flag report measures precision on). What
    the review queue, targeted sampling, the interactions list's "Flagged for review" and the
    flag report read, defined once."""
    if leave_out not in ("rejected", "judged", "nothing"):
        raise ValueError(f"leave_out is 'rejected', 'judged' or 'nothing', not {leave_out!r}")

    def judged(flag: Any, interaction: Any) -> Any:
        if leave_out == "nothing":
            return false()
        found = select(FlagVerdict.id).where(FlagVerdict.flag_id == flag,
                                             FlagVerdict.interaction_id == interaction)
        if leave_out == "rejected":
            found = found.where(FlagVerdict.verdict == FlagVerdictKind.REJECTED.value)
        return found.exists()

    named = (select(FlagResult.interaction_id.label("interaction_id"),
                    Flag.id.label("flag_id"), FlagResult.score.label("score"))
             .join(FlagVersion, FlagVersion.id == FlagResult.version_id)
             .join(Flag, and_(Flag.id == FlagVersion.flag_id,
                              Flag.active_number == FlagVersion.number))
             .where(~judged(Flag.id, FlagResult.interaction_id)))
    problem = select(Flag.id).where(Flag.name == flag_services.PROBLEM).scalar_subquery()
    model = (select(ReviewFlag.interaction_id.label("interaction_id"),
                    problem.label("flag_id"), ReviewFlag.probability.label("score"))
             .where(ReviewFlag.flagged,
                    ReviewFlag.model_version == model_verdicts.in_use().scalar_subquery(),
                    ~judged(problem, ReviewFlag.interaction_id)))
    if flag_id is not None:
        named = named.where(Flag.id == flag_id)
        model = model.where(problem == literal(flag_id))
    return union_all(named, model)


def measured_words(version: FlagVersion | None) -> str:
    """What training measured of a classifier version, in one line; empty for a rule."""
    report = (version.report or {}) if version is not None else {}
    if not report.get("folds"):
        return ""
    choice = report.get("choice") or {}
    met = "" if choice.get("met", True) else f" (target {choice.get('target')} not reached)"
    return (f"cross-validated on {report['examples']} labelled texts ({report['support']} "
            f"positive, {report['folds']} folds): precision {report['precision']:.0%}, recall "
            f"{report['recall']:.0%}, F1 {report['f1']:.2f}, ROC AUC {report['roc_auc']:.2f}; "
            f"fires from a probability of {version.threshold:.2f}{met}")  # type: ignore[union-attr]


def judged_words(confirmed: int, rejected: int) -> str:
    """How often evaluators found the flag right, in words."""
    judged = confirmed + rejected
    if not judged:
        return "not judged by an evaluator yet"
    return f"evaluators confirmed {confirmed} of {judged} judged ({confirmed / judged:.0%})"


def overview(session: Session) -> list[dict[str, Any]]:
    """Every flag, rules first: its version in use, how many versions, how many interactions
    its version in use fired on and how many of those still have no verdict, what training
    measured and what evaluators' verdicts say. A fixed number of queries."""
    flags = session.scalars(select(Flag).order_by(Flag.kind.desc(), Flag.name)).all()
    active = {v.flag_id: v for v in session.scalars(
        select(FlagVersion).join(Flag, and_(Flag.id == FlagVersion.flag_id,
                                            Flag.active_number == FlagVersion.number)))}
    versions = dict(session.execute(select(FlagVersion.flag_id, func.count(FlagVersion.id))
                                    .group_by(FlagVersion.flag_id)).all())
    fired = dict(session.execute(
        select(FlagVersion.flag_id, func.count(FlagResult.id))
        .join(FlagVersion, FlagVersion.id == FlagResult.version_id)
        .join(Flag, and_(Flag.id == FlagVersion.flag_id,
                         Flag.active_number == FlagVersion.number))
        .group_by(FlagVersion.flag_id)).all())
    judged = select(FlagVerdict.id).where(FlagVerdict.flag_id == FlagVersion.flag_id,
                                          FlagVerdict.interaction_id == FlagResult.interaction_id)
    open_ = dict(session.execute(
        select(FlagVersion.flag_id, func.count(FlagResult.id))
        .join(FlagVersion, FlagVersion.id == FlagResult.version_id)
        .join(Flag, and_(Flag.id == FlagVersion.flag_id,
                         Flag.active_number == FlagVersion.number))
        .where(~judged.exists()).group_by(FlagVersion.flag_id)).all())
    verdicts: dict[int, dict[str, int]] = {}
    for flag_id, verdict, count in session.execute(
            select(FlagVerdict.flag_id, FlagVerdict.verdict, func.count(FlagVerdict.id))
            .group_by(FlagVerdict.flag_id, FlagVerdict.verdict)):
        verdicts.setdefault(flag_id, {})[verdict] = count
    rows = []
    for flag in flags:
        version = active.get(flag.id)
        said = verdicts.get(flag.id, {})
        rows.append({
            "id": flag.id, "name": flag.name, "kind": flag.kind,
            "description": flag.description, "opens_complaint": flag.opens_complaint,
            "active": flag.active_number, "versions": versions.get(flag.id, 0),
            "fired": fired.get(flag.id, 0), "open": open_.get(flag.id, 0),
            "threshold": version.threshold if version is not None else None,
            "measures": measured_words(version) if flag.kind == FlagKind.CLASSIFIER.value
            else "",
            "confirmed": said.get("confirmed", 0), "rejected": said.get("rejected", 0),
            "missed": said.get("missed", 0),
            "judged": judged_words(said.get("confirmed", 0), said.get("rejected", 0)),
        })
    return rows


def versions_of(session: Session, flag: Flag) -> list[dict[str, Any]]:
    """A flag's versions, newest first, with how many interactions each fired on."""
    counts = dict(session.execute(
        select(FlagResult.version_id, func.count(FlagResult.id))
        .join(FlagVersion, FlagVersion.id == FlagResult.version_id)
        .where(FlagVersion.flag_id == flag.id).group_by(FlagResult.version_id)).all())
    return [{"number": v.number, "active": v.number == flag.active_number,
             "params": v.params, "threshold": v.threshold, "note": v.note,
             "created_at": v.created_at, "activated_at": v.activated_at,
             "measures": measured_words(v), "fired": counts.get(v.id, 0), "sha256": v.sha256}
            for v in sorted(flag.versions, key=lambda v: -v.number)]


@dataclass
class ShownFlag:
    """A flag as the interaction page shows it: fired (with evidence) or judged."""

    flag: Flag
    score: float | None
    evidence: list[dict[str, Any]]
    version: int | None
    verdict: FlagVerdict | None


@functools.cache
def _flags_here() -> Any:
    """Every flag (a dozen) with what its active version found on one interaction
    (``:interaction_id``): the result's id, score and evidence, NULL where nothing fired. A
    result is of the active version, so its number is the flag's ``active_number``. Built
    once: building it costs more than running it."""
    active = aliased(FlagVersion)
    active_version = (select(active.id)
                      .where(active.flag_id == Flag.id, active.number == Flag.active_number)
                      .correlate(Flag).scalar_subquery())
    return (select(Flag, FlagResult.id, FlagResult.score, FlagResult.evidence)
            .select_from(Flag)
            .outerjoin(FlagResult, and_(FlagResult.interaction_id == bindparam("interaction_id"),
                                        FlagResult.version_id == active_version))
            .order_by(Flag.name))


UNREAD: Any = object()
"""``of_interaction``'s ``latest`` when the caller has not read it."""


def of_interaction(session: Session, interaction: Interaction, *, latest: Any = UNREAD
                   ) -> tuple[list[ShownFlag], list[Flag]]:
    """What fired on the interaction (active versions and the evaluation model in use) with
    any verdict, strongest first; and the flags in use that did not fire (for "add a missed
    flag"). ``latest``: the model's latest verdict on it, when the caller has read it already."""
    rows = session.execute(_flags_here(), {"interaction_id": interaction.id}).all()
    flags = [row[0] for row in rows]
    problem = next((f for f in flags if f.name == flag_services.PROBLEM), None)
    if latest is UNREAD:
        latest = model_verdicts.latest_flag(session, interaction)
    model_fired = problem is not None and latest is not None and latest.flagged
    # the verdicts matter only beside what fired: most contacts have none to read
    verdicts = {v.flag_id: v for v in session.scalars(
        select(FlagVerdict).where(FlagVerdict.interaction_id == interaction.id))
    } if any(row[1] is not None for row in rows) or model_fired else {}
    shown = [ShownFlag(flag, score, evidence or [], flag.active_number, verdicts.get(flag.id))
             for flag, result_id, score, evidence in rows if result_id is not None]
    if model_fired:
        shown.append(ShownFlag(problem, latest.probability,
                               [{"kind": "model", "text": r} for r in latest.reasons or []],
                               None, verdicts.get(problem.id)))
    shown.sort(key=lambda s: (-(s.score or 0), s.flag.name))
    fired = {s.flag.id for s in shown}
    missed = [f for f in flags if f.active_number is not None and f.id not in fired]
    return shown, missed


def shows_problem(shown: list[ShownFlag]) -> bool:
    """Whether these flags include the "found a problem" model's (its page box is then not
    shown twice)."""
    return any(item.flag.name == flag_services.PROBLEM for item in shown)


def marks_of(shown: list[ShownFlag]) -> dict[int, set[int]]:
    """The words to highlight in the transcript: segment index -> word indexes."""
    marks: dict[int, set[int]] = {}
    for item in shown:
        for evidence in item.evidence:
            for segment, word in evidence.get("marks") or ():
                marks.setdefault(int(segment), set()).add(int(word))
    return marks
