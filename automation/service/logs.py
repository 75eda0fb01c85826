"""Logs on stderr: one line per event, for people (text) or for machines (JSON lines).

``2026-11-26T12:00:00Z INFO loaded 3 rules`` or
``{"time": "...", "level": "info", "event": "loaded 3 rules", "logger": "automation"}``.
A message of several lines (a failed reload lists one problem a line) gives one text line
each, every one with the time and level, or one JSON record with the others in ``details``.
stdout stays free for command output (``run --json``).

A record logged with an exception (``log.exception``: a bug, not a user error) keeps its
traceback: in text, indented lines below the event line; in JSON, a ``traceback`` field.

Secrets are kept out of logs by construction (``Secret`` never prints its value); the
redactor is the last line of defence for a value that slipped through some other way,
such as an exception message or a traceback quoting a response. It sees every text a
line is made of, the traceback included.
"""

from __future__ import annotations

import json
import logging
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from automation.core.payloads import iso

__all__ = ["JsonFormatter", "TextFormatter", "setup_logging"]

LogFormat = Literal["text", "json"]
Redact = Callable[[str], str]

# Libraries that log every request at INFO; their lines add nothing to ours.
_QUIET_LOGGERS = ("httpx", "httpcore")


def _unchanged(text: str) -> str:
    return text


class _Formatter(logging.Formatter):
    """What both formats share: the parts of a record, each passed through ``redact``."""

    def __init__(self, redact: Redact | None = None) -> None:
        super().__init__()
        self.redact = redact or _unchanged

    def parts(self, record: logging.LogRecord) -> dict[str, str]:
        out = {
            "time": iso(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname,
            "message": self.redact(record.getMessage()),
        }
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            out["error"] = self.redact(f"{type(exc).__name__}: {exc}")
            out["traceback"] = self.redact(self.formatException(record.exc_info))
        return out


class TextFormatter(_Formatter):
    """``TIME LEVEL message [error="Type: text"]``, then the traceback, if any, indented."""

    def format(self, record: logging.LogRecord) -> str:
        parts = self.parts(record)
        head = f"{parts['time']} {parts['level']} "
        first, *more = _lines(parts["message"])
        line = head + first
        if "error" in parts:
            line += f" error={json.dumps(parts['error'], ensure_ascii=False)}"
        for detail in more:  # each line of a multi-line message, as a line of its own
            line += f"\n{head}  {detail}"
        if "traceback" in parts:
            line += "\n" + textwrap.indent(parts["traceback"].rstrip("\n"), "  ")
        return line


class JsonFormatter(_Formatter):
    """One JSON object per line; ``time``, ``level`` and ``event`` come first."""

    def format(self, record: logging.LogRecord) -> str:
        parts = self.parts(record)
        first, *more = _lines(parts["message"])
        out: dict[str, Any] = {
            "time": parts["time"],
            "level": parts["level"].lower(),
            "event": first,
        }
        if more:  # a multi-line message: its first line, then the others as a list
            out["details"] = more
        if record.name != "root":
            out["logger"] = record.name
        for key in ("error", "traceback"):
            if key in parts:
                out[key] = parts[key]
        return json.dumps(out, ensure_ascii=False)


def _lines(text: str) -> list[str]:
    """A message's lines (one at least), blank ones dropped."""
    return [line for line in text.splitlines() if line.strip()] or [""]


class _OwnHandler(logging.StreamHandler[TextIO]):
    """The handler ``setup_logging`` installs, marked so that the next call replaces it."""

    _automation = True


def setup_logging(
    fmt: LogFormat = "text",
    *,
    level: int | str = logging.INFO,
    stream: TextIO | None = None,
    redact: Redact | None = None,
) -> logging.Handler:
    """Route every log record to ``stream`` (stderr) in ``fmt``; calling again replaces it.

    ``redact`` rewrites every text of every line (message, error, traceback) before it is
    written: the config's secret values become ``***``.
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_automation", False)]:
        root.removeHandler(old)
        old.close()
    handler = _OwnHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if fmt == "json" else TextFormatter(redact))
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
