"""Named flags, stored: their versions, what fired where, and evaluators' verdicts.

The pure parts (``rules``, ``classify``, ``evidence``) decide; this module keeps:

* **flags and versions** (``install_starter``, ``revise_rule``, ``train_classifier``,
  ``activate``, ``deactivate``): a rule's parameters or a trained classifier are a new
  ``FlagVersion`` each time, never an edit; only the *active* version of a flag runs, and
  activating one is an explicit, audited step (training never switches a flag by itself);
* **results** (``check``, ``check_period``): what each active version found in a transcript,
  kept only where it fired, per version, so that re-scoring a period with a new version adds
  its results beside the old ones;
* **verdicts** (``record_verdict``): confirmed, rejected (a dismissal, with its reason) or
  missed, each naming the version it judged and keeping the text it was about, which a
  retrain learns from (``verdict_labels``); a confirmed flag that ``opens_complaint`` asks the
  layers above, through ``qm.signals.flag_confirmed``, to open a complaint.

Loading a stored classifier checks its SHA-256 against the one ``train_classifier`` recorded
before anything is unpickled (``classify.loads``). Checking never raises for a flag's sake: a
transcript is worth more than its flags, so a version that cannot run is logged and skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from qm import audit, csvfiles
from qm.auth.permissions import SystemActor, can, require
from qm.db import utcnow
from qm.errors import Conflict, InvalidInput, NotFound
from qm.interactions.models import Interaction
from qm.signals import flag_confirmed, gather
from transcription.flagging import classify, rules
from transcription.flagging.evidence import Evidence, ordinal
from transcription.flagging.rules import Contact, Finding, TranscriptView
from transcription.models import (
    Flag,
    FlagKind,
    FlagResult,
    FlagVerdict,
    FlagVerdictKind,
    FlagVersion,
    Transcript,
)
from transcription.timeline import CUSTOMER

log = logging.getLogger(__name__)
ACTOR = SystemActor("flagging")
TARGET_PRECISION = 0.8
"""A classifier fires where, cross-validated, at least 80% of what it flagged was right: an
evaluator's queue is short, and a flag that is wrong half the time is soon ignored."""
MIN_THRESHOLD = 0.5
"""Nor does a classifier fire under 0.5, where its (balanced) model finds the flag less likely
than not: cross-validated on a labelled set, a lower cut can look precise, but texts unlike
the set's (another site's words) land between 0.2 and 0.5 and would flood the queue."""
MAX_REPEAT_DAYS = 90


# --- what ships --------------------------------------------------------------------------------

CLASSIFIERS: dict[str, dict[str, Any]] = {
    "complaint": {
        "description": "The customer says they are unhappy with the service, a charge or how "
                       "they were treated. Confirming it opens a complaint in the register.",
        "opens_complaint": True, "labels": "complaint.csv"},
    "escalation request": {
        "description": "The customer asks for a manager, a supervisor or someone senior, or "
                       "to take the matter further.",
        "opens_complaint": False, "labels": "escalation.csv"},
    "cancellation or churn intent": {
        "description": "The customer says they want to cancel, close their account or leave "
                       "for another provider.",
        "opens_complaint": False, "labels": "churn.csv"},
}
"""The text classifiers every site starts with (untrained: ``qm flagging train``, or the demo,
trains them on the labelled sets shipped in ``transcription/data/flags``)."""

PROBLEM = "found a problem"
PROBLEM_DESCRIPTION = ("Learnt from evaluation scores: the interactions an evaluation would most "
                       "likely find a problem in (a failed critical question or a low score). "
                       "Trained with `qm flagging train` (no --flag).")


def shipped_labels(name: str) -> tuple[list[str], list[int]]:
    """The labelled texts shipped for one of ``CLASSIFIERS`` (made up, see
    ``tests/data/flags/README.md``): what the demo trains on, and a start for a site."""
    from importlib import resources

    spec = CLASSIFIERS.get(name)
    if spec is None:
        raise NotFound("Shipped labelled set", name)
    with (resources.files("transcription") / "data" / "flags" / spec["labels"]).open(
            "rb") as handle:
        return read_labels(handle)


