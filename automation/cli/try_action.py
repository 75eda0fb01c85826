"""``automation try-action``: render one action of a rule with a real post and try it now."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from automation.cli.args import check_post_id, positive
from automation.cli.context import now, require_stdout, required_config
from automation.core.errors import ActionFailed, AutomationError, UsageError
from automation.core.wording import no_rule

__all__ = ["register", "run"]

_ANSWER_LINES = 10


def register(sub: Any) -> None:
    p = sub.add_parser(
        "try-action",
        help="render one action with a real post and send a webhook now",
        description="Render an action of a rule for a watched post (or a sample) and, for a "
        "webhook, send it now. Post actions are shown, and performed only with --really. "
        "Nothing is recorded.",
    )
    p.add_argument("rule_id", metavar="RULE_ID")
    p.add_argument("--action", type=positive, default=1, metavar="N", help="which (default 1)")
    p.add_argument("--post", metavar="ID", help="the post to render with (default: newest)")
    p.add_argument("--really", action="store_true", help="perform a post action for real")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.engine import trial
    from automation.rulefiles.rule_parser import load_rules

    config = required_config(args, secrets="required")
    ruleset = load_rules(list(config.rules), names=config.rule_names())
    rule = next((r for r in ruleset.rules if r.id == args.rule_id), None)
    if rule is None:
        raise UsageError(no_rule(args.rule_id, (r.id for r in ruleset.rules)))
    if args.post is not None:
        check_post_id(args.post, "--post")
    moment = now()
    posts, totals = _stored_posts(config, args.post)
    post, sample = trial.trial_post(rule, args.post, posts, totals)
    attempt = trial.render(rule, args.action, post, sample=sample, now=moment)
    kind = attempt.action.kind
    if kind == "log" or (kind != "webhook" and not args.really):
        require_stdout("try-action")  # it only shows: that is its product
    print(f"rule {rule.id}, action {args.action} of {len(rule.actions)}: {kind}")
    note = " (a sample: no values are recorded for it)" if sample else ""
    print(f"post {post.post_id} ({post.url}){note}")
    if kind == "webhook":
        return _webhook(attempt, config)
    if kind == "log":
        print(f"would log: {attempt.action.payload['message']}")
        return 0
    return _post_action(attempt, config, really=args.really)


def _stored_posts(config: Any, post_id: str | None) -> tuple[list[Any], dict[str, Any]]:
    """Watched posts and their latest values, when the engine has a database yet."""
    from automation.store.opening import open_store

    if isinstance(config.database, Path) and not config.database.exists():
        return [], {}
    with open_store(config.database, migrate=config.migrate) as store:
        posts = store.posts()
        ids = [post_id] if post_id else [p.post_id for p in posts[-200:]]
        return posts, store.latest_totals(ids)


def _webhook(attempt: Any, config: Any) -> int:
    """Send the webhook as the outbox would (same allowlist, secret and redirect_to), and
    show the request and the answer, or why it failed."""
    from automation.engine import trial
    from automation.engine.webhook import origin, redact_request
    from automation.engine.webhook_delivery import WebhookSender
    from automation.x.http import HttpClient

    payload = trial.webhook_payload(attempt)
    print(f"POST {origin(str(payload['url']))}/…")
    with HttpClient(timeout=10.0) as http:
        sender = WebhookSender(config, http)
        try:
            request = sender.request(attempt.key, payload)
            _show_request(request, payload)
            response, _ = sender.send(payload, request)
        except ActionFailed as exc:
            print(f"failed: {exc}")
            return 1
    print(f"< {response.status}")
    hide = redact_request(request)
    lines = hide(response.body.decode("utf-8", "replace")).splitlines()
    for line in lines[:_ANSWER_LINES]:
        print(f"< {line[:200]}")
    if len(lines) > _ANSWER_LINES:
        print(f"< … ({len(lines) - _ANSWER_LINES} more lines)")
    return 0


def _show_request(request: Any, payload: Any) -> None:
    """The headers and body as sent; the signature's MAC and credential headers' values
    (``Authorization: Bearer ...``) are not shown."""
    from automation.engine.webhook import SIGNATURE_HEADER, redact_request

    hide = redact_request(request)
    for name, value in request.headers.items():
        if name == SIGNATURE_HEADER:
            stamp = value.partition(",")[0]
            value = f"{stamp},v1=… (HMAC-SHA256 of the body with secret {payload.get('secret')!r})"
        print(f"> {name}: {hide(value)}")
    print(f"> {request.body.decode('utf-8', 'replace')}")


def _post_action(attempt: Any, config: Any, *, really: bool) -> int:
    payload = attempt.action.payload
    what = f"{attempt.action.kind} post {payload['post_id']} as {payload['as']}"
    if payload.get("text"):
        what += f": {payload['text']}"
    if not really:
        print(f"would {what}")
        print("not sent: add --really to perform it on X now")
        return 0
    from automation.engine.performers import make_performers
    from automation.x.http import HttpClient
    from automation.x.v2_client import XClient

    with HttpClient(timeout=min(config.x_api.timeout, 10.0)) as http:
        x_client = XClient.configured(config, http, clock=now)
        performers = make_performers(config, x_client, http)
        action = attempt.action
        try:
            detail = performers.x_write(action.kind, action.account, action.post_id, action.text)
        except AutomationError as exc:
            print(f"failed: {exc}")
            return 1
    print(f"{what}: {detail}")
    return 0
