"""The fixed moment in-process sandboxes start at, so no test depends on the wall clock.

A minute and seconds past the hour on purpose: hour boundaries must come from the test's
own ``advance`` steps, never from when the suite happens to run.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["SANDBOX_START"]

SANDBOX_START = datetime(2026, 11, 26, 12, 7, 13, tzinfo=UTC)
