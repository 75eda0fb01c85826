"""The sandbox's webhook receiver counts what a real receiver would count as delivered."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from automation.config.secret import Secret
from automation.sandbox.credentials import WEBHOOK_SECRETS
from automation.sandbox.webhook_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(Secret(WEBHOOK_SECRETS["team-chat"], "team-chat")) as r:
        yield r


def _send(receiver: Receiver, body: bytes, length: int) -> None:
    """A POST announcing ``length`` bytes of body, of which ``body`` is sent; then closed."""
    address = urlsplit(receiver.url)
    with socket.create_connection((address.hostname, address.port)) as sock:
        head = (
            "POST /hooks/a HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k.0\r\n"
            f"Content-Length: {length}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        sock.recv(1024)  # the answer, or the end of a connection dropped unanswered


def test_a_request_cut_short_by_its_sender_is_not_a_delivery(receiver: Receiver) -> None:
    """A sender killed while writing the body leaves a short request: nothing was
    delivered (a real receiver fails to read it), and its retry is the one delivery."""
    _send(receiver, b'{"event": "rule.f', 40)
    _send(receiver, b'{"event": "rule.fired"}', 23)

    deliveries = receiver.deliveries()
    assert [d.body for d in deliveries] == [b'{"event": "rule.fired"}']
    assert receiver.cut_short == 1