def describe_rule(rule: Any) -> str:
    """What a rule looks for, in words, from its parameters."""
    data = rule.to_dict()
    kind = data["kind"]
    who = data.get("speakers")
    whose = ("the customer" if who == ["customer"] or who == ("customer",)
             else "the agent" if who in (["agent"], ("agent",)) else "anyone")
    if kind == "phrase":
        shown = ", ".join(f"'{p}'" for p in data["phrases"][:4])
        more = len(data["phrases"]) - 4
        return f"Fires when {whose} says {shown}{f' or {more} more' if more > 0 else ''}."
    if kind == "missing_phrase":
        return (f"Fires when {whose} never says a required phrase, such as "
                f"'{data['phrases'][0]}'.")
    if kind in ("silence", "hold"):
        return f"Fires on a silence of {data['min_s']:g} s or more."
    if kind == "overtalk":
        return (f"Fires when both talk at once for {data['min_total_s']:g} s in all, or "
                f"{data['min_longest_s']:g} s in one stretch.")
    if kind == "talk_share":
        return (f"Fires when {'the customer' if data['party'] == CUSTOMER else 'the agent'} "
                f"takes {data['min_share']:.0%} or more of the talk.")
    if kind == "repeat_contact":
        return (f"Fires on a customer's {ordinal(data['min_contacts'])} contact or more "
                f"within {data['days']} days.")
    return f"A {kind} rule."


def install_starter(session: Session, actor: Any = ACTOR, *, activate_rules: bool = True
                    ) -> list[Flag]:
    """Create the flags a site starts with, those not there yet: the rules of
    ``rules.STARTER_RULES`` (version 1 each, active unless ``activate_rules`` is False), the
    text classifiers of ``CLASSIFIERS`` (no version until trained) and "found a problem" (the
    model learnt from evaluation scores). Idempotent; audited."""
    require(actor, "flag.manage")
    have = set(session.scalars(select(Flag.name)))
    made = []
    for name, rule in rules.STARTER_RULES.items():
        if name in have:
            continue
        flag = Flag(name=name, kind=FlagKind.RULE.value, description=describe_rule(rule))
        session.add(flag)
        session.flush()
        audit.record(session, actor, "flag.created", flag, after=_flag_snapshot(flag))
        _add_version(session, actor, flag, params=rule.to_dict(), note="as shipped")
        if activate_rules:
            activate(session, actor, flag.name, 1)
        made.append(flag)
    for name, spec in CLASSIFIERS.items():
        if name in have:
            continue
        flag = Flag(name=name, kind=FlagKind.CLASSIFIER.value, description=spec["description"],
                    opens_complaint=spec["opens_complaint"], speakers=[CUSTOMER],
                    target="precision", target_value=TARGET_PRECISION)
        session.add(flag)
        session.flush()
        audit.record(session, actor, "flag.created", flag, after=_flag_snapshot(flag))
        made.append(flag)
    if PROBLEM not in have:
        flag = Flag(name=PROBLEM, kind=FlagKind.EVALUATIONS.value,
                    description=PROBLEM_DESCRIPTION)
        session.add(flag)
        session.flush()
        audit.record(session, actor, "flag.created", flag, after=_flag_snapshot(flag))
        made.append(flag)
    return made


def _flag_snapshot(flag: Flag) -> dict[str, Any]:
    return {"name": flag.name, "kind": flag.kind, "description": flag.description,
            "opens_complaint": flag.opens_complaint, "target": flag.target,
            "target_value": flag.target_value, "active_number": flag.active_number}


def _version_snapshot(version: FlagVersion) -> dict[str, Any]:
    report = {k: v for k, v in (version.report or {}).items() if k != "probabilities"}
    return {"flag": version.flag.name if version.flag else version.flag_id,
            "number": version.number, "params": version.params,
            "threshold": version.threshold, "sha256": version.sha256,
            "model_version": version.model_version, "report": report, "note": version.note}


# --- finding flags and versions ----------------------------------------------------------------

def get_flag(session: Session, name_or_id: str | int) -> Flag:
    """A flag by its name (any case) or id; ``NotFound`` naming the flags there are."""
    if isinstance(name_or_id, int):
        flag = session.get(Flag, name_or_id)
    else:
        flag = session.scalar(select(Flag).where(
            func.lower(Flag.name) == str(name_or_id).strip().lower()))
    if flag is None:
        names = ", ".join(f"'{n}'" for n in session.scalars(select(Flag.name).order_by(Flag.name)))
        raise NotFound("Flag", f"{name_or_id!r} (the flags are {names or 'none yet'})")
    return flag


