"""A credential value that cannot leak by accident.

``Secret`` prints as its source (``${X_BEARER_TOKEN}``), never as its value, in ``repr``,
``str``, f-strings, logs and tracebacks. Code that must send it calls ``reveal()``, which
makes every use easy to find.
"""

from __future__ import annotations

__all__ = ["Secret"]


class Secret:
    __slots__ = ("_source", "_value")

    def __init__(self, value: str, source: str = "secret") -> None:
        self._value = value
        self._source = source

    def reveal(self) -> str:
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
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> object:
        raise TypeError("a Secret cannot be pickled")
