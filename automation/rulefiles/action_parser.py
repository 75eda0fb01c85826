"""Actions of a rule, from YAML data to frozen Action values.

The schema has already checked the shape of each action, so a value of the wrong type is
skipped here without a second message; this module checks what the schema cannot: the
templates inside every string, header names, and (with a config) account and secret names.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from automation.core.destinations import HostPolicy
from automation.core.durations import format_duration, parse_duration
from automation.core.rules import (
    Action,
    JsonObject,
    LikeAction,
    LogAction,
    QuoteAction,
    ReplyAction,
    RepostAction,
    WebhookAction,
)
from automation.core.templates import Template, read_template
from automation.core.wording import closest
from automation.rulefiles.condition_text import check_threshold
from automation.rulefiles.problems import Reporter
from automation.rulefiles.yaml_loader import PathPart

__all__ = ["Names", "parse_actions", "unknown_name"]

Path = list[PathPart]
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
MAX_WEBHOOK_TIMEOUT = 300  # seconds; the schema says the same of numbers
MIN_DIGEST, MAX_DIGEST = 60, 86400  # a digest's window, in seconds
_DIGEST_NAMES = frozenset({"rule.id", "rule.description"})


class Names:
    """Account and webhook-secret names a config offers, and where its webhooks may go;
    None when there is no config."""

    def __init__(
        self,
        accounts: Sequence[str] | None = None,
        secrets: Sequence[str] | None = None,
        *,
        hosts: HostPolicy | None = None,
    ) -> None:
        self.accounts = None if accounts is None else tuple(sorted(accounts))
        self.secrets = None if secrets is None else tuple(sorted(secrets))
        self.hosts = hosts


def unknown_name(kind: str, name: str, known: Sequence[str]) -> str:
    """ "unknown account 'brnd' (did you mean 'brand'?)", listing the choices otherwise."""
    close = closest(name, known)
    if close:
        return f"unknown {kind} '{name}' (did you mean '{close}'?)"
    if not known:
        return f"unknown {kind} '{name}' (the config defines none)"
    return f"unknown {kind} '{name}' (the config has: {', '.join(known)})"


def check_account(rep: Reporter, path: Path, value: Any, names: Names) -> str | None:
    """The account name at ``path``, reporting it when the config does not know it."""
    if not isinstance(value, str) or not value:
        return None
    if names.accounts is not None and value not in names.accounts:
        rep.error(path, unknown_name("account", value, names.accounts))
    return value


def template(rep: Reporter, path: Path, value: Any) -> Template | None:
    """Parse the template at ``path``; a bad one is reported at its exact character."""
    if not isinstance(value, str):
        return None
    parsed, problems = read_template(value)
    for index, problem in enumerate(problems):  # every unknown name, each in its own slot
        slot = f"template {index}" if index else ""
        rep.error(path, str(problem), offset=problem.offset, slot=slot)
    return parsed


def parse_actions(rep: Reporter, path: Path, raw: Any, names: Names) -> tuple[Action, ...]:
    if not isinstance(raw, list):
        return ()
    actions: list[Action] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        ((kind, body),) = item.items()
        parser = _PARSERS.get(kind)
        if parser is None or not isinstance(body, dict):
            continue
        action = parser(rep, [*path, index, kind], body, names)
        if action is not None:
            actions.append(action)
    return tuple(actions)


def _repost(rep: Reporter, path: Path, body: dict[str, Any], names: Names) -> Action | None:
    account = check_account(rep, [*path, "as"], body.get("as"), names)
    return RepostAction(account) if account else None


def _like(rep: Reporter, path: Path, body: dict[str, Any], names: Names) -> Action | None:
    account = check_account(rep, [*path, "as"], body.get("as"), names)
    return LikeAction(account) if account else None


def _reply(rep: Reporter, path: Path, body: dict[str, Any], names: Names) -> Action | None:
    account = check_account(rep, [*path, "as"], body.get("as"), names)
    text = template(rep, [*path, "text"], body.get("text"))
    return ReplyAction(account, text) if account and text else None


def _quote(rep: Reporter, path: Path, body: dict[str, Any], names: Names) -> Action | None:
    account = check_account(rep, [*path, "as"], body.get("as"), names)
    text = template(rep, [*path, "text"], body.get("text"))
    return QuoteAction(account, text) if account and text else None


def _log(rep: Reporter, path: Path, body: dict[str, Any], names: Names) -> Action | None:
    message = template(rep, [*path, "message"], body.get("message"))
    return LogAction(message) if message else None


def _webhook(rep: Reporter, path: Path, body: dict[str, Any], names: Names) -> Action | None:
    url = template(rep, [*path, "url"], body.get("url"))
    if url is not None:
        _warn_in_clear(rep, [*path, "url"], body["url"])
        if names.hosts is not None:
            _check_host(rep, [*path, "url"], url, names.hosts)
    payload = _json_value(rep, [*path, "body"], body.get("body"))
    headers = _headers(rep, [*path, "headers"], body.get("headers"))
    secret = body.get("secret")
    if isinstance(secret, str) and names.secrets is not None and secret not in names.secrets:
        rep.error([*path, "secret"], unknown_name("webhook secret", secret, names.secrets))
    timeout = _timeout(rep, [*path, "timeout"], body.get("timeout", WebhookAction.timeout))
    digest = _digest(rep, path, body, url, headers)
    if url is None or timeout is None or digest is False:
        return None
    return WebhookAction(
        url=url,
        body=payload,
        headers=headers,
        secret=secret if isinstance(secret, str) else None,
        timeout=timeout,
        digest=digest,
        quiet=body.get("quiet", True) is not False,
    )


def _digest(
    rep: Reporter,
    path: Path,
    body: dict[str, Any],
    url: Template | None,
    headers: tuple[tuple[str, Template], ...],
) -> int | Literal[False] | None:
    """A digest's window in seconds; None without one, False when it is wrong (reported).

    One digest request stands for many firings, so its url and headers can name the rule
    but nothing of one firing."""
    if "digest" not in body:
        return None
    seconds = parse_duration(body["digest"])
    if seconds is None:
        return False  # the schema said what a duration looks like
    if not MIN_DIGEST <= seconds <= MAX_DIGEST:
        rep.error(
            [*path, "digest"],
            f"'digest' must be from {format_duration(MIN_DIGEST)} to "
            f"{format_duration(MAX_DIGEST)}, got {body['digest']}",
        )
        return False
    wrong = False
    fields = [("url", url), *((f"headers.{n}", t) for n, t in headers)]
    for where, text in fields:
        personal = [n for n in (text.names if text else ()) if n not in _DIGEST_NAMES]
        if personal:
            at = [*path, "url"] if where == "url" else [*path, "headers", where[8:]]
            source = text.source if text else ""
            rep.error(
                at,
                f"a digest sends one request for many firings, so its {where} cannot use "
                f"{{{personal[0]}}}: only {{rule.id}} and {{rule.description}} (put what "
                "each firing says in the body)",
                offset=max(0, source.find("{" + personal[0])),
            )
            wrong = True
    return False if wrong else seconds


def _warn_in_clear(rep: Reporter, path: Path, url: str) -> None:
    """A webhook over plain http:// to another machine can be read and replayed on the way."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or _is_loopback(parts.hostname or ""):
        return
    rep.warning(
        path,
        "webhook url uses http://: its body and signature travel in clear, so anyone on the "
        "way can read them and replay the request; use https://",
    )


