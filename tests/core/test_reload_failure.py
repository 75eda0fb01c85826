"""A failed reload is read the same way by every reader: JSON with its time, or the plain
text an older engine wrote."""

from __future__ import annotations

from datetime import UTC, datetime

from automation.core.reload_failure import ReloadFailure, decode, encode

AT = datetime(2026, 3, 2, 23, 50, tzinfo=UTC)


def test_a_recorded_failure_reads_back_with_its_time() -> None:
    failure = ReloadFailure("rules.yaml:4:11: error: unknown metric\nrules.yaml:9:3: error", AT)
    assert decode(encode(failure)) == failure
    assert failure.first_line() == "rules.yaml:4:11: error: unknown metric"
    assert failure.first_line(10) == "rules.yaml"


def test_plain_text_and_unreadable_times_are_errors_without_a_time() -> None:
    assert decode("automation.yaml:3: bad") == ReloadFailure("automation.yaml:3: bad")
    assert decode('{"at": "x", "errors": "bad"}') == ReloadFailure("bad")
    assert decode('{"at": "2026-03-02T23:50:00", "errors": "bad"}') == ReloadFailure("bad")
    assert decode('{"at": "2026-03-02T23:50:00Z", "errors": "bad"}') == ReloadFailure("bad", AT)
    assert decode("") is None and decode(None) is None
