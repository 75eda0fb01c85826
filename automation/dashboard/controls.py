"""The controls: every change is a POST from a dashboard form with the session's CSRF
token, done in one short transaction, and recorded with who and when."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from automation.core.errors import StoreError
from automation.core.records import ChangeRecord
from automation.dashboard.security import checked_form
from automation.dashboard.site import Site

__all__ = ["retry_action"]

WHO = "dashboard"


def _site(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def _back(request: Request, fallback: str, message: str) -> Response:
    """Back to the page the form was on, with a one-line notice."""
    request.session["notice"] = message
    target = request.headers.get("referer", "")
    base = str(request.base_url)
    path = target[len(base) - 1 :] if target.startswith(base) else fallback
    return RedirectResponse(path or fallback, status_code=303)


async def retry_action(request: Request) -> Response:
    await checked_form(request)
    action_id = request.path_params["action_id"]
    site = _site(request)

    def retry() -> bool:
        now = site.clock()
        with site.writing() as store:
            if not store.retry_action(action_id, now):
                return False
            store.record_change(ChangeRecord(now, WHO, "retry", action_id))
            return True

    try:
        done = await run_in_threadpool(retry)
    except StoreError as exc:
        raise HTTPException(503, f"could not re-queue {action_id}: {exc}") from exc
    if not done:
        return _back(request, "/actions", f"{action_id} is not a dead action; nothing to retry")
    return _back(request, "/actions", f"re-queued {action_id}: the engine tries it next cycle")