def get_version(session: Session, flag: Flag, number: int) -> FlagVersion:
    version = session.scalar(select(FlagVersion).where(FlagVersion.flag_id == flag.id,
                                                       FlagVersion.number == number))
    if version is None:
        raise NotFound("Flag version", f"{flag.name} v{number}")
    return version


def active_version(session: Session, flag: Flag) -> FlagVersion | None:
    if flag.active_number is None:
        return None
    return get_version(session, flag, flag.active_number)


def latest_version(session: Session, flag: Flag) -> FlagVersion | None:
    return session.scalar(select(FlagVersion).where(FlagVersion.flag_id == flag.id)
                          .order_by(FlagVersion.number.desc()).limit(1))


def active_versions(session: Session) -> list[FlagVersion]:
    """Every flag's version in use, rules first, then by name."""
    return list(session.scalars(
        select(FlagVersion).join(Flag, Flag.id == FlagVersion.flag_id)
        .where(Flag.active_number == FlagVersion.number)
        .order_by(Flag.kind.desc(), Flag.name)))


def _add_version(session: Session, actor: Any, flag: Flag, **values: Any) -> FlagVersion:
    number = (session.scalar(select(func.max(FlagVersion.number))
                             .where(FlagVersion.flag_id == flag.id)) or 0) + 1
    version = FlagVersion(flag=flag, number=number,
                          created_by_id=getattr(actor, "id", None), **values)
    session.add(version)
    session.flush()
    audit.record(session, actor, "flag.version_added", version,
                 after=_version_snapshot(version))
    return version


# --- changing a flag ---------------------------------------------------------------------------

def revise_rule(session: Session, actor: Any, name: str | int, params: Mapping[str, Any], *,
                activate_it: bool = True, note: str = "",
                expected_number: int | None = None) -> FlagVersion:
    """A new version of a rule flag with these parameters (``rules.rule_from_dict``'s: a
    wrong one is ``InvalidInput`` saying which, nothing written), active at once unless
    ``activate_it`` is False. Parameters the same as the newest version's add nothing: that
    version is returned. ``expected_number``: the newest version the editor saw; if another
    was added since, ``Conflict`` (their edit is not lost under this one)."""
    require(actor, "flag.manage")
    flag = get_flag(session, name)
    if flag.kind != FlagKind.RULE.value:
        raise InvalidInput(f"'{flag.name}' is a {flag.kind} flag; only a rule flag has "
                           "parameters to edit.")
    try:
        rule = rules.rule_from_dict(dict(params))
    except rules.RuleError as exc:
        raise InvalidInput(str(exc)) from None
    latest = latest_version(session, flag)
    if expected_number is not None and latest is not None and latest.number != expected_number:
        raise Conflict(f"Someone saved version {latest.number} of '{flag.name}' since you "
                       f"opened version {expected_number}; your changes were not saved over "
                       "theirs. Look at theirs and edit again.")
    if latest is not None and latest.params == rule.to_dict():
        version = latest
    else:
        version = _add_version(session, actor, flag, params=rule.to_dict(),
                               note=note.strip()[:500])
        with audit.change(session, actor, "flag.updated", flag, _flag_snapshot):
            flag.description = describe_rule(rule)
    if activate_it and flag.active_number != version.number:
        activate(session, actor, flag.name, version.number)
    return version


def set_target(session: Session, actor: Any, name: str | int, *,
               precision: float | None = None, recall: float | None = None) -> Flag:
    """Where a classifier's next training puts its threshold: for at least this precision, or
    this recall (one of the two; a share in (0, 1]). Audited; the versions already trained keep
    theirs."""
    require(actor, "flag.manage")
    flag = get_flag(session, name)
    if flag.kind != FlagKind.CLASSIFIER.value:
        raise InvalidInput(f"'{flag.name}' is a {flag.kind} flag; only a classifier has a "
                           "target precision or recall.")
    if (precision is None) == (recall is None):
        raise InvalidInput("Give a target precision or a target recall: a threshold trades one "
                           "for the other.")
    value = precision if precision is not None else recall
    if not (isinstance(value, int | float) and 0 < value <= 1):
        raise InvalidInput(f"A target is a share between 0 and 1 (0.8 is 80%), not {value!r}.")
    with audit.change(session, actor, "flag.updated", flag, _flag_snapshot):
        flag.target = "precision" if precision is not None else "recall"
        flag.target_value = float(value)
    return flag


