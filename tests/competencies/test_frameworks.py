"""Competency frameworks: the definition's rules, versioned import and publishing, JSON export,
`qm competencies`, and the demo's clause-6 framework matching the demo form's tags."""

from __future__ import annotations

import copy
import json

import factories
import pytest
from sqlalchemy import func, select

from competencies.demo import FRAMEWORK_FILE
from competencies.frameworks import definition as defs
from competencies.frameworks import queries, services
from competencies.frameworks.models import CompetencyFramework, FrameworkVersion
from qm import audit
from qm.audit import AuditEntry
from qm.errors import InvalidInput, PermissionDenied
from scoring.demo import FORM_FILE

SMALL = {
    "name": "Small framework",
    "groups": [
        {"code": "6.3.2", "competencies": [
            {"code": "COM-1", "name": "Listening", "indicators": {"1": "aware", "3": "does it"}},
        ]},
        {"code": "6.3.4", "competencies": [
            {"code": "ACME-1", "name": "Acme returns", "client": "Acme"},
        ]},
    ],
}


def test_the_definition_reads_the_clause_groups_the_scale_and_the_indicators():
    framework = defs.framework_from_dict(SMALL)
    assert framework.scale == defs.DEFAULT_SCALE and framework.top == 4
    assert [c.code for c in framework.competencies] == ["COM-1", "ACME-1"]
    assert framework.by_code()["COM-1"].indicators == {1: "aware", 3: "does it"}
    assert framework.by_code()["ACME-1"].client == "Acme"
    assert framework.level_name(3) == "competent"
    # stored and exported as it reads back
    assert defs.framework_from_dict(defs.to_dict(framework)) == framework


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["groups"][0].update(code="6.3.9"), "'6.3.9' is not one of 6.3.2, 6.3.3, 6.3.4"),
    (lambda d: d["groups"][1]["competencies"][0].update(code="COM-1"), "'COM-1' is used twice"),
    (lambda d: d["groups"][0]["competencies"][0].update(code="a b"), "code 'a b' must be"),
    (lambda d: d["groups"][0]["competencies"][0].update(name=" "), "COM-1: name must be"),
    (lambda d: d["groups"][0]["competencies"][0]["indicators"].update({"7": "x"}),
     "indicator level 7 is off the scale 1 to 4"),
    (lambda d: d["groups"][0]["competencies"][0].update(client="Acme"),
     "only client-specific (6.3.4) competencies name a client"),
    (lambda d: d.update(scale=["only"]), "from 2 to 11 level names"),
    (lambda d: d.update(groups=[]), "'groups' must list"),
    (lambda d: d["groups"].append(copy.deepcopy(d["groups"][0])), "group 6.3.2 is listed twice"),
])
def test_a_bad_definition_is_refused_with_where_and_why(change, message):
    data = copy.deepcopy(SMALL)
    change(data)
    with pytest.raises(defs.FrameworkError, match=message.replace("(", r"\(").replace(")", r"\)")):
        defs.framework_from_dict(data)


def test_a_custom_scale_bounds_the_indicators():
    data = {**copy.deepcopy(SMALL), "scale": ["no", "yes"]}
    with pytest.raises(defs.FrameworkError, match="off the scale 1 to 1"):
        defs.framework_from_dict(data)
    data["groups"][0]["competencies"][0]["indicators"] = {"1": "does it"}
    assert defs.framework_from_dict(data).top == 1


def test_import_publish_and_new_drafts_keep_history(session, people):
    hr = people["hr"]
    first = services.import_framework(session, hr, SMALL)
    assert (first.number, first.status) == (1, "draft")
    # the same content again changes nothing
    assert services.import_framework(session, hr, copy.deepcopy(SMALL)).id == first.id
    published = services.publish_framework(session, hr, first.framework_id)
    assert published.status == "published" and published.published_by_id == hr.id
    changed = copy.deepcopy(SMALL)
    changed["groups"][0]["competencies"][0]["name"] = "Active listening"
    second = services.import_framework(session, hr, changed, publish=True)
    session.commit()
    assert (second.number, second.status) == (2, "published")
    assert session.get(FrameworkVersion, first.id).status == "retired"
    assert session.get(FrameworkVersion, first.id).definition["groups"][0]["competencies"][0][
        "name"] == "Listening"  # a published version is frozen
    exported = services.export_framework(queries.version_of(second.framework))
    assert exported["version"] == 2 and exported["name"] == "Small framework"
    assert defs.framework_from_dict(exported).by_code()["COM-1"].name == "Active listening"
    actions = session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("competency_framework%")).order_by(AuditEntry.seq)).all()
    assert actions == ["competency_framework.created", "competency_framework_version.created",
                       "competency_framework_version.published",
                       "competency_framework_version.created",
                       "competency_framework_version.retired",
                       "competency_framework_version.published"]
    assert audit.verify(session).ok


def test_bad_input_and_other_roles_write_nothing(session, people):
    bad = copy.deepcopy(SMALL)
    bad["groups"][0]["competencies"][0]["indicators"] = {"9": "x"}
    with pytest.raises(InvalidInput, match="off the scale"):
        services.import_framework(session, people["hr"], bad)
    with pytest.raises(InvalidInput, match="'name'"):
        services.import_framework(session, people["hr"], {"groups": SMALL["groups"]})
    for role in ("agent_a", "qa", "lead_a", "auditor"):
        with pytest.raises(PermissionDenied):
            services.import_framework(session, people[role], SMALL)
    assert session.scalar(select(func.count(CompetencyFramework.id))) == 0


def test_qm_competencies_import_export_list(runner, session, people, tmp_path):
    path = tmp_path / "framework.json"
    path.write_text(json.dumps(SMALL))
    result = runner.invoke("competencies", "import", str(path), "--publish", "--as", "hr")
    assert result.exit_code == 0, result.output
    assert "Small framework: version 1 (published), 2 competencies." in result.output
    again = runner.invoke("competencies", "import", str(path))
    assert "version 1 (published)" in again.output  # nothing new
    exported = runner.invoke("competencies", "export")
    assert exported.exit_code == 0
    assert defs.framework_from_dict(json.loads(exported.output)).by_code()["ACME-1"].client \
        == "Acme"
    assert "Small framework: v1 published" in runner.invoke("competencies", "list").output
    path.write_text("{not json")
    broken = runner.invoke("competencies", "import", str(path))
    assert broken.exit_code == 1 and "framework.json is not JSON" in broken.output
    assert runner.invoke("competencies", "export", "Nope").exit_code == 1
    refused = runner.invoke("competencies", "import", str(tmp_path / "framework.json"),
                            "--as", "agent.a")
    assert refused.exit_code == 1


def test_the_demo_framework_covers_every_tag_of_the_demo_form(session):
    framework = services.import_framework(session, factories.SYSTEM,
                                          json.loads(FRAMEWORK_FILE.read_text("utf-8")),
                                          publish=True)
    codes = set(queries.parsed(framework).by_code())
    form = json.loads(FORM_FILE.read_text("utf-8"))
    tags = {code for section in form["sections"] for question in section["questions"]
            for code in question.get("competencies", [])}
    assert tags and tags <= codes
    assert {c.group for c in queries.parsed(framework).competencies} == set(defs.GROUPS)
