"""The controls: every change is a POST from a dashboard form with the session's CSRF
token, done in one short transaction, and recorded with who and when.

Pausing and resuming are the operations ``automation pause`` and ``resume`` use
(``engine.pauses``), writing the same pause record: the engine
reads it at its next cycle, keeps evaluating the rule but records and performs nothing, and
after a resume seeds what crossed meanwhile, so nothing floods.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from automation.core.durations import format_duration, parse_duration
from automation.core.errors import StoreError, UsageError
from automation.core.pauses import ALL_RULES
from automation.core.wording import counted
from automation.dashboard.security import checked_form
from automation.dashboard.site import site_of
from automation.engine import pauses
from automation.engine.retries import retry_all_dead, retry_dead

__all__ = ["pause_rule", "resume_rule", "retry_action", "retry_all"]

WHO = "dashboard"
NAME = "name"  # the form field (and session key) for who is making the change


def _back(request: Request, fallback: str, message: str) -> Response:
    """Back to the page the form was on, with a one-line notice."""
    request.session["notice"] = message
    target = request.headers.get("referer", "")
    base = str(request.base_url)
    path = target[len(base) - 1 :] if target.startswith(base) else fallback
    return RedirectResponse(path or fallback, status_code=303)


def _who(request: Request, form: FormData) -> str:
    """``alice (dashboard)`` when the form says who, else ``dashboard``; the name is kept
    in the session for the next form."""
    given = form.get(NAME)
    name = " ".join(given.split())[:40] if isinstance(given, str) else ""
    if name:
        request.session[NAME] = name
    return f"{name} ({WHO})" if name else WHO


_T = TypeVar("_T")


async def _write(what: str, change: Callable[[], _T]) -> _T:
    """Run one change in the thread pool. A change the operation refuses is a 400 with its
    reason; a database that stays locked is a 503 that says so, never a hung page."""
    try:
        return await run_in_threadpool(change)
    except UsageError as exc:
        raise HTTPException(400, f"could not {what}: {exc}") from exc
    except StoreError as exc:
        raise HTTPException(503, f"could not {what}: {exc}") from exc


async def retry_action(request: Request) -> Response:
    form = await checked_form(request)
    action_id = request.path_params["action_id"]
    site = site_of(request)
    who = _who(request, form)

    def retry() -> bool:
        with site.writing() as store:
            return retry_dead(store, action_id, who=who, now=site.clock())

    done = await _write(f"re-queue {action_id}", retry)
    if not done:
        return _back(request, "/actions", f"{action_id} is not a dead action; nothing to retry")
    return _back(request, "/actions", f"re-queued {action_id}: the engine tries it next cycle")


async def retry_all(request: Request) -> Response:
    """Re-queue every dead action, or with the form's ``rule`` every dead one of that rule
    (``automation actions retry --all [--rule RULE_ID]``), in one transaction."""
    form = await checked_form(request)
    given = form.get("rule")
    rule_id = given if isinstance(given, str) and given else None
    site = site_of(request)
    who = _who(request, form)

    def retry() -> int:
        with site.writing() as store:
            return retry_all_dead(store, who=who, now=site.clock(), rule_id=rule_id)

    of_rule = f" of {rule_id}" if rule_id else ""
    done = await _write(f"re-queue the dead actions{of_rule}", retry)
    if not done:
        return _back(request, "/actions", f"no dead actions{of_rule}; nothing to retry")
    return _back(
        request,
        "/actions",
        f"re-queued {counted(done, 'dead action')}{of_rule}: the engine tries"
        f" {'it' if done == 1 else 'them'} next cycle",
    )


def _rule_id(request: Request) -> str:
    rule_id: str = request.path_params["rule_id"]
    site = site_of(request)
    if rule_id != ALL_RULES and site.rule(rule_id) is None:
        raise HTTPException(404, site.no_rule(rule_id))
    return rule_id


async def pause_rule(request: Request) -> Response:
    form = await checked_form(request)
    rule_id = _rule_id(request)
    site = site_of(request)
    who = _who(request, form)
    raw_for = form.get("for")
    seconds = parse_duration(raw_for) if raw_for else None
    if raw_for and not seconds:
        raise HTTPException(400, f"'for' must be a duration such as 2h, not {raw_for!r}")
    reason = str(form.get("reason") or "")
    target = "every rule" if rule_id == ALL_RULES else rule_id

    def pause() -> bool:
        now = site.clock()
        until = now + timedelta(seconds=seconds) if seconds else None
        known = [r.id for r in site.rules()]
        with site.writing() as store:
            pauses.pause(
                store, rule_id, who=who, now=now, until=until, reason=reason, known_rules=known
            )
        return True

    await _write(f"pause {target}", pause)
    how_long = f" for {format_duration(seconds)}" if seconds else " until someone resumes it"
    return _back(request, "/rules", f"paused {target}{how_long}: it acts on nothing meanwhile")


async def resume_rule(request: Request) -> Response:
    form = await checked_form(request)
    rule_id = _rule_id(request)
    site = site_of(request)
    who = _who(request, form)
    target = "every rule" if rule_id == ALL_RULES else rule_id

    def resume() -> pauses.ResumeResult:
        now = site.clock()
        with site.writing() as store:
            return pauses.resume(store, rule_id, who=who, now=now)

    result = await _write(f"resume {target}", resume)
    if result.still_paused_by is not None:
        return _back(request, "/rules", f"{target} is still held by the pause of every rule")
    if not result.lifted:
        return _back(request, "/rules", f"{target} was not paused")
    return _back(
        request,
        "/rules",
        f"resumed {target}: posts that crossed meanwhile are recorded as seen, not fired",
    )
