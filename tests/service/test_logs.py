from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from automation.config.secret import Secret
from automation.service.logs import setup_logging

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


def test_text_line_has_time_level_and_message() -> None:
    out = io.StringIO()
    setup_logging("text", level=logging.INFO, stream=out)
    logging.getLogger("automation.engine").info("fired rule=%s post=%s", "repost-at-100", "123")
    line = out.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1
    match = LINE.match(line.rstrip("\n"))
    assert match, line
    assert match["level"] == "INFO"
    assert match["rest"] == "fired rule=repost-at-100 post=123"


def test_json_lines_have_time_level_event_and_logger() -> None:
    out = io.StringIO()
    setup_logging("json", level=logging.INFO, stream=out)
    logging.getLogger("automation.engine").info("loaded %d rules", 3)
    data = json.loads(out.getvalue())
    assert list(data) == ["time", "level", "event", "logger"]
    assert data["level"] == "info"
    assert data["event"] == "loaded 3 rules"
    assert data["logger"] == "automation.engine"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["time"])


RELOAD_PROBLEMS = "rules/a.yaml:3:11: error: unknown metric 'lieks'\nrules/b.yaml:7:5: error: x"


def test_a_multi_line_message_is_one_text_line_per_line_never_a_literal_newline() -> None:
    out = io.StringIO()
    setup_logging("text", level=logging.INFO, stream=out)
    logging.getLogger("automation.engine").error(
        "reload failed, keeping the running rules:\n%s", RELOAD_PROBLEMS
    )
    lines = out.getvalue().splitlines()
    assert "\\n" not in out.getvalue()
    matches = [LINE.match(line) for line in lines]
    assert all(m and m["level"] == "ERROR" for m in matches), lines
    assert [m["rest"] for m in matches if m] == [
        "reload failed, keeping the running rules:",
        "  rules/a.yaml:3:11: error: unknown metric 'lieks'",
        "  rules/b.yaml:7:5: error: x",
    ]


def test_a_multi_line_message_is_one_json_record_with_a_list() -> None:
    out = io.StringIO()
    setup_logging("json", level=logging.INFO, stream=out)
    logging.getLogger("automation").error(
        "reload failed, keeping the running config: %s", RELOAD_PROBLEMS
    )
    [line] = out.getvalue().splitlines()
    data = json.loads(line)
    assert data["event"] == (
        "reload failed, keeping the running config: "
        "rules/a.yaml:3:11: error: unknown metric 'lieks'"
    )
    assert data["details"] == ["rules/b.yaml:7:5: error: x"]


def test_level_filters_records() -> None:
    out = io.StringIO()
    setup_logging("text", level="WARNING", stream=out)
    log = logging.getLogger("automation.x")
    log.info("quiet")
    log.error("loud")
    assert "quiet" not in out.getvalue()
    assert " ERROR loud" in out.getvalue()


def _log_a_bug(log: logging.Logger, secret: str = "") -> None:
    def broken_step() -> None:
        raise ValueError(f"bad thing {secret}".strip())

    try:
        broken_step()
    except ValueError:
        log.exception("cycle failed for %s", "brand")


def test_an_exception_keeps_its_traceback_below_the_line() -> None:
    out = io.StringIO()
    setup_logging("text", level=logging.INFO, stream=out)
    _log_a_bug(logging.getLogger("automation.y"))
    first, *rest = out.getvalue().splitlines()
    assert first.endswith('ERROR cycle failed for brand error="ValueError: bad thing"')
    assert rest[0] == "  Traceback (most recent call last):"
    assert any("in broken_step" in line for line in rest)
    assert rest[-1] == "  ValueError: bad thing"
    assert all(line.startswith("  ") for line in rest)


def test_an_exception_in_json_carries_its_traceback_as_a_field() -> None:
    out = io.StringIO()
    setup_logging("json", level=logging.INFO, stream=out)
    _log_a_bug(logging.getLogger("automation.y"))
    assert out.getvalue().count("\n") == 1
    data = json.loads(out.getvalue())
    assert data["error"] == "ValueError: bad thing"
    assert data["traceback"].startswith("Traceback (most recent call last):")
    assert "in broken_step" in data["traceback"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_redactor_scrubs_messages_errors_and_tracebacks(fmt: str) -> None:
    out = io.StringIO()
    setup_logging(fmt, level=logging.INFO, stream=out, redact=_redact_token)  # type: ignore[arg-type]
    log = logging.getLogger("automation.z")
    log.info("header was Bearer %s", "s3cr3t-token")
    _log_a_bug(log, secret="s3cr3t-token")
    text = out.getvalue()
    assert "s3cr3t-token" not in text
    assert "Traceback" in text
    # the message, the one-line error, and the traceback's last line
    assert text.count("***") == 3


def test_secret_objects_log_as_their_source() -> None:
    out = io.StringIO()
    setup_logging("json", level=logging.INFO, stream=out, redact=_redact_token)
    logging.getLogger("t").info("auth with %s", Secret("s3cr3t-token", "${X_BEARER_TOKEN}"))
    data = json.loads(out.getvalue())
    assert data["event"] == "auth with Secret(${X_BEARER_TOKEN})"


def test_calling_again_replaces_the_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging("text", level=logging.INFO, stream=first)
    setup_logging("json", level=logging.INFO, stream=second)
    logging.getLogger("t").info("once")
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
