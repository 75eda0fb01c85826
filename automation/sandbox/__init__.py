"""A faithful local simulation of the X Engagement API and the X API v2 endpoints we use.

``Sandbox`` serves both on one base URL (``/insights/engagement/*`` and ``/2/...``) from
127.0.0.1 or in-process (``SandboxTransport`` for httpx); ``World`` holds the simulated
accounts and posts; credentials are documented in ``automation.sandbox.credentials``. See
the modules for each part.
"""

from __future__ import annotations

from automation.sandbox.app import Encoded, SandboxApp
from automation.sandbox.cli import serve
from automation.sandbox.clock import SimClock
from automation.sandbox.config_writer import write_config
from automation.sandbox.faults import FaultInjector
from automation.sandbox.messages import Request
from automation.sandbox.options import Options
from automation.sandbox.server import Sandbox
from automation.sandbox.transport import SandboxTransport
from automation.sandbox.world import World

__all__ = [
    "Encoded",
    "FaultInjector",
    "Options",
    "Request",
    "Sandbox",
    "SandboxApp",
    "SandboxTransport",
    "SimClock",
    "World",
    "serve",
    "write_config",
]
