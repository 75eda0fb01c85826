from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from automation.config.secret import Secret
from automation.service.logs import event, setup_logging

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (?P<level>[A-Z]+) (?P<rest>.*)$")


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _redact_token(text: str) -> str:
    return text.replace("s3cr3t-token", "***")


def test_text_line_has_time_level_event_and_fields() -> None:
    out = io.StringIO()
    setup_logging("text", level=logging.INFO, stream=out)
    event(logging.getLogger("automation.engine"), "fired", rule="repost-at-100-likes", post="123")
    line = out.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1
    match = LINE.match(line.rstrip("\n"))
    assert match, line
    assert match["level"] == "INFO"
    assert match["rest"] == "fired rule=repost-at-100-likes post=123"


def test_text_values_with_spaces_or_newlines_stay_on_one_line() -> None:
    out = io.StringIO()
    setup_logging("text", level=logging.INFO, stream=out)
    event(
        logging.getLogger("t"),
        "action",
        error="boom\nsecond line",
        ok=True,
        missing=None,
        count=3,
        level=logging.WARNING,
    )
    line = out.getvalue()
    assert line.count("\n") == 1
    assert " WARNING action " in line
    assert 'error="boom\\nsecond line" ok=true missing=- count=3' in line


def test_json_lines_carry_the_same_fields() -> None:
    out = io.StringIO()
    setup_logging("json", level=logging.INFO, stream=out)
    event(logging.getLogger("automation.engine"), "cycle", posts=12, requests=3, event="x")
    data = json.loads(out.getvalue())
    assert list(data)[:3] == ["time", "level", "event"]
    assert data["level"] == "info"
    assert data["event"] == "cycle"
    assert data["posts"] == 12
    assert data["requests"] == 3
    assert data["event_"] == "x"  # a field cannot overwrite the event name
    assert data["logger"] == "automation.engine"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["time"])


def test_level_filters_events() -> None:
    out = io.StringIO()
    setup_logging("text", level="WARNING", stream=out)
    log = logging.getLogger("automation.x")
    event(log, "quiet")
    event(log, "loud", level=logging.ERROR)
    assert "quiet" not in out.getvalue()
    assert " ERROR loud" in out.getvalue()


def test_plain_logger_calls_and_exceptions_are_one_line() -> None:
    out = io.StringIO()
    setup_logging("text", level=logging.INFO, stream=out)
    log = logging.getLogger("automation.y")
    try:
        raise ValueError("bad thing")
    except ValueError:
        log.exception("cycle failed for %s", "brand")
    line = out.getvalue()
    assert line.count("\n") == 1
    assert 'ERROR cycle failed for brand error="ValueError: bad thing"' in line


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_redactor_scrubs_message_fields_and_exceptions(fmt: str) -> None:
    out = io.StringIO()
    setup_logging(fmt, level=logging.INFO, stream=out, redact=_redact_token)  # type: ignore[arg-type]
    log = logging.getLogger("automation.z")
    log.info("header was Bearer %s", "s3cr3t-token")
    event(log, "action", body={"auth": "s3cr3t-token", "list": ["x s3cr3t-token"]})
    try:
        raise RuntimeError("server echoed s3cr3t-token")
    except RuntimeError:
        log.exception("failed")
    text = out.getvalue()
    assert "s3cr3t-token" not in text
    assert text.count("***") == 4
    assert len(text.splitlines()) == 3


def test_secret_objects_log_as_their_source() -> None:
    out = io.StringIO()
    setup_logging("json", level=logging.INFO, stream=out, redact=_redact_token)
    event(logging.getLogger("t"), "auth", token=Secret("s3cr3t-token", "${X_BEARER_TOKEN}"))
    data = json.loads(out.getvalue())
    assert data["token"] == "Secret(${X_BEARER_TOKEN})"


def test_calling_again_replaces_the_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging("text", level=logging.INFO, stream=first)
    setup_logging("json", level=logging.INFO, stream=second)
    event(logging.getLogger("t"), "once")
    assert first.getvalue() == ""
    assert json.loads(second.getvalue())["event"] == "once"


def test_http_library_chatter_is_quieted() -> None:
    out = io.StringIO()
    setup_logging("text", level=logging.INFO, stream=out)
    logging.getLogger("httpx").info("HTTP Request: GET https://example.com")
    assert out.getvalue() == ""


def test_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown log format"):
        setup_logging("xml", stream=io.StringIO())  # type: ignore[arg-type]
