"""Competencies (ISO 18295-1 6.3 to 6.5): frameworks, role profiles and assessments with their
gaps (``profiles``), training records, sessions and refreshers (``training``), communication to
employees (``notices``), and coaching (``coaching``). One capability per sub-package, with the
file roles of "How the code is laid out" in the README."""

from __future__ import annotations

from typing import Any


def init_app(app: Any, api: Any) -> None:
    """Register every capability's pages and API routes.

    Imported here, not at the top: importing any competencies module (a pure one, or in a
    worker) must not pull in Flask."""
    from competencies.coaching import api as coaching_api
    from competencies.coaching import dashboard as coaching_cards
    from competencies.coaching import views as coaching_views
    from competencies.frameworks import api as framework_api
    from competencies.frameworks import views as framework_views
    from competencies.notices import api as notice_api
    from competencies.notices import dashboard as notice_cards
    from competencies.notices import views as notice_views
    from competencies.profiles import api as profile_api
    from competencies.profiles import dashboard as profile_cards
    from competencies.profiles import views as profile_views
    from competencies.training import api as training_api
    from competencies.training import dashboard as training_cards
    from competencies.training import views as training_views

    for views in (framework_views, profile_views, training_views, notice_views,
                  coaching_views):
        app.register_blueprint(views.bp)
    for routes in (framework_api, profile_api, training_api, notice_api, coaching_api):
        api.register_blueprint(routes.blp)
    app.extensions["qm"].setdefault("dashboard", []).extend(
        [notice_cards.cards, coaching_cards.cards, training_cards.cards, profile_cards.cards])
    # the reports home (/reports, scoring) lists these among the reports a user may open
    app.extensions["qm"].setdefault("reports", []).extend(
        [coaching_cards.reports, training_cards.reports, profile_cards.reports])
    # an agent's page elsewhere (the scorecard) shows their next goal and training due
    app.extensions["qm"].setdefault("person_panels", []).extend(
        [profile_cards.person_panels, training_cards.person_panels,
         coaching_cards.person_panels])
    # the skills matrix (profiles) shows coaching and training next to each gap
    app.extensions["qm"].setdefault("gap_notes", []).extend(
        [coaching_cards.gap_notes, training_cards.gap_notes])
    links = app.extensions["qm"].setdefault("record_links", {})
    links.setdefault("evaluation", []).append(coaching_cards.evaluation_links)
    links.setdefault("weak_question", []).append(coaching_cards.question_links)
