"""Sessions, the password gate and CSRF tokens.

The session is a cookie signed with a key made at start (Starlette's ``SessionMiddleware``
over itsdangerous), so restarting the dashboard signs everyone out. Every form that
changes something carries the session's CSRF token in a hidden ``csrf_token`` field; a
POST whose token is missing or wrong is answered 403 before anything is read or written.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

__all__ = ["CSRF_FIELD", "PasswordGate", "checked_form", "csrf_token", "session_key"]

CSRF_FIELD = "csrf_token"
SIGNED_IN = "signed_in"
# Reachable without signing in: the sign-in page itself and the files it uses.
_OPEN = ("/login", "/static/", "/favicon.ico")


def session_key() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    """The session's token, made on first use."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


async def checked_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF token matched the session's; else 403."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    expected = request.session.get(CSRF_FIELD)
    if (
        not isinstance(given, str)
        or not isinstance(expected, str)
        or not secrets.compare_digest(given, expected)
    ):
        raise HTTPException(403, "this form has expired or did not come from the dashboard")
    return form


class PasswordGate(BaseHTTPMiddleware):
    """With a password, every page but the sign-in page needs a signed-in session."""

    def __init__(self, app: Any, *, required: bool) -> None:
        super().__init__(app)
        self.required = required

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if not self.required or request.session.get(SIGNED_IN) or path.startswith(_OPEN):
            return await call_next(request)
        if path.startswith("/api/"):
            return JSONResponse({"error": "sign in first"}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