def _check_host(rep: Reporter, path: Path, url: Template, hosts: HostPolicy) -> None:
    """The config's webhooks.allow_hosts, and no address inside the network unless listed.
    A host made by a template is known only when sent, and checked then."""
    try:
        parts = urlsplit(url.source)
        host = parts.hostname or ""
    except ValueError:
        return
    if "{" in parts.netloc:
        rep.warning(
            path,
            "the webhook's host comes from a template, so webhooks.allow_hosts can only "
            "be checked when it is sent: write the host itself",
        )
        return
    problem = hosts.name_problem(host) if host else None
    if problem:
        rep.error(
            path,
            f"webhook refused: {problem}; add the host to webhooks.allow_hosts in the config "
            "if it is meant",
            offset=max(0, url.source.lower().find(host)),
            slot="host",
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _timeout(rep: Reporter, path: Path, raw: Any) -> float | None:
    """A webhook's timeout in seconds: a duration like every other in a rule file, or a
    bare number of seconds. A value of the wrong form is the schema's to report."""
    if isinstance(raw, str):
        seconds = parse_duration(raw)
        if seconds is None:
            return None
        if seconds == 0:
            rep.error(path, "'timeout' must be longer than 0s")
            return None
        if seconds > MAX_WEBHOOK_TIMEOUT:
            limit = format_duration(MAX_WEBHOOK_TIMEOUT)
            rep.error(path, f"'timeout' must be at most {limit}, got {raw}")
            return None
        return float(seconds)
    problem = check_threshold(raw)
    if problem:
        rep.error(path, problem)
    if problem or isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return float(raw) if 0 < raw <= MAX_WEBHOOK_TIMEOUT else None


def _headers(rep: Reporter, path: Path, raw: Any) -> tuple[tuple[str, Template], ...]:
    if not isinstance(raw, dict):
        return ()
    pairs: list[tuple[str, Template]] = []
    for name, value in raw.items():
        if not _HEADER_NAME.match(name):
            rep.error([*path, name], f"'{name}' is not a valid HTTP header name", key=True)
            continue
        if isinstance(value, str) and ("\n" in value or "\r" in value):
            rep.error([*path, name], "a header value must be a single line")
            continue
        parsed = template(rep, [*path, name], value)
        if parsed is not None:
            pairs.append((name, parsed))
    return tuple(pairs)


def _json_value(rep: Reporter, path: Path, value: Any) -> Any:
    """An immutable JSON value whose strings are Templates and objects JsonObject."""
    if isinstance(value, str):
        return template(rep, path, value)
    if isinstance(value, dict):
        return JsonObject(
            tuple((key, _json_value(rep, [*path, key], item)) for key, item in value.items())
        )
    if isinstance(value, list):
        return tuple(_json_value(rep, [*path, i], item) for i, item in enumerate(value))
    problem = check_threshold(value)
    if problem:
        rep.error(path, problem)
    return value


_PARSERS = {
    "repost": _repost,
    "like": _like,
    "reply": _reply,
    "quote": _quote,
    "webhook": _webhook,
    "log": _log,
}
