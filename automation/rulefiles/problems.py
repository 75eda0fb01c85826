"""Collects the problems of one YAML document, each at the key or value it is about.

Schema validation and the rule parser both report through one ``Reporter``; a value that
already has a problem gets no second one, so a marketer sees each mistake once.
"""

from __future__ import annotations

from collections.abc import Sequence

from automation.core.errors import Problem
from automation.rulefiles.yaml_loader import PathPart, YamlDocument

__all__ = ["Reporter"]


class Reporter:
    """Turns data paths into positioned Problems, at most one per path."""

    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self._paths: list[tuple[PathPart, ...]] = []
        self._seen: set[tuple[tuple[PathPart, ...], str]] = set()

    def error(
        self,
        path: Sequence[PathPart],
        message: str,
        *,
        key: bool = False,
        offset: int | None = None,
        slot: str = "",
    ) -> None:
        """Report at the value at ``path``, its key (``key``), or a character inside it.

        ``slot`` tells apart different problems with the same place (two missing keys of one
        mapping); a second report for the same path and slot is dropped.
        """
        self._add(tuple(path), message, "error", key=key, offset=offset, slot=slot)

    def warning(self, path: Sequence[PathPart], message: str, *, key: bool = False) -> None:
        self._add(tuple(path), message, "warning", key=key, offset=None, slot="")

    def has_errors_under(self, prefix: Sequence[PathPart]) -> bool:
        """Whether an error was reported at ``prefix`` or anywhere inside it."""
        size, prefix = len(prefix), tuple(prefix)
        return any(
            problem.is_error and path[:size] == prefix
            for path, problem in zip(self._paths, self.problems, strict=True)
        )

    def has_errors_outside(self, prefix: Sequence[PathPart]) -> bool:
        """Whether an error was reported anywhere but inside ``prefix``."""
        size, prefix = len(prefix), tuple(prefix)
        return any(
            problem.is_error and path[:size] != prefix
            for path, problem in zip(self._paths, self.problems, strict=True)
        )

    def _add(
        self,
        path: tuple[PathPart, ...],
        message: str,
        severity: str,
        *,
        key: bool,
        offset: int | None,
        slot: str,
    ) -> None:
        if (path, slot) in self._seen:
            return
        self._seen.add((path, slot))
        if offset is not None:
            line, column = self.doc.text_position(path, offset)
        else:
            line, column = self.doc.position(path, key=key)
        self._paths.append(path)
        self.problems.append(Problem(self.doc.name, line, column, message, severity))
