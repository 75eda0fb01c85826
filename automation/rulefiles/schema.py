"""The rule files' JSON Schema, and its errors reworded for the people who write rules.

The schema (``rule_schema.json``) serves two readers: editors, which complete and check rule
files with it, and ``check``, which validates with it first. jsonschema's own wording
("Additional properties are not allowed ('whn' was unexpected)") is rewritten here into
what a marketer can act on, at the exact key or value. Checks the schema cannot express
(condition text, templates, names from the config) are the rule parser's; subschemas
marked ``"x-semantic": true`` are left to it, so no mistake is reported twice.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from automation.core.durations import DURATION_PATTERN, duration_hint
from automation.core.metric_names import suggest
from automation.core.wording import closest
from automation.rulefiles.condition_text import number_hint, read_exponents
from automation.rulefiles.problems import Reporter

__all__ = ["describe_value", "failed_value", "keyword_value", "schema", "schema_text", "validate"]

_TYPE_WORDS = {
    "object": "a mapping (key: value lines)",
    "array": "a list",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "nothing",
}
_REQUIRED_HINTS = {
    "version": " (write 'version: 1' at the top)",
    "rules": " (the list of rules)",
    "id": " (a unique name such as repost-at-100-likes)",
    "watch": " (which posts to look at, e.g. watch: {accounts: [brand]})",
    "actions": " (what to do, e.g. actions: [{log: {message: '{post.url}'}}])",
    "when": " (a condition such as 'likes >= 100'; it may be left out only with "
    "fire: {every: N, metric: M})",
    "metric": " (which metric, e.g. likes)",
    "as": " (which owned account acts)",
}


@cache
def _loaded() -> dict[str, Any]:
    text = resources.files("automation.rulefiles").joinpath("rule_schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def keyword_value(error: ValidationError) -> Any:
    """The schema's value for the keyword that failed (JSON). jsonschema sets it on every
    error it reports; its type leaves room for errors built by hand without one."""
    return error.validator_value


def failed_value(error: ValidationError) -> Any:
    """The value that failed validation (JSON); set on every error jsonschema reports."""
    return error.instance


def schema() -> dict[str, Any]:
    """The JSON Schema of rule files (a copy; change it freely)."""
    return copy.deepcopy(_loaded())


def schema_text() -> str:
    """The schema as pretty JSON, for ``automation schema``."""
    return json.dumps(_loaded(), indent=2) + "\n"


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_loaded())


def validate(data: Any, reporter: Reporter) -> None:
    """Report every schema violation of ``data`` (the document ``reporter`` reads) through
    ``reporter``, once its comparisons' plain exponent numbers are numbers (``1e5``)."""
    read_exponents(data, reporter.doc.style)
    for error in _validator().iter_errors(data):
        _explain(error, reporter)


