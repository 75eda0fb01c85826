"""The running rule set notices edits to exactly the files it loaded."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from config_helpers import make_config

from automation.engine.running_rules import files_state, load_compiled

RULES = """\
version: 1
rules:
  - id: at-100
    watch: {accounts: [brand]}
    when: likes >= 100
    actions: [{log: {message: hi}}]
"""


def test_the_files_watched_for_edits_are_the_files_loaded(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text(RULES)
    (rules / "old.yaml").mkdir()  # a directory with a rule file's name is no rule file
    (rules / "notes.txt").write_text("not a rule file")
    config = dataclasses.replace(make_config(), rules=(rules, rules / "a.yaml"))  # named twice

    loaded = load_compiled(config)

    assert [Path(p).name for p, _ in loaded.files] == ["a.yaml"]
    assert files_state(config) == frozenset(loaded.files)  # so no cycle reloads for nothing
