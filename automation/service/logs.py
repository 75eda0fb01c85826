"""Logs on stderr: one line per event, for people (text) or for machines (JSON lines).

Engine code logs named events with fields through ``event()`` so both formats carry the
same data: ``2026-11-26T12:00:00Z INFO fired rule=repost-at-100-likes post=123`` or
``{"time": "...", "level": "info", "event": "fired", "rule": "...", "post": "123"}``.
stdout stays free for command output (``run --json``).

Secrets are kept out of logs by construction (``Secret`` never prints its value); the
redacting filter is the last line of defence for a value that slipped through some other
way, such as an exception message quoting a response.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

__all__ = [
    "JsonFormatter",
    "RedactingFilter",
    "TextFormatter",
    "event",
    "setup_logging",
]

LogFormat = Literal["text", "json"]

# Libraries that log every request at INFO; their lines add nothing to ours.
_QUIET_LOGGERS = ("httpx", "httpcore")
_BASE_KEYS = frozenset({"time", "level", "event"})


def event(logger: logging.Logger, name: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log the event ``name`` with structured ``fields``."""
    if logger.isEnabledFor(level):
        logger.log(level, name, extra={"fields": fields})


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return dict(fields) if isinstance(fields, Mapping) else {}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_text(record: logging.LogRecord) -> str | None:
    """The exception on the record as one line: ``Type: message``."""
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        return f"{type(exc).__name__}: {exc}"
    return None


def _text_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "-"
    text = value if isinstance(value, str) else str(value)
    if text and not any(c.isspace() or c in '"=\\' for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``TIME LEVEL message key=value ...`` on a single line."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname, _one_line(record.getMessage())]
        fields = _fields(record)
        error = _error_text(record)
        if error is not None:
            fields.setdefault("error", error)
        parts.extend(f"{key}={_one_line(_text_value(value))}" for key, value in fields.items())
        return " ".join(parts)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``time``, ``level`` and ``event`` come first."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        if record.name != "root":
            out["logger"] = record.name
        for key, value in _fields(record).items():
            out[f"{key}_" if key in _BASE_KEYS or key == "logger" else key] = value
        error = _error_text(record)
        if error is not None:
            out.setdefault("error", error)
        return json.dumps(out, ensure_ascii=False, default=str)


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


class RedactingFilter(logging.Filter):
    """Rewrites each record through ``redact`` before any formatter sees it."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            record.fields = {key: self._clean(value) for key, value in fields.items()}
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            # Replace the exception by its redacted summary; the original may quote a secret.
            record.fields = {
                **getattr(record, "fields", {}),
                "error": self._redact(f"{type(exc).__name__}: {exc}"),
            }
            record.exc_info = None
            record.exc_text = None
        return True

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, Mapping):
            return {key: self._clean(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._clean(item) for item in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self._redact(str(value))


class _OwnHandler(logging.StreamHandler[TextIO]):
    """The handler ``setup_logging`` installs, marked so that the next call replaces it."""

    _automation = True


def setup_logging(
    fmt: LogFormat = "text",
    *,
    level: int | str = logging.INFO,
    stream: TextIO | None = None,
    redact: Callable[[str], str] | None = None,
) -> logging.Handler:
    """Route every log record to ``stream`` (stderr) in ``fmt``; calling again replaces it.

    Returns the installed handler so a caller (a reload) can swap the redactor later.
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_automation", False)]:
        root.removeHandler(old)
        old.close()
    handler = _OwnHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    if redact is not None:
        handler.addFilter(RedactingFilter(redact))
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
