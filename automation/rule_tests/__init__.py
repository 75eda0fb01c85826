"""Rule unit tests (``automation test``): prove a rule on scripted posts before it goes live.

A test file names rule files and scripts posts with their metric values at each poll
(``likes: 80+5x6 _ 115``); each test is played through the real engine with an in-memory
store, fake API edges and a manual clock, then judged against the firings it expects.
"""

from __future__ import annotations

from automation.rule_tests.runner import default_files, expand, run_files, run_test
from automation.rule_tests.test_file import load_test_file

__all__ = ["default_files", "expand", "load_test_file", "run_files", "run_test"]
