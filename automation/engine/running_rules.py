"""The running rule set: loaded, compiled once, and able to tell when its files changed.

The engine swaps a ``LoadedRules`` as a whole on reload, so a broken edit never leaves it
with half a rule set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from automation.config.model import Config
from automation.core.evaluate import CompiledRule, compile_rule
from automation.rulefiles.rule_parser import expand_paths, load_rules

__all__ = ["LoadedRules", "files_state", "load_compiled"]

log = logging.getLogger("automation.engine")


@dataclass(frozen=True)
class LoadedRules:
    rules: tuple[CompiledRule, ...]
    files: tuple[tuple[str, float], ...]  # (path, mtime) to notice edits

    @property
    def enabled(self) -> tuple[CompiledRule, ...]:
        return tuple(r for r in self.rules if r.rule.enabled)


def load_compiled(config: Config) -> LoadedRules:
    """Load and compile the config's rules; raises RuleError listing every error."""
    ruleset = load_rules(list(config.rules), names=config.rule_names())
    for warning in ruleset.warnings:
        log.warning("%s", warning)
    ruleset.raise_for_errors()
    return LoadedRules(
        rules=tuple(compile_rule(r) for r in ruleset.rules),
        files=tuple((str(p), _mtime(p)) for p in ruleset.files),
    )


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def files_state(config: Config) -> frozenset[tuple[str, float]]:
    """Every rule file the config names now, with its modification time."""
    try:
        files, _ = expand_paths(list(config.rules))
        return frozenset((str(p), _mtime(p)) for p in files)
    except OSError:
        return frozenset()
