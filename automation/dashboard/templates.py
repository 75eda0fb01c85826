"""Jinja2 templates from the package, with the filters pages use and the CSRF token."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from automation.core.durations import format_duration
from automation.dashboard import formatting
from automation.dashboard.post_charts import metric_label
from automation.dashboard.security import CSRF_FIELD, csrf_token

__all__ = ["render"]


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("automation.dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=formatting.when,
        ago=formatting.ago,
        eta=formatting.eta,
        number=formatting.number,
        window=formatting.window,
        stamp=formatting.stamp,
        metric=metric_label,
        duration=format_duration,
    )
    env.globals["moment_html"] = formatting.moment
    return env


def _common(request: Request) -> dict[str, Any]:
    return {
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        "signed_in": bool(request.session.get("signed_in")),
        "password_required": request.app.state.password is not None,
        "path": request.url.path,
        "notice": request.session.pop("notice", None),
        "who": request.session.get("name", ""),
    }


_TEMPLATES = Jinja2Templates(env=_environment(), context_processors=[_common])


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return _TEMPLATES.TemplateResponse(request, name, context, status_code=status)
