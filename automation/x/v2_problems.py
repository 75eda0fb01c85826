"""What an X API v2 error answer says, whatever its shape (engagement-api.md §7).

v2 errors are RFC 7807 Problem objects (``type``, ``title``, ``detail``, often ``status``),
at the top level or in an ``errors`` array, also inside a 200 for a resource X cannot
serve; some answers, such as a 429, may still come in the v1 shape
``{"errors":[{"code":88,"message":"..."}]}``. ``Problem`` reads them all alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from automation.x.http import scrubbed_start

__all__ = [
    "ALREADY_CODES",
    "ALREADY_PHRASES",
    "DUPLICATE_CODES",
    "DUPLICATE_PHRASES",
    "EXCERPT",
    "Problem",
    "excerpt",
    "is_auth_problem",
    "is_problem",
    "problem_of",
    "read_problem",
]

EXCERPT = 200

# How X says "this write already happened": v1 codes and phrases seen in v1 and v2 bodies.
ALREADY_CODES = frozenset({327, 139})  # already retweeted / already favorited
DUPLICATE_CODES = frozenset({187})  # status is a duplicate
ALREADY_PHRASES = ("already retweeted", "already reposted", "already liked", "already favorited")
DUPLICATE_PHRASES = ("duplicate content", "status is a duplicate")
# 403s that are about credentials rather than about the request.
_AUTH_TYPES = ("unsupported-authentication", "client-forbidden", "not-authorized")
_AUTH_CODES = frozenset({32, 89, 99, 215, 220, 261, 326})


@dataclass(frozen=True)
class Problem:
    """What an error body says, from problem+json, a v2 ``errors`` list or v1 ``errors``."""

    title: str = ""
    detail: str = ""
    type: str = ""
    codes: tuple[int, ...] = ()
    texts: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()  # the request parameters an invalid-request names

    @property
    def summary(self) -> str:
        parts = [p for p in (self.title, self.detail) if p]
        if not parts and self.codes:
            parts = [f"code {self.codes[0]}"]
        return ": ".join(parts)[:EXCERPT]

    def says(self, codes: frozenset[int], phrases: tuple[str, ...]) -> bool:
        text = " ".join(self.texts).lower()
        return any(c in codes for c in self.codes) or any(p in text for p in phrases)


def read_problem(body: bytes, scrub: Callable[[str], str]) -> Problem:
    """What an error answer says, with ``scrub`` applied to the text of ``body``."""
    try:
        decoded = json.loads(scrub(body.decode("utf-8", "replace")))
    except (ValueError, RecursionError):
        decoded = None
    if not isinstance(decoded, dict):
        text = excerpt(body, scrub)
        return Problem(detail=text, texts=(text,))
    return problem_of(decoded)


def problem_of(decoded: dict[str, Any]) -> Problem:
    entries = [decoded]
    errors = decoded.get("errors")
    if isinstance(errors, list):
        entries += [e for e in errors if isinstance(e, dict)]

    def first(*keys: str) -> str:
        for entry in entries:
            for key in keys:
                value = entry.get(key)
                if isinstance(value, str) and value:
                    return value
        return ""

    texts = tuple(
        e[k] for e in entries for k in ("title", "detail", "message") if isinstance(e.get(k), str)
    )
    codes = tuple(e["code"] for e in entries if isinstance(e.get("code"), int))
    parameters = tuple(
        str(name)
        for e in entries
        if isinstance(e.get("parameters"), dict)
        for name in e["parameters"]
    )
    return Problem(
        title=first("title"),
        detail=first("detail", "message"),
        type=first("type"),
        codes=codes,
        texts=texts,
        parameters=parameters,
    )


def is_problem(entry: Any) -> bool:
    """An RFC 7807 Problem object, as v2 puts in ``errors`` (a ``type`` URI and a title)."""
    return isinstance(entry, dict) and isinstance(entry.get("type"), str) and "title" in entry


def is_auth_problem(problem: Problem) -> bool:
    return any(t in problem.type for t in _AUTH_TYPES) or any(
        c in _AUTH_CODES for c in problem.codes
    )


def excerpt(body: bytes, scrub: Callable[[str], str]) -> str:
    """The start of ``body`` on one line."""
    return " ".join(scrubbed_start(body, scrub, EXCERPT).split())
