"""The config's optional sections and durations as their frozen settings, from the
validated YAML mapping (the schema has checked their shapes already)."""

from __future__ import annotations

from typing import Any

from authlib.common.security import is_secure_transport

from automation.config.model import AlertSettings, ApiSettings, MetricsSettings, WebhookSettings
from automation.core.durations import parse_duration

__all__ = [
    "alert_settings",
    "api_settings",
    "metrics_settings",
    "plain_http_problem",
    "seconds",
    "webhook_settings",
]

_PLAIN_HTTP = (
    "the X APIs are HTTPS only and plain http:// goes only to this machine (localhost or a"
    " loopback address): write {instead} instead"
)


def seconds(value: str | None, default: int) -> int:
    """A duration such as ``5m`` in seconds, ``default`` when it is not given."""
    found = parse_duration(value) if value is not None else None
    return default if found is None else found


def metrics_settings(section: dict[str, Any] | None) -> MetricsSettings | None:
    if section is None:
        return None
    host, _, port = section["listen"].rpartition(":")
    return MetricsSettings(host=host.removeprefix("[").removesuffix("]"), port=int(port))


def alert_settings(section: dict[str, Any] | None) -> AlertSettings | None:
    if section is None:
        return None
    return AlertSettings(
        webhook=section["webhook"],
        secret=section.get("secret"),
        after=section.get("after", AlertSettings.after),
    )


def webhook_settings(section: dict[str, Any]) -> WebhookSettings:
    return WebhookSettings(
        redirect_to=section.get("redirect_to"),
        allow_hosts=tuple(section.get("allow_hosts") or ()),
    )


def api_settings(section: dict[str, Any]) -> ApiSettings:
    timeout = section.get("timeout", ApiSettings.timeout)
    if isinstance(timeout, str):
        timeout = seconds(timeout, int(ApiSettings.timeout))
    return ApiSettings(
        base_url=section["base_url"].rstrip("/"),
        requests_per_minute=section.get("requests_per_minute", ApiSettings.requests_per_minute),
        timeout=float(timeout),
    )


def plain_http_problem(base_url: str, source: str | None) -> str | None:
    """Why an API base cannot be used, or None: plain http:// to another machine.

    Reference §1.1: "It is HTTPS only." The rule is Authlib's, the one the clients apply
    to each request (http:// only to localhost or a loopback address, where the sandbox
    runs). ``source`` names the variables the value came from, which is then not quoted.
    """
    if is_secure_transport(base_url):
        return None
    if source is not None:
        return _PLAIN_HTTP.format(instead="an https:// URL") + f" (in {source})"
    return _PLAIN_HTTP.format(instead="https://" + base_url.partition("://")[2])
