"""The rule files shipped inside the package, so they exist wherever it is installed.

``rules.example.yaml`` (the annotated reference the demo runs) and the starter rules of
``rules/`` (what ``sandbox --write-config`` gives a new user) are package data under
``automation/rulefiles/data/``. In a clone those entries are links to the repository's own
top-level files, so each file has one copy; an installed package holds real copies.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["EXAMPLE_NAME", "example_rules", "starter_rules"]

EXAMPLE_NAME = "rules.example.yaml"


def _data() -> Traversable:
    return resources.files("automation.rulefiles").joinpath("data")


def example_rules() -> str:
    """The text of ``rules.example.yaml``."""
    return _data().joinpath(EXAMPLE_NAME).read_text(encoding="utf-8")


def starter_rules() -> dict[str, str]:
    """The starter rule files, by file name, in name order."""
    files = [f for f in _data().joinpath("starter").iterdir() if f.name.endswith(".yaml")]
    return {f.name: f.read_text(encoding="utf-8") for f in sorted(files, key=lambda f: f.name)}
