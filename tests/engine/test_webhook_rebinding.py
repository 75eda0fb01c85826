"""A webhook connects to the address its host was checked at, not to a second lookup: a
name that answers a public address for the check and a private one afterwards (DNS
rebinding) must not reach the private address. The system's name lookup is replaced by a
stub; delivery goes through the real performers, HTTP client and sockets, and over HTTPS
the certificate is still checked against the name, not the address connected to."""

from __future__ import annotations

import dataclasses
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from config_helpers import make_config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from automation.config.model import WebhookSettings
from automation.core.errors import ActionFailed
from automation.engine.performers import make_performers
from automation.x.http import HttpClient

PUBLIC = "93.184.216.34"


class Receiver:
    """A local receiver on 127.0.0.1 that records the Host header of each POST."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.hosts.append(self.headers.get("Host", ""))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    thread = threading.Thread(target=running.server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()
    thread.join()


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names the stub answers: each lookup of a name takes its next answer (the last one
    repeats); other names and address literals go to the real lookup."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        queue = answers.get(str(host))
        if not queue:
            return real(host, port, *args, **kwargs)
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        answers.setdefault(f"looked up {host}", []).append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def deliver(url: str, allow: tuple[str, ...] = ()) -> str:
    config = dataclasses.replace(make_config(), webhooks=WebhookSettings(allow_hosts=allow))
    with HttpClient(timeout=5.0) as http:
        performers = make_performers(config, None, http)  # type: ignore[arg-type]
        return performers.webhook("f1.0", {"url": url, "body": "{}"})


def test_a_name_rebound_to_a_private_address_after_the_check_is_not_connected_to(
    receiver: Receiver, dns: dict[str, list[str]]
) -> None:
    dns["rebind.test"] = [PUBLIC, "127.0.0.1"]
    with pytest.raises(ActionFailed) as info:
        deliver(f"http://rebind.test:{receiver.port}/hook")
    assert receiver.hosts == []
    assert not info.value.retryable
    assert "rebind.test resolves to 127.0.0.1" in str(info.value)
    assert "127.0.0.1 is a loopback address" in str(info.value)


def test_the_connection_goes_to_the_address_checked_and_keeps_the_name(
    receiver: Receiver, dns: dict[str, list[str]]
) -> None:
    # allowed explicitly; a third lookup would answer an address nothing listens on
    dns["inside.test"] = ["127.0.0.1", "127.0.0.1", "127.0.0.2"]
    detail = deliver(f"http://inside.test:{receiver.port}/hook", allow=("inside.test",))
    assert detail == f"delivered to http://inside.test:{receiver.port}"
    assert receiver.hosts == [f"inside.test:{receiver.port}"]
    assert dns["looked up inside.test"] == ["127.0.0.1", "127.0.0.1"]  # the check, the connect


def self_signed(name: str, directory: Path) -> tuple[Path, Path]:
    """A certificate for ``name`` only (no IP address in it), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = datetime(2020, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * 200))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_over_https_the_certificate_is_still_verified_against_the_name(
    receiver: Receiver,
    dns: dict[str, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert, key = self_signed("inside.test", tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this certificate
    dns["inside.test"] = dns["elsewhere.test"] = ["127.0.0.1"]
    allow = ("inside.test", "elsewhere.test")

    deliver(f"https://inside.test:{receiver.port}/hook", allow=allow)
    assert receiver.hosts == [f"inside.test:{receiver.port}"]

    with pytest.raises(ActionFailed, match="CERTIFICATE_VERIFY_FAILED") as info:
        deliver(f"https://elsewhere.test:{receiver.port}/hook", allow=allow)
    assert info.value.retryable
    assert receiver.hosts == [f"inside.test:{receiver.port}"]
