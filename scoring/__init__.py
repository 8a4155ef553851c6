"""Interactions, scoring forms, evaluations, disputes, sampling and calibration."""

from __future__ import annotations

from typing import Any


def init_app(app: Any, api: Any) -> None:
    from scoring import api as scoring_api
    from scoring import (
        calibration_api,
        calibration_views,
        evaluation_api,
        evaluation_views,
        form_views,
        views,
    )
    from scoring.dashboard import cards, evaluation_cards

    app.register_blueprint(views.bp)
    app.register_blueprint(form_views.bp)
    app.register_blueprint(evaluation_views.bp)
    app.register_blueprint(calibration_views.bp)
    scoring_api.register(api)
    evaluation_api.register(api)
    calibration_api.register(api)
    app.extensions["qm"].setdefault("dashboard", []).extend([cards, evaluation_cards])
