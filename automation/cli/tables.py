"""Plain-text tables for the command line: aligned columns, no dependencies."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

__all__ = ["cell_text", "table", "table_lines"]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces; numbers right-aligned."""
    return "\n".join(table_lines(headers, lambda: rows))


def table_lines(
    headers: Sequence[str], rows: Callable[[], Iterable[Sequence[object]]]
) -> Iterator[str]:
    """The lines of ``table``, reading ``rows()`` twice (widths first, then the lines), so
    a long table is never held as text. A column is numeric when every value in it that
    is not None is a number; None shows as "-"."""
    widths = [len(h) for h in headers]
    kinds = [0] * len(headers)  # bit 1: a number seen; bit 2: something else seen
    for row in rows():
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(cell_text(value)))
            if value is not None:
                kinds[i] |= 1 if isinstance(value, int | float) else 2
    numeric = [kind == 1 for kind in kinds]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    yield line(list(headers))
    yield line(["-" * w for w in widths])
    for row in rows():
        yield line([cell_text(c) for c in row])


def cell_text(value: object) -> str:
    """A value as a table shows it: thousands separated, at most 3 decimals, None as "-"."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value.is_integer():
            return f"{value:,.0f}"
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
