"""Plain-text tables for the command line: aligned columns, no dependencies."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

__all__ = ["cell_text", "table", "table_lines"]


def table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], numbers: Collection[int] = ()
) -> str:
    """Left-aligned columns separated by two spaces; numbers right-aligned."""
    return "\n".join(table_lines(headers, lambda: rows, numbers=numbers))


def table_lines(
    headers: Sequence[str],
    rows: Callable[[], Iterable[Sequence[object]]],
    width: int | None = None,
    keep: int = 1,
    numbers: Collection[int] = (),
) -> Iterator[str]:
    """The lines of ``table``, reading ``rows()`` twice (widths first, then the lines), so
    a long table is never held as text. A column is numeric when every value in it that
    is not None is a number; so is each column in ``numbers`` (positions of columns of
    numbers) whose every value is None, which then aligns as its numbers would. None
    shows as "-". With ``width`` (a terminal's), a table wider than it is cut into blocks
    of columns that each fit, one under another with a blank line between, each repeating
    the first ``keep`` columns (``rows()`` is read once more per block), so no line wraps."""
    widths = [len(h) for h in headers]
    kinds = [0] * len(headers)  # bit 1: a number seen; bit 2: something else seen
    for row in rows():
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(cell_text(value)))
            if value is not None:
                kinds[i] |= 1 if isinstance(value, int | float) else 2
    numeric = [kind == 1 or (kind == 0 and i in numbers) for i, kind in enumerate(kinds)]

    def line(values: Sequence[str], columns: Sequence[int]) -> str:
        parts = [
            values[i].rjust(widths[i]) if numeric[i] else values[i].ljust(widths[i])
            for i in columns
        ]
        return "  ".join(parts).rstrip()

    for number, columns in enumerate(_blocks(widths, width, keep)):
        if number:
            yield ""
        yield line(headers, columns)
        yield line(["-" * w for w in widths], columns)
        for row in rows():
            yield line([cell_text(c) for c in row], columns)


def _blocks(widths: Sequence[int], width: int | None, keep: int) -> list[list[int]]:
    """The columns of each block: the first ``keep``, then as many of the others as fit in
    ``width`` (at least one); one block of every column when ``width`` is None."""
    first = list(range(min(keep, len(widths))))
    blocks: list[list[int]] = [list(first)]
    used = sum(widths[i] + 2 for i in first)
    for i in range(len(first), len(widths)):
        if width is not None and len(blocks[-1]) > len(first) and used + widths[i] > width:
            blocks.append(list(first))
            used = sum(widths[c] + 2 for c in first)
        blocks[-1].append(i)
        used += widths[i] + 2
    return blocks


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
