"""A credential value that cannot leak by accident.

``Secret`` prints as its source (``${X_BEARER_TOKEN}``), never as its value, in ``repr``,
``str``, f-strings, logs and tracebacks. Code that must send it calls ``reveal()``, which
makes every use easy to find.

A config loaded for a command that never calls X leaves secrets that are not set where it
runs unresolved (``Secret.unset``): such a secret prints like any other, and ``reveal()``
raises the ConfigError that loading would have raised, so a missing secret is an error
only for the code that actually needs its value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import NoReturn

from automation.core.errors import ConfigError

__all__ = ["Secret", "redactor"]


class Secret:
    __slots__ = ("_missing", "_source", "_value")

    def __init__(self, value: str, source: str = "secret") -> None:
        self._value = value
        self._source = source
        self._missing: str | None = None

    @classmethod
    def unset(cls, source: str, reason: str) -> Secret:
        """A secret the config names but that is not available here; ``reason`` is the
        error ``reveal()`` raises (it says where the secret is named and how to set it)."""
        secret = cls("", source)
        secret._missing = reason
        return secret

    @property
    def is_set(self) -> bool:
        return self._missing is None

    def reveal(self) -> str:
        if self._missing is not None:
            raise ConfigError(self._missing)
        return self._value

    @property
    def source(self) -> str:
        return self._source

    def __repr__(self) -> str:
        return f"Secret({self._source})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Secret)
            and other._value == self._value
            and other._missing == self._missing
        )

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")


def redactor(secrets: Iterable[Secret]) -> Callable[[str], str]:
    """A function that replaces the value of every one of ``secrets`` in a text by ``***``.

    The last line of defence for a value that reaches a message some other way than
    through ``Secret`` (a server echoing a token, an exception quoting a request). Longer
    values are matched first, so a secret that contains another is hidden whole. Secrets
    that are not set here have no value to hide.
    """
    values = sorted({s.reveal() for s in secrets if s.is_set} - {""}, key=len, reverse=True)
    if not values:
        return _unchanged
    pattern = re.compile("|".join(re.escape(v) for v in values))
    return lambda text: pattern.sub("***", text)


def _unchanged(text: str) -> str:
    return text
