"""The JSON Schema of rule test files, and its findings in words for people.

The schema (``rule_test_schema.json``, also for editors) checks the shape of a test file;
a raw jsonschema message would speak of validators, so each finding is retold with the
key or value it concerns and a hint at what to write instead.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from automation.core.wording import closest
from automation.rule_tests.scope import PathList
from automation.rulefiles.problems import Reporter
from automation.rulefiles.schema import describe_value, keyword_value

__all__ = ["schema", "validate"]

_REQUIRED_HINTS = {
    "version": " (write 'version: 1' at the top)",
    "rules": " (the rule files under test, relative to this file)",
    "tests": " (the list of tests)",
    "name": " (a short sentence saying what the test proves)",
    "posts": ' (the scripted posts, e.g. - {id: "1001", account: brand, likes: 80+5x6})',
    "id": ' (the post ID in quotes, e.g. "1001")',
    "after_poll": " (the poll after which this step happens)",
    "rule": " (the id of the rule to edit)",
}


@cache
def _schema() -> dict[str, Any]:
    text = (
        resources.files("automation.rule_tests")
        .joinpath("rule_test_schema.json")
        .read_text("utf-8")
    )
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def schema() -> dict[str, Any]:
    """The JSON Schema of rule test files (a copy), for editors and documentation."""
    return copy.deepcopy(_schema())


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_schema())


def validate(data: Any, rep: Reporter) -> None:
    """Report every schema finding; ``x-semantic`` ones are left to the loader's own checks."""
    for error in _validator().iter_errors(data):
        sub = error.schema if isinstance(error.schema, dict) else {}
        if not sub.get("x-semantic"):
            _explain(error, sub, list(error.absolute_path), rep)


def _explain(error: ValidationError, sub: dict[str, Any], path: PathList, rep: Reporter) -> None:
    value, title = error.instance, str(sub.get("title", "this mapping"))
    if error.validator == "additionalProperties" and isinstance(value, dict):
        known = list(sub.get("properties", {}))
        for key in (k for k in value if k not in known):
            close = closest(str(key), known)
            if close:
                hint = f" (did you mean '{close}'?)"
            elif title == "post":
                hint = " (a post has id, account, created and metric names such as likes)"
            else:
                hint = f" (known: {', '.join(known)})"
            rep.error([*path, key], f"unknown key '{key}' in {title}{hint}", key=True)
    elif error.validator == "required" and isinstance(value, dict):
        for key in (k for k in keyword_value(error) if k not in value):
            hint = _REQUIRED_HINTS.get(key, "")
            rep.error(path, f"missing '{key}' in {title}{hint}", slot=f"missing {key}")
    elif sub.get("x-kind") == "post_id" and isinstance(value, int) and not isinstance(value, bool):
        rep.error(path, f'quote post IDs: write "{value}"')
    else:
        expected = sub.get("x-expected") or error.message
        rep.error(path, f"expected {expected}, got {describe_value(value)}")
