"""The config file's JSON Schema and the one validator built from it."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker

__all__ = ["VALIDATOR", "config_schema"]

_FORMATS = FormatChecker()


@_FORMATS.checks("http-url")
def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def config_schema() -> dict[str, Any]:
    """The config file's JSON Schema (Draft 2020-12)."""
    text = resources.files("automation.config").joinpath("config_schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


VALIDATOR = Draft202012Validator(config_schema(), format_checker=_FORMATS)
