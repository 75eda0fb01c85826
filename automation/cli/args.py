"""Argument types shared by several commands."""

from __future__ import annotations

import argparse

__all__ = ["positive"]

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
