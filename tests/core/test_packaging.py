"""What `pip install .` (not editable, as CI and a site install it) ships."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_package_of_the_tree_is_installed():
    # The list in pyproject.toml is explicit (templates/ is installed as qm.templates), so a new
    # package that is not added there works in a checkout and is missing from an install.
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts)
             for top in ("qm", "scoring", "transcription", "competencies")
             for init in (ROOT / top).rglob("__init__.py")}
    assert found, "no package found"
    assert not found - listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_every_template_folder_is_installed_with_its_templates():
    # templates/<domain>/<capability>/ are installed as qm.templates.<domain>.<capability>:
    # each folder must be a listed package with its *.html as package data.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    folders = {".".join(("qm", "templates", *path.parent.relative_to(ROOT / "templates").parts))
               for path in (ROOT / "templates").rglob("*.html")}
    assert "qm.templates.scoring.evaluations" in folders
    assert not folders - set(config["packages"]), "add the template folders to packages"
    assert not {f for f in folders if "*.html" not in config["package-data"].get(f, [])}, \
        "add the template folders' *.html to package-data"
