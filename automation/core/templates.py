"""Action templates: plain substitution of a fixed set of names, nothing else.

A rule author controls the template text, so it must never reach ``str.format`` (which
allows ``{post.__class__}``, indexing and format specs). A template is parsed once, at
load time, into literal text and known names; rendering only looks names up in a flat
mapping of strings. Nothing a rule author writes can run code or read a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from automation.core.errors import TemplateError
from automation.core.metric_names import all_names, suggest
from automation.core.wording import closest

__all__ = ["FIXED_NAMES", "Template", "known_name", "parse_template", "read_template"]

FIXED_NAMES: frozenset[str] = frozenset(
    {
        "post.id",
        "post.url",
        "post.account",
        "post.created_at",
        "rule.id",
        "rule.description",
        "milestone",
        "fired_at",
    }
)
_METRIC_NAMES = frozenset(f"metrics.{name}" for name in all_names())
_NAME_SHAPE = re.compile(r"^[a-z_]+(\.[a-z_]+)?$")


def known_name(name: str) -> bool:
    return name in FIXED_NAMES or name in _METRIC_NAMES


@dataclass(frozen=True)
class Template:
    """A parsed template: ``parts`` alternates literal text (str) and names (as ``("name",)``)."""

    source: str
    parts: tuple[str | tuple[str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p[0] for p in self.parts if isinstance(p, tuple))

    def render(self, values: Mapping[str, str]) -> str:
        """Substitute names; a name without a value renders as an empty string."""
        out: list[str] = []
        for part in self.parts:
            out.append(values.get(part[0], "") if isinstance(part, tuple) else part)
        return "".join(out)


def parse_template(text: str) -> Template:
    """Parse ``text`` or raise TemplateError with the offset of the first problem."""
    template, problems = read_template(text)
    if template is None:  # only with a problem
        raise problems[0]
    return template


def read_template(text: str) -> tuple[Template | None, tuple[TemplateError, ...]]:
    """Parse ``text``, reporting every unknown or disallowed name, in order; a malformed
    brace ends the reading there (``None`` then, as with any problem)."""
    parts: list[str | tuple[str]] = []
    literal: list[str] = []
    problems: list[TemplateError] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "{}" and text.startswith(ch * 2, i):
            literal.append(ch)
            i += 2
        elif ch == "}":
            problems.append(
                TemplateError("single '}' in template: write '}}' for a literal brace", i)
            )
            break
        elif ch == "{":
            end = text.find("}", i + 1)
            if end < 0:
                problems.append(
                    TemplateError("unclosed '{' in template: close it, or write '{{'", i)
                )
                break
            name = text[i + 1 : end].strip()
            if (problem := _name_problem(name, i)) is not None:
                problems.append(problem)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append((name,))
            i = end + 1
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append("".join(literal))
    return (None, tuple(problems)) if problems else (Template(text, tuple(parts)), ())


def _name_problem(name: str, offset: int) -> TemplateError | None:
    if known_name(name):
        return None
    if any(c in name for c in ":!") or not _NAME_SHAPE.match(name.lower()):
        return TemplateError(
            f"'{{{name}}}' is not allowed: templates substitute plain names only "
            "(no format specs, indexing or attribute access)",
            offset,
        )
    hint = ""
    if name.startswith("metrics."):
        close = suggest(name.removeprefix("metrics."))
        hint = (
            f" (did you mean '{{metrics.{close}}}'?)"
            if close
            else " (after 'metrics.' comes a metric name, e.g. {metrics.likes})"
        )
    elif name.lower() in all_names():  # {likes}: a metric without its 'metrics.'
        hint = f" (did you mean '{{metrics.{name.lower()}}}'?)"
    else:  # {post.URL}, {metric.likes}: the name it is closest to, then every name
        close = closest(name, FIXED_NAMES | _METRIC_NAMES)
        known = ["{" + n + "}" for n in sorted(FIXED_NAMES)]
        guess = f"did you mean '{{{close}}}'? " if close else ""
        hint = (
            f" ({guess}known: {', '.join(known)}, and {{metrics.NAME}} such as {{metrics.likes}})"
        )
    return TemplateError(f"unknown template name '{{{name}}}'{hint}", offset)