def describe_value(value: Any) -> str:
    """A value as the author wrote it, for "got ..." in messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        short = value if len(value) <= 40 else value[:37] + "..."
        return f"'{short}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _explain(error: ValidationError, rep: Reporter) -> None:
    sub = error.schema if isinstance(error.schema, dict) else {}
    if sub.get("x-semantic"):
        return
    path = list(error.absolute_path)
    handler = _HANDLERS.get(str(error.validator), _fallback)
    handler(error, sub, path, rep)


def _name(path: list[Any]) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return "value"


def _title(sub: dict[str, Any]) -> str:
    return str(sub.get("title", "this mapping"))


def _additional(
    error: ValidationError, sub: dict[str, Any], path: list[Any], rep: Reporter
) -> None:
    known = list(sub.get("properties", {}))
    if not isinstance(error.instance, dict):
        return
    for key in error.instance:
        if key in known:
            continue
        close = closest(str(key), known)
        if close:
            hint = f" (did you mean '{close}'?)"
        else:
            hint = f" (known: {', '.join(known)})" if len(known) <= 10 else ""
        rep.error([*path, key], f"unknown key '{key}' in {_title(sub)}{hint}", key=True)


def _required(error: ValidationError, sub: dict[str, Any], path: list[Any], rep: Reporter) -> None:
    if not isinstance(error.instance, dict):
        return
    title = _title(sub)
    known = sub.get("properties", {})
    written = [str(k) for k in error.instance if k not in known]
    for key in keyword_value(error):
        if key not in error.instance and closest(key, written) is None:
            # a misspelt key is reported as unknown, with "did you mean" this one
            hint = _REQUIRED_HINTS.get(key, "")
            rep.error(path, f"missing '{key}' in {title}{hint}", slot=f"missing {key}")


def _type(error: ValidationError, sub: dict[str, Any], path: list[Any], rep: Reporter) -> None:
    value = error.instance
    if sub.get("x-kind") == "post_id" and isinstance(value, int | float):
        shown = value if isinstance(value, int) else f"{value:.0f}"
        rep.error(
            path,
            f'quote post IDs: write "{shown}" (IDs above 2^53 break in JSON tools, '
            "so unquoted numbers are not accepted)",
        )
        return
    if sub.get("x-kind") == "clock_time" and isinstance(value, int) and not isinstance(value, bool):
        shown = f"{value // 60:02d}:{value % 60:02d}"  # YAML read 22:00 as 22 * 60 + 0
        rep.error(
            path, f'quote times of day: write "{shown}" (unquoted, YAML reads it as a number)'
        )
        return
    rep.error(path, _expected(sub, path, value))


def _expected(sub: dict[str, Any], path: list[Any], value: Any) -> str:
    got = describe_value(value)
    if "x-expected" in sub:
        # a duration, or a choice with one (a timeout: a number or a duration)
        branches = [sub, *sub.get("anyOf", [])]
        wants_duration = any(b.get("pattern") == DURATION_PATTERN for b in branches)
        hint = duration_hint(value, likely="s" if "anyOf" in sub else "m") if wants_duration else ""
        return f"expected {sub['x-expected']}, got {got}{hint}"
    types = sub.get("type", [])
    # a value left empty is never what failed where nothing is allowed: name the others
    types = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in types) or "something else"
    where = f" for '{path[-1]}'" if path and isinstance(path[-1], str) else ""
    numeric = {"number", "integer"} & set(types) and isinstance(value, str)
    hint = number_hint(value) if numeric else ""
    return f"expected {wanted}{where}, got {got}{hint}"


def _pattern(error: ValidationError, sub: dict[str, Any], path: list[Any], rep: Reporter) -> None:
    if "x-expected" in sub:
        rep.error(path, _expected(sub, path, error.instance))
    else:  # pragma: no cover - every pattern in the schema says what it expects
        rep.error(path, f"{describe_value(error.instance)} is not valid for '{_name(path)}'")


def _enum(error: ValidationError, sub: dict[str, Any], path: list[Any], rep: Reporter) -> None:
    value = error.instance
    if sub.get("title") == "metric":
        close = suggest(value) if isinstance(value, str) else None
        hint = f" (did you mean '{close}'?)" if close else " (run 'automation schema' for the list)"
        if not isinstance(value, str):
            rep.error(path, f"expected a metric name, got {describe_value(value)}")
            return
        rep.error(path, f"unknown metric '{value}'{hint}")
        return
    options = ", ".join(str(v) for v in keyword_value(error))
    rep.error(path, f"expected one of {options} for '{_name(path)}', got {describe_value(value)}")


def _const(error: ValidationError, sub: dict[str, Any], path: list[Any], rep: Reporter) -> None:
    wanted = error.validator_value
    literal = json.dumps(wanted)
    if path == ["version"]:
        shown = describe_value(error.instance)
        rep.error(
            path, f"this file format is version {literal}: write 'version: {literal}', not {shown}"
        )
        return
    rep.error(path, f"'{_name(path)}' must be {literal}, got {describe_value(error.instance)}")


def _limits(error: ValidationError, sub: dict[str, Any], path: list[Any], rep: Reporter) -> None:
    name, bound = _name(path), error.validator_value
    words = {
        "minimum": f"at least {bound}",
        "maximum": f"at most {bound}",
        "exclusiveMinimum": f"more than {bound}",
        "exclusiveMaximum": f"less than {bound}",
    }
    shown = describe_value(error.instance)
    rep.error(path, f"'{name}' must be {words[str(error.validator)]}, got {shown}")


def _sizes(error: ValidationError, sub: dict[str, Any], path: list[Any], rep: Reporter) -> None:
    kind = str(error.validator)
    title = _title(sub)
    if title == "action" and kind == "maxProperties":
        rep.error(path, "one action per list item: start each action with '- '")
    elif title == "action":
        rep.error(path, "empty action: write e.g. '- log: {message: \"{post.url}\"}'")
    elif path and path[-1] == "actions":
        rep.error(path, "a rule needs at least one action")
    elif kind == "minLength":
        rep.error(path, f"'{_name(path)}' must not be empty")
    else:
        rep.error(path, f"'{_name(path)}' must not be empty: list at least one condition")


def _dependent(error: ValidationError, sub: dict[str, Any], path: list[Any], rep: Reporter) -> None:
    instance = failed_value(error)
    for key, needs in keyword_value(error).items():
        if key in instance and not all(n in instance for n in needs):
            rep.error(
                [*path, key],
                f"'{key}' names the owned account that wrote '{needs[0]}': "
                f"add {needs[0]}, or remove {key}",
                key=True,
            )


def _choice(error: ValidationError, sub: dict[str, Any], path: list[Any], rep: Reporter) -> None:
    """anyOf/oneOf: explain the branch the author most likely meant, not all of them."""
    branches: dict[int, list[ValidationError]] = defaultdict(list)
    for sub_error in error.context or ():
        branches[int(sub_error.relative_schema_path[0])].append(sub_error)
    options = keyword_value(error)
    keys = [b["required"][0] for b in options if set(b) == {"required"}]
    if len(keys) == len(options):
        _choice_of_keys(error, sub, path, rep, keys)
        return
    fitting = [
        (sum(1 for e in errs if not e.relative_path), len(errs), index)
        for index, errs in branches.items()
        if not any(not e.relative_path and e.validator in ("type", "const") for e in errs)
    ]
    if not fitting or len(branches) < len(options):
        rep.error(path, _expected(sub, path, error.instance))
        return
    best = min(fitting)[2]
    for sub_error in branches[best]:
        _explain(sub_error, rep)


def _choice_of_keys(
    error: ValidationError, sub: dict[str, Any], path: list[Any], rep: Reporter, keys: list[str]
) -> None:
    instance = error.instance if isinstance(error.instance, dict) else {}
    present = [k for k in keys if k in instance]
    title = _title(sub)
    if len(present) > 1:
        rep.error(
            [*path, present[1]],
            f"one {title} compares once: use only one of {', '.join(present)} "
            "(combine comparisons with all:)",
            key=True,
        )
    elif title == "watch":
        rep.error(path, "watch needs 'accounts' or 'posts' (or both)", slot="choice")
    else:
        rep.error(path, f"{title} needs one of: {', '.join(keys)}", slot="choice")


def _fallback(error: ValidationError, sub: dict[str, Any], path: list[Any], rep: Reporter) -> None:
    rep.error(path, f"'{_name(path)}': {error.message}")


_HANDLERS = {
    "additionalProperties": _additional,
    "required": _required,
    "type": _type,
    "pattern": _pattern,
    "enum": _enum,
    "const": _const,
    "minimum": _limits,
    "maximum": _limits,
    "exclusiveMinimum": _limits,
    "exclusiveMaximum": _limits,
    "minItems": _sizes,
    "minProperties": _sizes,
    "maxProperties": _sizes,
    "minLength": _sizes,
    "dependentRequired": _dependent,
    "anyOf": _choice,
    "oneOf": _choice,
}
