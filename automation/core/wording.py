"""Small pieces of the wording every command shares."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable

__all__ = ["closest", "counted", "no_rule", "shown_path", "size_text"]


def shown_path(path: str) -> str:
    r"""A file's name as a message shows it, as a terminal would: the bytes of a name
    not in the file system's encoding (Latin-1 ``b"caf\xe9.yaml"`` on UTF-8, which
    ``os.fsdecode`` holds with the surrogate ``\udce9``) as their escapes (``caf\xe9.yaml``,
    the 4 characters ``\xe9``); any other name as it is."""
    if path.isascii():
        return path
    encoding = sys.getfilesystemencoding()
    try:
        return path.encode(encoding, "surrogateescape").decode(encoding, "backslashreplace")
    except UnicodeEncodeError:  # a name not read from the file system: shown as given
        return path


def counted(n: int, noun: str) -> str:
    """``1 post``, ``2 posts``, ``1,200 posts``: a count with its noun, singular for one."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


# rule IDs a "no rule" message names at most: 300 of them made a line of 4,000 characters
NAMED_RULES = 12


def no_rule(rule_id: str, known: Iterable[str]) -> str:
    """``no rule 'likes-10O' (did you mean 'likes-100'? rules: likes-100, reposts-10)``:
    what a command says of a rule ID it does not know, naming the ones it does (the first
    ``NAMED_RULES`` of many, and how many more)."""
    names = sorted(known)
    close = closest(rule_id, names)
    hint = f"did you mean {close!r}? " if close else ""
    listed = ", ".join(names[:NAMED_RULES]) or "none loaded"
    if len(names) > NAMED_RULES:
        listed += f", and {len(names) - NAMED_RULES:,} more in the rule files"
    return f"no rule {rule_id!r} ({hint}rules: {listed})"


def size_text(n: int) -> str:
    """``512 bytes``, ``1.5 KiB``, ``3.0 MiB``, ``2048.0 MiB``: a size, in MiB at most."""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024**2:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024**2:.1f} MiB"


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name a misspelt ``word`` most likely means, for "did you mean" hints, or
    None when none is close. Case is ignored ('BRAND' means 'brand'); the known name comes
    back as it is spelt."""
    spelt: dict[str, str] = {}
    for name in known:
        spelt.setdefault(name.lower(), name)
    match = difflib.get_close_matches(word.lower(), list(spelt), n=1, cutoff=0.6)
    return spelt[match[0]] if match else None