def activate(session: Session, actor: Any, name: str | int, number: int) -> FlagVersion:
    """Put this version of the flag in use (the one ``check`` runs from now on). Results and
    verdicts of the version it replaces stay, under that version. Audited."""
    require(actor, "flag.manage")
    flag = get_flag(session, name)
    version = get_version(session, flag, number)
    if flag.kind == FlagKind.CLASSIFIER.value and not version.sha256:
        raise InvalidInput(f"Version {number} of '{flag.name}' has no trained model.")
    with audit.change(session, actor, "flag.activated", flag, _flag_snapshot):
        flag.active_number = version.number
        version.activated_at = utcnow()
    return version


def deactivate(session: Session, actor: Any, name: str | int) -> Flag:
    """Stop the flag: nothing new is flagged by it; what it found stays. Audited."""
    require(actor, "flag.manage")
    flag = get_flag(session, name)
    with audit.change(session, actor, "flag.deactivated", flag, _flag_snapshot):
        flag.active_number = None
    return flag


# --- labelled texts ----------------------------------------------------------------------------

def read_labels(stream: BinaryIO) -> tuple[list[str], list[int]]:
    """The rows of a labelled CSV (columns ``text,label``; label 1 or 0). A file with any
    row it cannot read is refused whole, every bad row named by its line: a model trained on
    part of a file, silently, would be measured on something else than asked."""
    rows = csvfiles.reader(stream)
    mapping, _warnings = csvfiles.header(rows, ("text", "label"), ())
    texts: list[str] = []
    labels: list[int] = []
    errors: list[str] = []
    for row in csvfiles.numbered(rows, mapping):
        if isinstance(row, csvfiles.Unreadable):
            errors.append(f"line {row.line}: {row.reason}")
            break
        text = (row.values.get("text") or "").strip()
        label = (row.values.get("label") or "").strip()
        if row.extra_cells:
            errors.append(f"line {row.line}: more cells than the header has columns (quote a "
                          "text with commas)")
        elif not text:
            errors.append(f"line {row.line}: the text is empty")
        elif label not in ("0", "1"):
            errors.append(f"line {row.line}: the label must be 1 (the flag applies) or 0 (it "
                          f"does not), not {label[:20]!r}")
        else:
            texts.append(text)
            labels.append(int(label))
    if errors:
        shown = "; ".join(errors[:10])
        more = f"; and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise InvalidInput(f"The labelled file has {len(errors)} row(s) that cannot be used, "
                           f"so nothing was learnt from it: {shown}{more}.")
    if not texts:
        raise InvalidInput("The labelled file has no rows.")
    return texts, labels


def verdict_labels(session: Session, flag: Flag) -> tuple[list[str], list[int]]:
    """What evaluators' verdicts on this flag teach: a confirmed or missed flag's text is a
    1, a rejected one's a 0; oldest first."""
    texts, labels = [], []
    for verdict, text in session.execute(
            select(FlagVerdict.verdict, FlagVerdict.text)
            .where(FlagVerdict.flag_id == flag.id, FlagVerdict.text != "")
            .order_by(FlagVerdict.id)):
        texts.append(text)
        labels.append(0 if verdict == FlagVerdictKind.REJECTED.value else 1)
    return texts, labels


def _targets(flag: Flag) -> dict[str, float | None]:
    value = flag.target_value if flag.target_value is not None else TARGET_PRECISION
    if flag.target == "recall":
        return {"target_precision": None, "target_recall": value}
    return {"target_precision": value, "target_recall": None}


