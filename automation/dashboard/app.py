"""The dashboard's web application: routes, sessions, the password gate, errors.

``create_app`` takes a ``Site`` (config, clock, database) and the password (None on
loopback without one). Every response forbids content from other hosts (a
Content-Security-Policy of ``'self'``), so a page cannot reach the internet even by mistake.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from automation.core.errors import AutomationError
from automation.dashboard import backtest_page, controls, pages
from automation.dashboard.access import passwords_match
from automation.dashboard.security import SIGNED_IN, PasswordGate, checked_form, session_key
from automation.dashboard.site import Site, site_of
from automation.dashboard.templates import render

__all__ = ["create_app"]

STATIC = "automation.dashboard"
_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_WRONG_PASSWORD_DELAY = 1.0


class _Headers:
    """Security headers on every response, and ``Server-Timing``: how long the dashboard
    took to answer (a browser's developer tools show it; the benchmark reads it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", _POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"server-timing", f"app;dur={took:.1f}".encode()),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(site: Site, password: str | None) -> Starlette:
    routes = [
        Route("/", pages.overview_page),
        Route("/rules", pages.rules_page),
        Route("/rules/{rule_id}", pages.rule_page),
        Route("/posts/{post_id}", pages.post_page),
        Route("/api/posts/{post_id}/charts", pages.post_charts_json),
        Route("/history", pages.history_page),
        Route("/actions", pages.actions_page),
        Route("/actions/retry", controls.retry_all, methods=["POST"]),
        Route("/actions/{action_id}/retry", controls.retry_action, methods=["POST"]),
        Route("/rules/{rule_id}/pause", controls.pause_rule, methods=["POST"]),
        Route("/rules/{rule_id}/resume", controls.resume_rule, methods=["POST"]),
        Route("/backtest", backtest_page.backtest_form),
        Route("/backtest", backtest_page.backtest_run, methods=["POST"]),
        Route("/login", _login_page),
        Route("/login", _login, methods=["POST"]),
        Route("/logout", _logout, methods=["POST"]),
        Route("/favicon.ico", _favicon),
        Mount("/static", StaticFiles(packages=[(STATIC, "static")]), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(_Headers),
            Middleware(
                SessionMiddleware,
                secret_key=session_key(),
                session_cookie="automation_dashboard",
                same_site="lax",
                max_age=12 * 3600,
            ),
            Middleware(PasswordGate, required=password is not None),
        ],
        exception_handlers={
            HTTPException: _http_error,
            AutomationError: _automation_error,
        },
    )
    app.state.site = site
    app.state.password = password
    return app


def _login_page(request: Request) -> Response:
    if request.app.state.password is None:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", {"next": _next(request), "failed": False})


async def _login(request: Request) -> Response:
    form = await checked_form(request)
    expected = request.app.state.password
    given = form.get("password")
    if expected is None:
        return RedirectResponse("/", status_code=303)
    if not isinstance(given, str) or not passwords_match(given, expected):
        await asyncio.sleep(_WRONG_PASSWORD_DELAY)  # slows guessing down
        context = {"next": _next(request, form.get("next")), "failed": True}
        return render(request, "login.html", context, status=401)
    request.session.clear()
    request.session[SIGNED_IN] = True
    return RedirectResponse(_next(request, form.get("next")), status_code=303)


async def _logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _next(request: Request, given: Any = None) -> str:
    """Where to go after signing in: a path on this dashboard, never another site."""
    target = given if isinstance(given, str) else request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _favicon(request: Request) -> Response:
    from importlib import resources

    icon = resources.files(STATIC) / "static" / "icon.svg"
    return FileResponse(str(icon), media_type="image/svg+xml")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    context = {"status": exc.status_code, "message": exc.detail, "waiting": False}
    return render(request, "error.html", context, status=exc.status_code)


async def _automation_error(request: Request, exc: Exception) -> Response:
    """A database that cannot be read (not there yet, locked too long): say so, calmly."""
    waiting = site_of(request).waiting()
    context = {"status": 503, "message": waiting or str(exc), "waiting": waiting is not None}
    return render(request, "error.html", context, status=503)
