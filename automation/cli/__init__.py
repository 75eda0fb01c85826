"""The ``automation`` command line: argument parsing and each command's presentation."""

from __future__ import annotations

from automation.cli.main import main

__all__ = ["main"]
