"""Loading the domains: the one place where the core names them (``qm.config.DOMAINS``, lowest
layer first), by name only, so that it imports none of them.

A domain that reacts to the core's signals keeps its receivers in ``receivers.py``; loading
connects them. The app factory and the ``qm`` command load the domains before any request or
command runs, so a chat saved from a page, the API, a CSV import or the shell is redacted alike.
"""

from __future__ import annotations

import importlib
import importlib.util

from qm.config import DOMAINS


def load() -> None:
    """Import every domain's receivers (once: Python keeps the modules)."""
    for name in DOMAINS:
        if importlib.util.find_spec(f"{name}.receivers") is not None:
            importlib.import_module(f"{name}.receivers")
