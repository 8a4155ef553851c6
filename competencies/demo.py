"""The competencies domain's part of `qm demo`: the clause-6 framework, published, whose codes
match the demo scoring form's tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from competencies.frameworks import queries, services

FRAMEWORK_FILE = Path(__file__).parent / "data" / "clause6_framework.json"


def seed(session: Session, actor: Any, settings: Any) -> str:
    version = services.import_framework(session, actor,
                                        json.loads(FRAMEWORK_FILE.read_text("utf-8")),
                                        publish=True)
    count = len(queries.parsed(version).competencies)
    return (f"Competencies: {version.framework.name!r} v{version.number} ({version.status}), "
            f"{count} competencies.")
