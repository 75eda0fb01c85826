"""A request and its answer as plain values, shared by the in-process and HTTP paths."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["Reply", "Request"]


@dataclass(frozen=True)
class Request:
    """``url`` is absolute, as the client addressed it; header names are lower-case."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)


@dataclass(frozen=True)
class Reply:
    """``body`` is a JSON-able value, or raw bytes sent as they are (faults, and answers
    written as JSON text already)."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    content_type: str = "application/json; charset=utf-8"

    def with_headers(self, extra: Mapping[str, str]) -> Reply:
        return Reply(self.status, self.body, {**self.headers, **extra}, self.content_type)