def train_classifier(session: Session, actor: Any, name: str | int, *,
                     texts: Sequence[str] = (), labels: Sequence[int] = (),
                     use_verdicts: bool = True, folds: int = 5,
                     kind: str = classify.DEFAULT_KIND, source: str = "",
                     activate_it: bool = False) -> FlagVersion:
    """Fit a version of a classifier flag on labelled texts and, unless ``use_verdicts`` is
    False, on evaluators' verdicts; its threshold chosen on out-of-fold probabilities for the
    flag's target precision (or recall). Stored with the SHA-256 of its bytes; *not* put in use
    unless ``activate_it``: whoever trains reads the measures first. The same texts, labels
    and settings give the same model: then the version already stored is returned."""
    require(actor, "flag.manage")
    flag = get_flag(session, name)
    if flag.kind != FlagKind.CLASSIFIER.value:
        raise InvalidInput(f"'{flag.name}' is a {flag.kind} flag, not a text classifier; "
                           "nothing to train.")
    from_file = len(texts)
    all_texts, all_labels = list(texts), [int(x) for x in labels]
    from_verdicts = 0
    if use_verdicts:
        more_texts, more_labels = verdict_labels(session, flag)
        from_verdicts = len(more_texts)
        all_texts += more_texts
        all_labels += more_labels
    if not all_texts:
        raise InvalidInput(f"Nothing to learn '{flag.name}' from: give a labelled file "
                           "(--labels FILE.csv, columns text,label) or confirm and reject the "
                           "flag on interactions first.")
    try:
        trained = classify.fit(all_texts, all_labels, kind=kind, folds=folds,
                               min_threshold=MIN_THRESHOLD, **_targets(flag))
    except classify.ClassifierError as exc:
        raise InvalidInput(str(exc)) from None
    existing = session.scalar(select(FlagVersion).where(
        FlagVersion.flag_id == flag.id, FlagVersion.model_version == trained.version))
    if existing is not None:
        version = existing
    else:
        payload, digest = classify.dumps(trained)
        report = dict(trained.report)
        report.update(from_file=from_file, from_verdicts=from_verdicts,
                      sklearn=trained.sklearn)
        version = _add_version(
            session, actor, flag,
            params={"kind": kind, "unit": "turn", "speakers": list(flag.speakers or [])},
            threshold=trained.threshold, payload=payload, sha256=digest,
            model_version=trained.version, report=report,
            note=(f"trained on {from_file} labelled text(s)"
                  f"{f' from {source}' if source else ''} and {from_verdicts} verdict(s)"))
    if activate_it and flag.active_number != version.number:
        activate(session, actor, flag.name, version.number)
    return version


# --- measuring ---------------------------------------------------------------------------------

_CACHE: dict[tuple[int, str], classify.TrainedFlag] = {}
_LOCK = threading.Lock()


def trained_of(version: FlagVersion) -> classify.TrainedFlag:
    """A classifier version's model, loaded once per process only if its bytes still have the
    SHA-256 recorded when it was trained (``classify.loads``)."""
    key = (version.id, version.sha256 or "")
    with _LOCK:
        trained = _CACHE.get(key)
        if trained is None:
            if not version.payload or not version.sha256:
                raise classify.ClassifierError(
                    f"Version {version.number} of '{version.flag.name}' has no trained model.")
            trained = _CACHE[key] = classify.loads(version.payload, version.sha256)
    return trained


def evaluate(session: Session, name: str | int, texts: Sequence[str], labels: Sequence[int],
             *, folds: int | None = None, kind: str | None = None) -> dict[str, Any]:
    """How the flag measures on labelled texts, as one JSON object: ``precision``,
    ``recall``, ``f1`` (of the positive class), ``support`` (positive texts) and ``roc_auc``.

    With ``folds``: cross-validated, with the pipeline ``train_classifier`` fits and its
    threshold chosen the same way (for the flag's target), each text scored by a model that
    never saw it. Without: the active version on these texts as they are (a rule flag reads
    each text as something the customer said)."""
    flag = get_flag(session, name)
    ys = [int(x) for x in labels]
    try:
        if folds is not None:
            if flag.kind != FlagKind.CLASSIFIER.value:
                raise InvalidInput(f"'{flag.name}' is a {flag.kind} flag: it is not trained, "
                                   "so there is nothing to cross-validate; leave out --folds "
                                   "to measure it on the file as it is.")
            latest = latest_version(session, flag)
            use = kind or (latest.params.get("kind") if latest else None) or classify.DEFAULT_KIND
            measured = classify.cross_validate(texts, ys, folds, kind=use)
            probabilities = measured.pop("probabilities")
            choice = classify.choose_threshold(ys, probabilities, **_targets(flag))
            threshold = max(choice.value, MIN_THRESHOLD)  # as train_classifier does
            at = classify.measures(ys, probabilities, threshold)
            measured.update(precision=at["precision"], recall=at["recall"], f1=at["f1"],
                            threshold=threshold, target_met=choice.met,
                            target=choice.target)
            result = measured
        else:
            version = active_version(session, flag)
            if version is None:
                raise InvalidInput(f"'{flag.name}' has no active version to measure; train "
                                   "and activate one, or give --folds to cross-validate.")
            scores, threshold = _scores_on_texts(version, texts)
            from sklearn.metrics import roc_auc_score

            result = dict(classify.measures(ys, scores, threshold))
            result.pop("flagged", None)
            both = 0 < sum(ys) < len(ys)
            result.update(support=sum(ys), examples=len(ys), threshold=threshold,
                          version=version.number,
                          roc_auc=round(float(roc_auc_score(ys, scores)), 4) if both else None)
    except classify.ClassifierError as exc:
        raise InvalidInput(str(exc)) from None
    result["flag"] = flag.name
    return {k: result[k] for k in ("flag", "precision", "recall", "f1", "support", "roc_auc",
                                   *sorted(set(result) - {"flag", "precision", "recall", "f1",
                                                          "support", "roc_auc"}))}


