"""The review queue (riskiest first, filtered by flag; take an item or dismiss it with a
reason), verdicts on an interaction's flags, and the flags' pages: what each looks for, how it
measures, its versions, editing a phrase rule and activating a version."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from qm.auth.access import permission_required
from qm.auth.permissions import can
from qm.errors import Conflict, InvalidInput
from qm.inputs import id_arg
from qm.web import db
from scoring.review import queries
from scoring.review.forms import ButtonForm, PhrasesForm, VerdictForm
from transcription.flagging import queries as flag_queries
from transcription.flagging import services as flags
from transcription.models import FlagKind

bp = Blueprint("review", __name__)


def _back(default: str) -> str:
    """Where a form's ``next`` points, if it is a page of this site; else ``default``."""
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


@bp.get("/review")
@permission_required("flag.review")
def review_queue() -> Any:
    flag_id = id_arg(request.args, "flag")
    page = id_arg(request.args, "page") or 1
    items, total = queries.queue(db.session, current_user, flag_id=flag_id, page=page)
    return render_template("scoring/review/queue.html", items=items, total=total, page=page,
                           per_page=queries.PAGE, flag_id=flag_id,
                           counts=queries.counts(db.session, current_user),
                           form=VerdictForm(), take=ButtonForm(),
                           may_take=can(current_user, "evaluation.score"))


@bp.post("/review/<int:interaction_id>")
@permission_required("flag.review")
def verdict(interaction_id: int) -> Any:
    """Confirm, dismiss or add a missed flag on an interaction."""
    form = VerdictForm()
    if not form.validate_on_submit():
        abort(400)
    flag_id = id_arg(request.form, "flag_id")
    if flag_id is None:
        abort(400)
    back = _back(url_for("interactions.interaction", interaction_id=interaction_id))
    _, opened = flags.record_verdict(db.session, current_user, interaction_id, flag_id,
                                     form.verdict.data or "", form.reason.data or "")
    db.session.commit()
    words = {"confirmed": "Flag confirmed.", "rejected": "Flag dismissed; the reason is kept.",
             "missed": "Missed flag recorded; the flag learns from it at its next training."}
    flash(words.get(form.verdict.data or "", "Saved."), "success")
    for item in opened:
        flash(item["text"], "success" if item.get("complaint_id") else "warning")
    return redirect(back)


@bp.get("/flags")
@permission_required("flag.view")
def flag_list() -> Any:
    return render_template("scoring/review/flags.html",
                           rows=flag_queries.overview(db.session), form=ButtonForm(),
                           may_manage=can(current_user, "flag.manage"))


@bp.post("/flags/install")
@permission_required("flag.manage")
def install() -> Any:
    if not ButtonForm().validate_on_submit():
        abort(400)
    made = flags.install_starter(db.session, current_user)
    db.session.commit()
    flash(f"{len(made)} flag(s) added.", "success")
    return redirect(url_for("review.flag_list"))


PHRASE_KINDS = ("phrase", "missing_phrase")
SETTING_WORDS = {
    "min_s": "Seconds of silence, at least", "min_total_s": "Overtalk in all, seconds",
    "min_longest_s": "Longest overtalk, seconds", "party": "Whose share (customer or agent)",
    "min_share": "Share of the talk, at least (0.7 is 70%)",
    "min_talk_s": "Calls judged from this much talk, seconds",
    "min_words": "Chats judged from this many words", "days": "Within this many days",
    "min_contacts": "Contacts, at least (this one included)"}
"""A rule's numbers as its page names them (the phrases have a form of their own)."""


def _settings(latest: Any, typed: Any = None) -> list[tuple[str, str, Any]]:
    """(name, words, value shown) of a rule version's settings other than phrases."""
    if latest is None or latest.params.get("kind") in PHRASE_KINDS:
        return []
    shown = typed or {}
    return [(key, SETTING_WORDS.get(key, key.replace("_", " ")),
             shown.get(key, "" if value is None else value))
            for key, value in latest.params.items() if key != "kind"]


