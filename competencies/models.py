"""Every table of the competencies domain, for Alembic and the mapper
(``qm.migrations.load_models`` imports ``<domain>.models``)."""

from __future__ import annotations

from competencies.coaching import models as coaching_models
from competencies.frameworks import models as framework_models
from competencies.notices import models as notice_models
from competencies.profiles import models as profile_models
from competencies.training import models as training_models

__all__ = ["coaching_models", "framework_models", "notice_models", "profile_models",
           "training_models"]