def _scores_on_texts(version: FlagVersion, texts: Sequence[str]) -> tuple[list[float], float]:
    if version.sha256:  # a trained classifier
        trained = trained_of(version)
        return trained.probabilities(list(texts)), trained.threshold
    rule = rules.rule_from_dict(version.params)
    views = [TranscriptView.from_stored(text, [{"speaker": CUSTOMER, "text": text}], {},
                                        "text") for text in texts]
    return [rule.check(view).score if rule.check(view).fired else 0.0 for view in views], 0.5


# --- checking transcripts ----------------------------------------------------------------------

def view_of(transcript: Transcript, earlier: Iterable[Contact] = ()) -> TranscriptView:
    interaction = transcript.interaction
    return TranscriptView.from_stored(
        transcript.text, transcript.segments, transcript.metrics, transcript.source,
        duration_s=transcript.duration_s if transcript.source != "text" else None,
        at=interaction.started_at if interaction is not None else None, earlier=earlier)


def _earlier_contacts(session: Session, transcripts: Sequence[Transcript],
                      days: int) -> dict[int, list[Contact]]:
    """Each interaction's customer's other contacts in the ``days`` before it, in one query."""
    wanted = [t.interaction for t in transcripts
              if t.interaction is not None and t.interaction.customer_ref]
    if not wanted:
        return {}
    refs = sorted({i.customer_ref for i in wanted})
    first = min(i.started_at for i in wanted) - dt.timedelta(days=days)
    last = max(i.started_at for i in wanted)
    by_ref: dict[str, list[tuple[dt.datetime, int]]] = {}
    for start in range(0, len(refs), 500):
        for ref, at, iid in session.execute(
                select(Interaction.customer_ref, Interaction.started_at, Interaction.id)
                .where(Interaction.customer_ref.in_(refs[start:start + 500]),
                       Interaction.started_at >= first, Interaction.started_at <= last)):
            by_ref.setdefault(ref, []).append((at, iid))
    found: dict[int, list[Contact]] = {}
    for interaction in wanted:
        since = interaction.started_at - dt.timedelta(days=days)
        found[interaction.id] = [
            Contact(at, iid) for at, iid in by_ref.get(interaction.customer_ref, [])
            if iid != interaction.id and since <= at <= interaction.started_at]
    return found


def findings_of(session: Session, versions: Sequence[FlagVersion],
                transcripts: Sequence[Transcript]) -> dict[int, list[Finding]]:
    """Each version's finding on each transcript (by version id, in the transcripts' order):
    rules one transcript at a time, classifiers in one batch. A version that cannot run is
    logged and left out."""
    days = max([v.params.get("days", 0) for v in versions
                if v.params.get("kind") == "repeat_contact"] or [0])
    earlier = _earlier_contacts(session, transcripts, min(days, MAX_REPEAT_DAYS)) if days else {}
    views = [view_of(t, earlier.get(t.interaction_id, ())) for t in transcripts]
    found: dict[int, list[Finding]] = {}
    for version in versions:
        try:
            if version.sha256:  # a trained classifier
                speakers = version.params.get("speakers") or None
                found[version.id] = classify.check_many(
                    trained_of(version), views, tuple(speakers) if speakers else None,
                    unit=version.params.get("unit", "turn"))
            else:
                rule = rules.rule_from_dict(version.params)
                found[version.id] = [rule.check(view) for view in views]
        except Exception:  # a flag that cannot run must not lose a transcript
            log.exception("flag %s v%s could not check %d transcript(s)",
                          version.flag.name, version.number, len(transcripts))
    return found


