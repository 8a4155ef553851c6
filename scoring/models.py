"""Every table of the scoring domain, for Alembic and the mapper (``qm.migrations.load_models``
imports ``<domain>.models``). Each capability keeps its own models; import them from there."""

from __future__ import annotations

from scoring.calibration import models as calibration_models
from scoring.complaints import models as complaint_models
from scoring.evaluations import models as evaluation_models
from scoring.forms import models as form_models
from scoring.kpis import models as kpi_models
from scoring.sampling import models as sampling_models

__all__ = ["calibration_models", "complaint_models", "evaluation_models", "form_models",
           "kpi_models", "sampling_models"]
