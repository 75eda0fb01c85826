"""The strict YAML loader shared by rule files and the config file.

PyYAML on its own accepts duplicate keys (last one wins), turns ``2026-01-01`` into a date,
recurses without limit and expands aliases without limit. Marketers edit these files by
hand, so every one of those is turned into a precise ``file:line:col`` problem instead.

The node tree is composed once and kept, so that later stages (schema validation, rule
parsing) can point at the exact key or value behind any problem they find.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
import yaml.parser
import yaml.reader
import yaml.scanner
from yaml.composer import Composer, ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent, Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import ParserError
from yaml.resolver import Resolver
from yaml.scanner import ScannerError

from automation.core.errors import Problem, RuleError

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_NODES",
    "YAML_SUFFIXES",
    "YamlDocument",
    "load_document",
    "parse_document",
]

MAX_DEPTH = 64  # nesting, counted after aliases are expanded
MAX_NODES = 200_000  # values, counted after aliases are expanded
MAX_ALIASES = 1_000
# what a file must end in for a directory listing to count it as YAML (rules, rule tests)
YAML_SUFFIXES = (".yaml", ".yml")

_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_STR_TAG = "tag:yaml.org,2002:str"
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{kind}" for kind in ("str", "int", "float", "bool", "null", "map", "seq")
)

PathPart = str | int


class _LimitExceeded(ComposerError):
    """Raised while composing, so it carries a mark like any other YAML error."""


class _Composer(Composer):
    """PyYAML's composer with a depth limit and an alias limit.

    libyaml's own composer recurses in C without any limit (deep nesting crashes the
    process), so only its scanner and parser are used; composing happens here.
    """

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._aliases = 0

    if TYPE_CHECKING:  # the parser this is mixed with supplies the events

        def peek_event(self) -> Event: ...

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _LimitExceeded(
                    None,
                    None,
                    f"too many aliases (at most {MAX_ALIASES})",
                    event.start_mark,  # type: ignore[arg-type]  # a libyaml Mark, which the stubs leave out
                )
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _LimitExceeded(
                None,
                None,
                f"nested more than {MAX_DEPTH} levels deep",
                event.start_mark,  # type: ignore[arg-type]  # a libyaml Mark, which the stubs leave out
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _StrictConstructor(SafeConstructor):
    """Refuses duplicate keys (merge keys still work) and makes every mapping key a string."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node.tag not in _PLAIN_TAGS:
            raise ConstructorError(
                None,
                None,
                f"unknown tag {node.tag.replace('tag:yaml.org,2002:', '!!')}: only plain "
                "text, numbers, true/false, lists and mappings are allowed",
                node.start_mark,
            )
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # a bad explicit tag such as ``!!float abc``
            raise ConstructorError(
                None,
                None,
                _unreadable(node, exc),
                node.start_mark,
            ) from None

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[str, Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                if not isinstance(key_node, ScalarNode):
                    raise ConstructorError(
                        None,
                        None,
                        "a key must be plain text, not a list or mapping",
                        key_node.start_mark,
                    )
                first = seen.get(key_node.value)
                if first is not None:
                    raise ConstructorError(
                        None,
                        None,
                        f"duplicate key '{key_node.value}' (first written at line "
                        f"{first.start_mark.line + 1}); remove one of them",
                        key_node.start_mark,
                    )
                seen[key_node.value] = key_node
        return super().construct_mapping(node, deep=deep)

    def flatten_mapping(self, node: MappingNode) -> None:
        """After merging, make every key a string: ``yes:``, ``1:`` and ``null:`` keys mean
        the words written, as in JSON, not a boolean, number or nothing."""
        super().flatten_mapping(node)
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode):
                key_node.tag = _STR_TAG


def _unreadable(node: Node, exc: Exception) -> str:
    kind = node.tag.rsplit(":", 1)[-1]
    if kind == "int" and "digits" in str(exc):
        return "this number has too many digits to be read"
    return f"cannot read this value as {kind}: {exc}"


