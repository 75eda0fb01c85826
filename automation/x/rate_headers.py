"""The numbers the X APIs' rate-limit headers carry (``x-rate-limit-remaining``,
``x-rate-limit-reset``, ``x-per-minute-*``), read one way by the request budget and the
write limits."""

from __future__ import annotations

import math

__all__ = ["header_number"]


def header_number(value: str | None) -> float | None:
    """A header's number (surrounding white space allowed); None when the header is
    missing, not a number, infinite or NaN."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
