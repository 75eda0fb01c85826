"""The progress bar: redraws in place, at most ten times a second, and steps aside for logs."""

from __future__ import annotations

import io
import logging

import pytest
from cli_helpers import isolated_process_state

from automation.cli.progress_bar import ProgressBar, duration_text
from automation.cli.tables import table


class Ticks:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


def test_it_redraws_in_place_with_the_time_left_and_at_most_ten_times_a_second(
    stream: io.StringIO,
) -> None:
    ticks = Ticks()
    bar = ProgressBar(stream, clock=ticks)
    bar.update(1, 4, lambda: 125.0)
    ticks.t += 0.05
    bar.update(2, 4, lambda: 60.0)  # too soon: not drawn
    ticks.t += 0.1
    bar.update(3, 4, lambda: 30.0)
    bar.update(4, 4, lambda: 0.0)  # the last is always drawn
    assert stream.getvalue() == (
        "\r[######..................] 1/4 requests  about 2m05s left\x1b[K"
        "\r[##################......] 3/4 requests  about 30s left\x1b[K"
        "\r[########################] 4/4 requests\x1b[K"
    )
    bar.waiting(42)
    assert stream.getvalue().endswith(
        "4/4 requests  waiting 42s for the per-minute request budget\x1b[K"
    )
    bar.close()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_a_log_line_erases_the_bar_first(stream: io.StringIO) -> None:
    with isolated_process_state():
        root = logging.getLogger()
        root.setLevel(logging.INFO)
        handler = logging.StreamHandler(stream)
        root.addHandler(handler)
        try:
            bar = ProgressBar(stream, clock=Ticks())
            bar.update(1, 2, lambda: 1.0)
            logging.getLogger("automation.api").info("waiting 60s")  # the bar says so
            logging.getLogger("automation.api").warning("retrying")
            bar.close()
            logging.getLogger("automation.api").warning("after")
        finally:
            root.removeHandler(handler)
    assert stream.getvalue() == (
        "\r[############............] 1/2 requests  about 1s left\x1b[K\r\x1b[Kretrying\nafter\n"
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.4, "59s"), (61, "1m01s"), (3600 * 2 + 420, "2h07m")]
)
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_a_column_of_numbers_with_unknowns_stays_right_aligned() -> None:
    assert table(["post", "likes"], [["1", 1200], ["22", None]]).splitlines() == [
        "post  likes",
        "----  -----",
        "1     1,200",
        "22        -",
    ]