class _Resolver(Resolver):
    """Dates and times stay strings: the rule language has no date type."""


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}

if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _Loader(_Composer, CParser, _StrictConstructor, _Resolver):
        name: str  # set by parse_document; only the pure-Python Reader below puts it in marks

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Composer.__init__(self)
            _StrictConstructor.__init__(self)
            _Resolver.__init__(self)

else:  # pragma: no cover - libyaml is present wherever PyYAML ships wheels

    class _Loader(  # type: ignore[no-redef]  # the same loader, parsing in Python
        yaml.reader.Reader,
        yaml.scanner.Scanner,
        yaml.parser.Parser,
        _Composer,
        _StrictConstructor,
        _Resolver,
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            _Composer.__init__(self)
            _StrictConstructor.__init__(self)
            _Resolver.__init__(self)


@dataclass(frozen=True)
class YamlDocument:
    """Plain data plus the node tree it came from, to find where any value was written."""

    data: Any
    name: str
    root: Node | None = field(default=None, repr=False, compare=False)

    def node(self, path: Sequence[PathPart], *, key: bool = False) -> Node | None:
        """The node at ``path`` (or its key node), else the deepest node that exists."""
        if self.root is None:
            return None
        node: Node = self.root
        key_node: Node | None = None
        for part in path:
            found = _child(node, part)
            if found is None:
                return node
            key_node, node = found
        return key_node if key and key_node is not None else node

    def position(self, path: Sequence[PathPart], *, key: bool = False) -> tuple[int, int]:
        """1-based line and column of the value at ``path`` (its key with ``key=True``)."""
        node = self.node(path, key=key)
        if node is None:
            return (1, 1)
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def exists(self, path: Sequence[PathPart]) -> bool:
        node: Node | None = self.root
        for part in path:
            found = _child(node, part) if node is not None else None
            if found is None:
                return False
            node = found[1]
        return node is not None

    def style(self, path: Sequence[PathPart]) -> str | None:
        """The scalar style at ``path``: None (plain), ``'``, ``"``, ``|`` or ``>``."""
        node = self.node(path)
        return (node.style or None) if isinstance(node, ScalarNode) else None

    def text_position(self, path: Sequence[PathPart], offset: int) -> tuple[int, int]:
        """Where character ``offset`` of the string at ``path`` was written.

        Exact for plain and quoted scalars on one line (escapes aside); for block and
        multi-line scalars, the start of the value.
        """
        node = self.node(path)
        line, column = self.position(path)
        if not isinstance(node, ScalarNode) or node.start_mark.line != node.end_mark.line:
            return (line, column)
        quoted = 1 if node.style in ("'", '"') else 0
        return (line, column + quoted + offset)


def _child(node: Node, part: PathPart) -> tuple[Node | None, Node] | None:
    if isinstance(node, SequenceNode):
        if isinstance(part, int) and not isinstance(part, bool) and 0 <= part < len(node.value):
            return (None, node.value[part])
        return None
    if not isinstance(node, MappingNode):
        return None
    text = str(part)
    merged: list[Node] = []
    for key_node, value_node in reversed(node.value):  # after merging, the last one wins
        if key_node.tag == _MERGE_TAG:
            merged.append(value_node)
        elif isinstance(key_node, ScalarNode) and key_node.value == text:
            return (key_node, value_node)
    for source in merged:
        for candidate in source.value if isinstance(source, SequenceNode) else [source]:
            found = _child(candidate, part)
            if found is not None:
                return found
    return None


def parse_document(text: str, name: str) -> YamlDocument:
    """Parse one YAML document, or raise RuleError with the exact place of the problem."""
    loader = _Loader(text)
    loader.name = name
    try:
        root = loader.get_single_node()
        if root is not None:
            _check_expansion(root, name)
        data = loader.construct_document(root) if root is not None else None
    except RuleError:
        raise
    except yaml.MarkedYAMLError as exc:
        raise RuleError([_marked_problem(exc, text, name)]) from None
    except yaml.reader.ReaderError as exc:
        line, column = _line_col(text, exc.position)
        what = f"character #x{exc.character:04x}" if isinstance(exc.character, int) else "byte"
        raise RuleError(
            [Problem(name, line, column, f"{what} is not allowed in YAML: remove it")]
        ) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise RuleError([Problem(name, 1, 1, f"cannot read YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return YamlDocument(data, name, root)


def load_document(
    path: Path, *, max_bytes: int = 1_000_000, variables: bool = False
) -> YamlDocument:
    """Read ``path`` (UTF-8, at most ``max_bytes``) and parse it. With ``variables`` (a
    config), a file that fails only because a ``${NAME}`` ended a {...} or [...] it was the
    whole value of (``{password: ${PW}}``) is read with that reference quoted."""
    name = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except IsADirectoryError:
        raise RuleError([Problem(name, 1, 1, "is a directory, not a YAML file")]) from None
    except FileNotFoundError:
        raise RuleError([Problem(name, 1, 1, "no such file")]) from None
    except OSError as exc:
        raise RuleError([Problem(name, 1, 1, f"cannot read file: {exc.strerror}")]) from None
    if len(raw) > max_bytes:
        raise RuleError(
            [Problem(name, 1, 1, f"file is larger than {max_bytes:,} bytes; split it up")]
        )
    if _utf16(raw):
        message = 'saved as UTF-16 (Windows\' "Unicode"): save the file as UTF-8 instead'
        raise RuleError([Problem(name, 1, 1, message)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise RuleError(
            [Problem(name, line, column, "not UTF-8 text: save the file as UTF-8")]
        ) from None
    try:
        return parse_document(text, name)
    except RuleError as exc:
        if not variables or [p.message for p in exc.problems] != [_FLOW_HINT_VARIABLE]:
            raise
        quoted = _FLOW_VARIABLE.sub(lambda match: f'"{match.group()}"', text)
        if quoted == text:
            raise
        try:
            return parse_document(quoted, name)
        except RuleError:
            raise exc from None


def _utf16(raw: bytes) -> bool:
    """UTF-16 text: its byte-order mark, or a NUL byte beside most characters of the start
    (YAML's text is mostly ASCII, which UTF-16 writes as the byte and a NUL)."""
    start = raw[:200]
    return start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
        len(start) >= 4 and start.count(0) * 3 >= len(start)
    )


def _check_expansion(root: Node, name: str) -> None:
    """Refuse alias bombs and self-referring aliases before anything walks the data.

    Sizes and heights are those of the tree with every alias expanded, computed once per
    node, so a "billion laughs" file is refused after a few hundred steps.
    """
    measured: dict[int, tuple[int, int]] = {}
    open_nodes: set[int] = set()

    def fail(node: Node, message: str) -> None:
        mark = node.start_mark
        raise RuleError([Problem(name, mark.line + 1, mark.column + 1, message)])

    def measure(node: Node, depth: int) -> tuple[int, int]:
        if id(node) in open_nodes:
            fail(node, "an alias refers to a value that contains it")
        known = measured.get(id(node))
        if known is None:
            open_nodes.add(id(node))
            children: list[Node] = []
            if isinstance(node, SequenceNode):
                children = node.value
            elif isinstance(node, MappingNode):
                children = [n for pair in node.value for n in pair]
            size, height = 1, 1
            for child in children:
                child_size, child_height = measure(child, depth + 1)
                if depth + child_height > MAX_DEPTH:
                    fail(node, f"nested more than {MAX_DEPTH} levels deep (counting aliases)")
                size, height = size + child_size, max(height, child_height + 1)
                if size > MAX_NODES:
                    fail(node, f"expands to more than {MAX_NODES:,} values (too many aliases?)")
            open_nodes.discard(id(node))
            known = measured[id(node)] = (size, height)
        return known

    measure(root, 1)


def _line_col(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return (before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1)


_HINTS = {
    "mapping values are not allowed": "unexpected ':' here: put text containing ': ' in "
    "quotes, or check the indentation",
    "could not find expected ':'": "expected 'key: value' here: check the indentation of this "
    "line and the one above",
    "did not find expected key": "unexpected text here: check the indentation",
    "did not find expected '-' indicator": "unexpected text in a list: check the indentation",
    "found unexpected end of stream": "the file ends too early: is a quote or bracket unclosed?",
    "found undefined alias": "this alias (*name) has no anchor (&name) before it",
    "but found another document": "a file holds one YAML document: remove the second '---'",
    "could not determine a constructor": "unknown tag: only plain YAML values are allowed here",
}

# A ${NAME} reference starts with '$' but holds '{' and '}', which end a {...} mapping.
_FLOW_HINT_VARIABLE = (
    'a ${NAME} inside {...} or [...] must be quoted: write "${NAME}", or put the mapping '
    "on lines of its own"
)
_FLOW_VARIABLE = re.compile(
    r"(?:(?<=[\[{,])|(?<=[\[{,:] ))\$\{[A-Za-z_][A-Za-z0-9_]*\}(?=[ \t]*[,}\]])"
)
_FLOW_HINT = (
    "unexpected text inside {...} or [...]: is a bracket unclosed, or does a value hold "
    "'{', '}', '[', ']' or ','? Put such a value in quotes"
)


def _marked_problem(exc: yaml.MarkedYAMLError, text: str, name: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = exc.problem or exc.context or "invalid YAML"
    lines = text.splitlines()
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    char = source[column - 1] if 0 < column <= len(source) else ""
    if char == "\t" or ("\t" in source[: len(source) - len(source.lstrip())]):
        return Problem(name, line, column, "tab character: YAML indentation must use spaces")
    if isinstance(exc, ScannerError | ParserError) and any(k in problem for k in _COLON_SIGNS):
        missing = _missing_colon(lines, line)
        if missing is not None:
            return Problem(name, *missing)
    if "cannot start any token" in problem and char:
        message = f"a value cannot start with '{char}': put the value in quotes"
    elif "did not find expected ','" in problem:
        message = _FLOW_HINT_VARIABLE if "${" in source else _FLOW_HINT
    else:
        message = next((hint for key, hint in _HINTS.items() if key in problem), problem)
    if message == problem and isinstance(exc, ScannerError | ParserError):
        message = f"invalid YAML: {message}"
    return Problem(name, line, column, message)


# What PyYAML says, a line or two on, of a 'key value' line that lacks its ':'
_COLON_SIGNS = (
    "mapping values are not allowed",
    "could not find expected ':'",
    "did not find expected key",
    "did not find expected '-' indicator",
)
_KEY = re.compile(r"^(\s*(?:-\s+)?)[A-Za-z_][\w-]*:(?:\s|$)")
_BARE_KEY = re.compile(r"^(\s*(?:-\s+)?)([A-Za-z_][\w-]*)(?:\s+([^#\s].*?))?\s*(?:#.*)?$")


def _key_column(lines: list[str], number: int) -> int | None:
    """Where the key of line ``number`` (1-based) starts, when it is a ``key:`` line."""
    found = _KEY.match(lines[number - 1]) if 0 < number <= len(lines) else None
    return len(found.group(1)) if found else None


def _missing_colon(lines: list[str], line: int) -> tuple[int, int, str] | None:
    """The line at or just before ``line`` that reads 'key value' (``id r1``, ``actions``)
    at the column of a neighbour's ``key:``: its line, the column for the ':' and the fix."""
    for number in (line, line - 1, line - 2):
        source = lines[number - 1] if 0 < number <= len(lines) else ""
        bare = _BARE_KEY.match(source)
        if bare is None or ":" in re.split(r"[{\[\"']", source, maxsplit=1)[0]:
            continue
        column = len(bare.group(1))
        if column in (_key_column(lines, number - 1), _key_column(lines, number + 1)):
            key, value = bare.group(2), bare.group(3)
            fix = f"{key}: {value}" if value else f"{key}:"
            return number, column + len(key) + 1, f"missing ':' after '{key}': write '{fix}'"
    return None