def check(session: Session, transcripts: Sequence[Transcript],
          versions: Sequence[FlagVersion] | None = None) -> int:
    """Run the active versions (or ``versions``) on these transcripts and keep what fired;
    a result of the same version that no longer fires (the transcript was corrected) is
    removed. Returns how many results fired. Flushes, never commits."""
    transcripts = [t for t in transcripts if t is not None]
    if not transcripts:
        return 0
    versions = active_versions(session) if versions is None else list(versions)
    if not versions:
        return 0
    found = findings_of(session, versions, transcripts)
    ids = [t.interaction_id for t in transcripts]
    existing = {(r.interaction_id, r.version_id): r for r in session.scalars(
        select(FlagResult).where(FlagResult.interaction_id.in_(ids),
                                 FlagResult.version_id.in_(list(found))))}
    fired = 0
    for version_id, findings in found.items():
        for transcript, finding in zip(transcripts, findings, strict=True):
            key = (transcript.interaction_id, version_id)
            result = existing.get(key)
            if not finding.fired:
                if result is not None:
                    session.delete(result)
                continue
            fired += 1
            if result is None:
                result = FlagResult(interaction_id=transcript.interaction_id,
                                    version_id=version_id)
                session.add(result)
            result.score = round(finding.score, 4)
            result.evidence = [e.as_dict() for e in finding.evidence]
    session.flush()
    return fired


def check_stored(session: Session, transcript: Transcript) -> int:
    """``check`` one transcript just stored (the pipeline and texts call it); never raises:
    a flag that cannot run is logged and the transcript is kept."""
    try:
        with session.begin_nested():
            return check(session, [transcript])
    except Exception:
        log.exception("named flags could not check interaction %s", transcript.interaction_id)
        return 0


def check_period(session: Session, *, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, versions: Sequence[FlagVersion] | None = None,
                 batch: int = 200, on_chunk: Callable[[int, int], None] | None = None
                 ) -> tuple[int, int]:
    """``check`` every transcript of interactions that started in [since, until), oldest
    first, ``batch`` at a time; ``on_chunk(checked, fired)`` after each (the CLI commits
    there, so an interrupted run is finished by running it again). (checked, fired)."""
    stmt = select(Transcript.id).join(Interaction, Interaction.id == Transcript.interaction_id)
    if since is not None:
        stmt = stmt.where(Interaction.started_at >= since)
    if until is not None:
        stmt = stmt.where(Interaction.started_at < until)
    version_ids = None if versions is None else [v.id for v in versions]
    checked = fired = 0
    last = 0
    while True:
        ids = session.scalars(stmt.where(Transcript.id > last).order_by(Transcript.id)
                              .limit(batch)).all()
        if not ids:
            break
        chunk = session.scalars(select(Transcript).where(Transcript.id.in_(ids))
                                .options(selectinload(Transcript.interaction))
                                .order_by(Transcript.id)).all()
        use = None if version_ids is None else [session.get(FlagVersion, i) for i in version_ids]
        fired += check(session, chunk, use)
        checked += len(chunk)
        last = ids[-1]
        if on_chunk is not None:
            on_chunk(checked, fired)
    return checked, fired


# --- verdicts ----------------------------------------------------------------------------------

def results_of(session: Session, interaction_id: int, *, active_only: bool = True
               ) -> list[tuple[Flag, FlagVersion, FlagResult]]:
    """What fired on an interaction, strongest first: the active versions' results, or every
    version's."""
    stmt = (select(Flag, FlagVersion, FlagResult)
            .join(FlagVersion, FlagVersion.id == FlagResult.version_id)
            .join(Flag, Flag.id == FlagVersion.flag_id)
            .where(FlagResult.interaction_id == interaction_id))
    if active_only:
        stmt = stmt.where(Flag.active_number == FlagVersion.number)
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        stmt.order_by(FlagResult.score.desc(), Flag.name))]


def _judged_text(session: Session, flag: Flag, interaction: Interaction,
                 result: FlagResult | None) -> str:
    """The text a verdict teaches a classifier: the turn whose words fired it, or, for a
    missed flag, all the customer said. Rules learn nothing from text: empty."""
    if flag.kind != FlagKind.CLASSIFIER.value:
        return ""
    transcript = session.scalar(select(Transcript).where(
        Transcript.interaction_id == interaction.id))
    if transcript is None:
        return ""
    view = view_of(transcript)
    speakers = tuple(flag.speakers or ()) or None
    if result is not None and result.evidence:
        segment = result.evidence[0].get("segment")
        for turn in view.turns(speakers):
            if any(part.index == segment for part in turn):
                return " ".join(p.text.strip() for p in turn if p.text.strip())
    return view.said_by(*(speakers or ()))


