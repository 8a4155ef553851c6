"""Scoring: forms, evaluations (and disputes), sampling, calibration, reports, the complaint
register, and the interaction pages evaluators work from. One capability per sub-package, each
with the same file roles (see "How the code is laid out" in the README)."""

from __future__ import annotations

from typing import Any


def init_app(app: Any, api: Any) -> None:
    """Register every capability's pages and API routes, and the home page's cards.

    Imported here, not at the top: importing any scoring module (a pure one, or in a worker)
    must not pull in Flask."""
    from scoring.calibration import api as calibration_api
    from scoring.calibration import views as calibration_views
    from scoring.complaints import api as complaint_api
    from scoring.complaints import dashboard as complaint_cards
    from scoring.complaints import queries as complaint_queries
    from scoring.complaints import views as complaint_views
    from scoring.evaluations import api as evaluation_api
    from scoring.evaluations import views as evaluation_views
    from scoring.forms import api as form_api
    from scoring.forms import views as form_views
    from scoring.interactions import api as interaction_api
    from scoring.interactions import views as interaction_views
    from scoring.kpis import api as kpi_api
    from scoring.kpis import dashboard as kpi_cards
    from scoring.kpis import queries as kpi_queries
    from scoring.kpis import views as kpi_views
    from scoring.reports import api as report_api
    from scoring.reports import dashboard
    from scoring.reports import views as report_views
    from scoring.review import api as review_api
    from scoring.review import dashboard as review_cards
    from scoring.review import views as review_views
    from scoring.sampling import api as sampling_api
    from scoring.sampling import views as sampling_views

    # A bad QM_COMPLAINT_* stops the app here, with the variable named, not at a first page.
    complaint_queries.policy(app.extensions["qm"]["settings"])
    # and so does a bad QM_KPI_TARGETS
    kpi_queries.targets(app.extensions["qm"]["settings"])
    app.register_blueprint(kpi_views.bp)
    api.register_blueprint(kpi_api.blp)
    for views in (interaction_views, form_views, evaluation_views, sampling_views,
                  calibration_views, report_views, complaint_views, review_views):
        app.register_blueprint(views.bp)
    for routes in (interaction_api, form_api, evaluation_api, sampling_api, calibration_api,
                   report_api, complaint_api, review_api):
        api.register_blueprint(routes.blp)
    app.extensions["qm"].setdefault("dashboard", []).extend(
        [dashboard.cards, dashboard.evaluation_cards, complaint_cards.cards])
    # a team lead's weekly digest (qm report digest) adds what belongs to the week
    app.extensions["qm"].setdefault("digest", []).extend([dashboard.digest, review_cards.digest])
    # the reports home (/reports) lists each domain's reports the user may open
    app.extensions["qm"].setdefault("reports", []).extend(
        [dashboard.reports, complaint_cards.reports, review_cards.reports, kpi_cards.reports])
    # the interaction page offers "Open a complaint" and lists the complaints about it
    links = app.extensions["qm"].setdefault("record_links", {})
    links.setdefault("interaction", []).append(complaint_cards.interaction_links)
