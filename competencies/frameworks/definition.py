"""A competency framework's definition: what a framework version's JSON may say, checked in one
place for the import, the API and the CLI alike.

Competencies are grouped as ISO 18295-1 clause 6.3 groups them (6.3.2 communication and customer
service, 6.3.3 technical, 6.3.4 client-specific). Each has a code (the same code a scoring form's
question names in its ``competencies`` list: that is how QA evidence reaches the matrix), a name,
a description and a behavioural indicator per proficiency level above 0. The scale is the
framework's own: by default none, aware, practising, competent, expert (0 to 4).

Pure: the standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

GROUPS = {
    "6.3.2": "Communication and customer service",
    "6.3.3": "Technical: systems, tools, product and process knowledge",
    "6.3.4": "Client-specific: a client's products, procedures and regulations",
}
DEFAULT_SCALE = ("none", "aware", "practising", "competent", "expert")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
MAX_COMPETENCIES = 500


class FrameworkError(ValueError):
    """The JSON is not a valid framework; the message says where and why."""


@dataclass(frozen=True)
class Competency:
    code: str
    name: str
    group: str  # one of GROUPS
    description: str = ""
    client: str = ""  # client-specific (6.3.4) competencies may name the client
    indicators: dict[int, str] = field(default_factory=dict)  # level -> observable behaviour


@dataclass(frozen=True)
class Framework:
    scale: tuple[str, ...]
    competencies: tuple[Competency, ...]

    @property
    def top(self) -> int:
        """The highest level of the scale (4 on the default one)."""
        return len(self.scale) - 1

    def by_code(self) -> dict[str, Competency]:
        return {c.code: c for c in self.competencies}

    def level_name(self, level: int) -> str:
        return self.scale[level] if 0 <= level <= self.top else str(level)


def _text(value: Any, where: str, *, required: bool = True, limit: int = 2000) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise FrameworkError(f"{where} must be {'a non-empty' if required else 'a'} text.")
    if len(value) > limit:
        raise FrameworkError(f"{where} is longer than {limit} characters.")
    return value.strip()


def _scale(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return DEFAULT_SCALE
    if not isinstance(raw, list) or not 2 <= len(raw) <= 11:
        raise FrameworkError("'scale' must list from 2 to 11 level names, lowest (0) first.")
    names = tuple(_text(name, f"scale level {i}", limit=40) for i, name in enumerate(raw))
    if len({n.lower() for n in names}) != len(names):
        raise FrameworkError("'scale' names each level once.")
    return names


def _indicators(raw: Any, where: str, top: int) -> dict[int, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FrameworkError(f"{where}: 'indicators' maps levels (1 to {top}) to behaviours.")
    out: dict[int, str] = {}
    for key, text in raw.items():
        try:
            level = int(key)
        except (TypeError, ValueError):
            raise FrameworkError(f"{where}: indicator level {key!r} is not a number.") from None
        if not 1 <= level <= top:
            raise FrameworkError(f"{where}: indicator level {level} is off the scale 1 to {top}.")
        out[level] = _text(text, f"{where}, indicator {level}")
    return dict(sorted(out.items()))


def framework_from_dict(data: Any) -> Framework:
    """The framework a version's JSON describes, or ``FrameworkError`` naming what is wrong.

    The shape: ``{"scale": [...]?, "groups": [{"code": "6.3.2", "competencies": [{"code",
    "name", "description"?, "client"?, "indicators"?: {"1": "...", ...}}]}]}``.
    """
    if not isinstance(data, dict):
        raise FrameworkError("A framework is a JSON object.")
    scale = _scale(data.get("scale"))
    groups = data.get("groups")
    if not isinstance(groups, list) or not groups:
        raise FrameworkError("'groups' must list the clause 6.3 groups: "
                             + ", ".join(GROUPS) + ".")
    competencies: list[Competency] = []
    seen: set[str] = set()
    seen_groups: set[str] = set()
    for g, group in enumerate(groups, start=1):
        if not isinstance(group, dict):
            raise FrameworkError(f"group {g} must be an object.")
        code = str(group.get("code") or "")
        if code not in GROUPS:
            raise FrameworkError(f"group {g}: code {code!r} is not one of {', '.join(GROUPS)}.")
        if code in seen_groups:
            raise FrameworkError(f"group {code} is listed twice.")
        seen_groups.add(code)
        items = group.get("competencies")
        if not isinstance(items, list) or not items:
            raise FrameworkError(f"group {code} lists no competencies.")
        for i, item in enumerate(items, start=1):
            where = f"group {code}, competency {i}"
            if not isinstance(item, dict):
                raise FrameworkError(f"{where} must be an object.")
            item_code = str(item.get("code") or "").strip()
            if not CODE_RE.match(item_code):
                raise FrameworkError(f"{where}: code {item_code!r} must be 1 to 32 letters, "
                                     "digits, dots, dashes or underscores.")
            if item_code in seen:
                raise FrameworkError(f"competency code {item_code!r} is used twice.")
            seen.add(item_code)
            where = f"competency {item_code}"
            client = _text(item.get("client"), f"{where}: client", required=False, limit=120)
            if client and code != "6.3.4":
                raise FrameworkError(f"{where}: only client-specific (6.3.4) competencies "
                                     "name a client.")
            competencies.append(Competency(
                code=item_code, group=code, name=_text(item.get("name"), f"{where}: name",
                                                       limit=200),
                description=_text(item.get("description"), f"{where}: description",
                                  required=False),
                client=client,
                indicators=_indicators(item.get("indicators"), where, len(scale) - 1)))
    if len(competencies) > MAX_COMPETENCIES:
        raise FrameworkError(f"A framework holds at most {MAX_COMPETENCIES} competencies.")
    return Framework(scale=scale, competencies=tuple(competencies))


def to_dict(framework: Framework) -> dict[str, Any]:
    """The definition as stored and exported: what ``framework_from_dict`` reads back."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in framework.competencies:
        item: dict[str, Any] = {"code": c.code, "name": c.name}
        if c.description:
            item["description"] = c.description
        if c.client:
            item["client"] = c.client
        if c.indicators:
            item["indicators"] = {str(level): text for level, text in c.indicators.items()}
        groups.setdefault(c.group, []).append(item)
    return {"scale": list(framework.scale),
            "groups": [{"code": code, "competencies": items} for code, items in groups.items()]}
