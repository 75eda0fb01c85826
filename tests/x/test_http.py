"""The HTTP client's answers: what they hold on to once returned."""

from __future__ import annotations

import gc

import httpx

from automation.x.http import HttpClient


def test_an_answer_leaves_no_reference_cycle_behind() -> None:
    """An engine cycle holds the cyclic collector off, so a body kept alive by httpx's
    response and stream referring to each other would live until the cycle ends."""
    body = b'{"data": "' + b"x" * 100_000 + b'"}'
    with HttpClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    ) as http:
        http.request("GET", "https://api.example/")  # the first request sets the client up
        gc.collect()
        enabled = gc.isenabled()
        gc.disable()
        try:
            response = http.request("GET", "https://api.example/")
            assert response.body == body
            del response
            assert gc.collect() == 0
        finally:
            if enabled:
                gc.enable()
