"""Argument types shared by several commands."""

from __future__ import annotations

import argparse

from automation.core.errors import UsageError
from automation.core.post_ids import is_post_id

__all__ = ["check_post_id", "positive"]

_LARGEST = 2**63 - 1  # what the database holds as an integer (a LIMIT, a count)


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    if value > _LARGEST:
        raise argparse.ArgumentTypeError(f"expected a number of at most {_LARGEST}, got {value}")
    return value


def check_post_id(text: str, option: str = "") -> str:
    """``text`` when it is a post ID, else a UsageError naming ``option`` (``--post``)."""
    if not is_post_id(text):
        where = f"{option}: " if option else ""
        raise UsageError(
            f"{where}not a post ID: {text!r} (expected its digits, e.g. 1260294888811347969)"
        )
    return text