def record_verdict(session: Session, actor: Any, interaction_id: int, name: str | int,
                   verdict: str, reason: str = "") -> tuple[FlagVerdict, list[Any]]:
    """An evaluator's word on a flag for one interaction: ``confirmed`` or ``rejected``
    (a dismissal: the reason is required) for a flag that fired, ``missed`` for one that did
    not and should have. It names the version judged and keeps the text judged, for a
    retrain. A second verdict replaces the first (audited with both). A confirmed flag that
    ``opens_complaint`` asks the layers above to open one (``flag_confirmed``); what they
    opened is returned beside the verdict."""
    interaction = session.get(Interaction, interaction_id) if isinstance(
        interaction_id, int) else None
    if interaction is None or not can(actor, "interaction.view", interaction):
        raise NotFound("Interaction", interaction_id)  # out of scope reads as absent
    require(actor, "flag.review", interaction)
    flag = get_flag(session, name)
    try:
        kind = FlagVerdictKind(verdict)
    except ValueError:
        raise InvalidInput(f"A verdict is confirmed, rejected or missed, not {verdict!r}."
                           ) from None
    reason = (reason or "").strip()
    if kind is FlagVerdictKind.REJECTED and not reason:
        raise InvalidInput("Say why the flag is wrong here: the reason is kept with the "
                           "dismissal and helps whoever tunes the flag.")
    fired = [r for f, _v, r in results_of(session, interaction.id, active_only=False)
             if f.id == flag.id]
    active = active_version(session, flag)
    current = next((r for r in fired if active is not None and r.version_id == active.id),
                   fired[0] if fired else None)
    if flag.kind == FlagKind.EVALUATIONS.value:
        current = None  # its verdicts live with the evaluations; nothing of ours fired
    elif kind is FlagVerdictKind.MISSED and current is not None:
        raise InvalidInput(f"'{flag.name}' did fire on this interaction: confirm or reject it "
                           "instead of adding it as missed.")
    elif kind is not FlagVerdictKind.MISSED and current is None:
        raise InvalidInput(f"'{flag.name}' did not fire on this interaction; if it should "
                           "have, add it as missed.")
    version_id = current.version_id if current is not None else (
        active.id if active is not None else None)
    existing = session.scalar(select(FlagVerdict).where(
        FlagVerdict.interaction_id == interaction.id, FlagVerdict.flag_id == flag.id))
    before = _verdict_snapshot(existing) if existing is not None else None
    if existing is None:
        existing = FlagVerdict(interaction_id=interaction.id, flag_id=flag.id)
        session.add(existing)
    existing.verdict = kind.value
    existing.reason = reason[:2000]
    existing.version_id = version_id
    existing.actor_id = getattr(actor, "id", None)
    existing.text = _judged_text(session, flag, interaction, current)
    existing.created_at = utcnow()
    session.flush()
    audit.record(session, actor, "flag.verdict", existing, before=before,
                 after=_verdict_snapshot(existing))
    opened: list[Any] = []
    if kind is FlagVerdictKind.CONFIRMED and flag.opens_complaint:
        opened = gather(flag_confirmed, session=session, actor=actor,
                        interaction_id=interaction.id, flag_name=flag.name)
    return existing, opened


def _verdict_snapshot(verdict: FlagVerdict) -> dict[str, Any]:
    return {"interaction_id": verdict.interaction_id, "flag_id": verdict.flag_id,
            "version_id": verdict.version_id, "verdict": verdict.verdict,
            "reason": verdict.reason}


def evidence_of(result: FlagResult) -> list[Evidence]:
    return [Evidence.from_dict(e) for e in result.evidence or ()]


__all__ = [
    "ACTOR", "CLASSIFIERS", "PROBLEM", "TARGET_PRECISION", "activate", "active_version",
    "active_versions", "check", "check_period", "check_stored", "deactivate", "describe_rule",
    "evaluate", "evidence_of", "findings_of", "get_flag", "get_version", "install_starter",
    "latest_version", "read_labels", "record_verdict", "results_of", "revise_rule",
    "set_target", "shipped_labels", "train_classifier", "trained_of", "verdict_labels", "view_of",
]