def _flag_page(flag_id: int, form: PhrasesForm | None = None, status: int = 200, *,
               typed: dict[str, str] | None = None) -> Any:
    flag = flags.get_flag(db.session, flag_id)
    latest = flags.latest_version(db.session, flag)
    if form is None and flag.kind == FlagKind.RULE.value and latest is not None \
            and latest.params.get("kind") in PHRASE_KINDS:
        speakers = latest.params.get("speakers")
        form = PhrasesForm(data={
            "phrases": "\n".join(latest.params.get("phrases", [])),
            "speakers": speakers[0] if speakers and len(speakers) == 1 else "any",
            "expected": str(latest.number)})
    return render_template("scoring/review/flag.html", flag=flag,
                           versions=flag_queries.versions_of(db.session, flag),
                           form=form, button=ButtonForm(),
                           settings=_settings(latest, typed) if flag.kind == FlagKind.RULE.value
                           else [], latest=latest,
                           may_manage=can(current_user, "flag.manage")), status


@bp.get("/flags/<int:flag_id>")
@permission_required("flag.view")
def flag_page(flag_id: int) -> Any:
    return _flag_page(flag_id)


@bp.post("/flags/<int:flag_id>/phrases")
@permission_required("flag.manage")
def edit_phrases(flag_id: int) -> Any:
    """A new version of a phrase rule, in use at once; a stale or wrong edit is shown again
    with what was typed, nothing lost."""
    form = PhrasesForm()
    if not form.validate_on_submit():
        return _flag_page(flag_id, form, 400)
    phrases = [line.strip() for line in (form.phrases.data or "").splitlines() if line.strip()]
    expected = id_arg(request.form, "expected")
    latest = flags.latest_version(db.session, flags.get_flag(db.session, flag_id))
    kind = latest.params.get("kind") if latest is not None else "phrase"
    try:
        version = flags.revise_rule(
            db.session, current_user, flag_id,
            {"kind": kind if kind in PHRASE_KINDS else "phrase", "phrases": phrases,
             "speakers": form.speakers.data},
            note=form.note.data or "", expected_number=expected)
    except (InvalidInput, Conflict) as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return _flag_page(flag_id, form, 409 if isinstance(exc, Conflict) else 400)
    db.session.commit()
    flash(f"Version {version.number} is in use.", "success")
    return redirect(url_for("review.flag_page", flag_id=flag_id))


@bp.post("/flags/<int:flag_id>/settings")
@permission_required("flag.manage")
def edit_settings(flag_id: int) -> Any:
    """A new version of a rule with other numbers (a silence's seconds, a share ...), in use
    at once; a wrong or stale edit comes back with what was typed."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    flag = flags.get_flag(db.session, flag_id)
    latest = flags.latest_version(db.session, flag)
    if latest is None or flag.kind != FlagKind.RULE.value:
        abort(400)
    typed = {key: (request.form.get(key) or "").strip()[:50] for key, _w, _v in _settings(latest)}
    params: dict[str, Any] = {"kind": latest.params["kind"]}
    try:
        for key, raw in typed.items():
            before = latest.params.get(key)
            if raw == "":
                params[key] = None
            elif isinstance(before, str):
                params[key] = raw
            elif isinstance(before, int) and not isinstance(before, bool):
                params[key] = int(raw)
            else:
                params[key] = float(raw)
        version = flags.revise_rule(db.session, current_user, flag_id, params,
                                    note=(request.form.get("note") or "").strip()[:500],
                                    expected_number=id_arg(request.form, "expected"))
    except ValueError:
        db.session.rollback()
        flash("Each setting is a number (a whole number for days, contacts and words).",
              "danger")
        return _flag_page(flag_id, status=400, typed=typed)
    except (InvalidInput, Conflict) as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return _flag_page(flag_id, status=409 if isinstance(exc, Conflict) else 400,
                          typed=typed)
    db.session.commit()
    flash(f"Version {version.number} is in use.", "success")
    return redirect(url_for("review.flag_page", flag_id=flag_id))


@bp.post("/flags/<int:flag_id>/versions/<int:number>/activate")
@permission_required("flag.manage")
def activate(flag_id: int, number: int) -> Any:
    if not ButtonForm().validate_on_submit():
        abort(400)
    flags.activate(db.session, current_user, flag_id, number)
    db.session.commit()
    flash(f"Version {number} is in use. Interactions already checked keep the results of the "
          "version that checked them; `qm flagging check --since DATE` re-scores a period.",
          "success")
    return redirect(url_for("review.flag_page", flag_id=flag_id))


@bp.post("/flags/<int:flag_id>/deactivate")
@permission_required("flag.manage")
def deactivate(flag_id: int) -> Any:
    if not ButtonForm().validate_on_submit():
        abort(400)
    flags.deactivate(db.session, current_user, flag_id)
    db.session.commit()
    flash("The flag is off; what it found stays.", "success")
    return redirect(url_for("review.flag_page", flag_id=flag_id))
