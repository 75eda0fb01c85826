"""What the readers of a test's parts share: pointing at places in the file and at times.

Posts, steps and expectations are each read by their own module; they all report problems
at the same test's paths and name rules and times the same way, so that lives here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from automation.core.rules import Position
from automation.core.wording import closest
from automation.rulefiles.problems import Reporter
from automation.rulefiles.yaml_loader import PathPart, YamlDocument

__all__ = ["PathList", "TestScope", "offset_text", "suggest"]

PathList = list[PathPart]


@dataclass(frozen=True)
class TestScope:
    """One test in its file: where its problems go and where its parts are."""

    doc: YamlDocument
    rep: Reporter
    path: PathList

    def at(self, *parts: PathPart) -> PathList:
        return [*self.path, *parts]

    def where(self, path: PathList, *, key: bool = False) -> Position:
        return Position(self.doc.name, *self.doc.position(path, key=key))


def suggest(value: str, known: Sequence[str], what: str) -> str:
    """Say that a rule or account is unknown, with the closest known name if there is one."""
    close = closest(value, known)
    if close:
        return f"{what} '{value}' is not in the rules under test (did you mean '{close}'?)"
    listed = ", ".join(known) or "none"
    return f"{what} '{value}' is not in the rules under test (known: {listed})"


def offset_text(seconds: float) -> str:
    """A time relative to the start as people read it: ``+0s``, ``+25m``, ``+2h5m``."""
    seconds = int(seconds)
    sign = "-" if seconds < 0 else "+"
    left = abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return sign + ("".join(parts) or "0s")
