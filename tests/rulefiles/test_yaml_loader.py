from __future__ import annotations

import time
from pathlib import Path

import pytest

from automation.core.errors import RuleError
from automation.rulefiles.yaml_loader import MAX_DEPTH, YamlDocument, load_document, parse_document


def _problem(text: str) -> tuple[int, int, str]:
    with pytest.raises(RuleError) as caught:
        parse_document(text, "f.yaml")
    (problem,) = caught.value.problems
    assert problem.path == "f.yaml"
    assert problem.severity == "error"
    return problem.line, problem.column, problem.message


def _billion_laughs() -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


BAD = [
    ("tab", "a:\n\tb: 1\n", 2, 1, "YAML indentation must use spaces"),
    ("tab after text", "a:\n  b:\t\n  \tc: 1\n", 3, 3, "must use spaces"),
    (
        "duplicate key",
        "a: 1\nb:\n  c: 1\n  c: 2\n",
        4,
        3,
        "duplicate key 'c' (first written at line 3)",
    ),
    ("duplicate flow key", "{k: 1, k: 2}", 1, 8, "duplicate key 'k'"),
    ("duplicate top key", "when: 1\nid: x\nwhen: 2\n", 3, 1, "first written at line 1"),
    ("colon in value", "a: b: c\n", 1, 5, "unexpected ':' here"),
    # a 'key value' line without its ':' is named, not the line after it that PyYAML blames
    (
        "no colon after a list item's key",
        "rules:\n  - id r1\n    watch: x\n",
        2,
        7,
        "missing ':' after 'id': write 'id: r1'",
    ),
    (
        "no colon before the next key",
        "a: 1\nwhen likes >= 100\nb: 2\n",
        2,
        5,
        "missing ':' after 'when': write 'when: likes >= 100'",
    ),
    (
        "no colon before a list",
        "a: 1\nactions\n  - log: x\n",
        2,
        8,
        "missing ':' after 'actions': write 'actions:'",
    ),
    (
        "no colon at the top",
        "version 1\nrules:\n",
        1,
        8,
        "missing ':' after 'version': write 'version: 1'",
    ),
    (
        "no colon before a flow mapping",
        "a: 1\nwatch {b: [c]}\nd: 2\n",
        2,
        6,
        "write 'watch: {b: [c]}'",
    ),
    ("at sign", "a: @x\n", 1, 4, "cannot start with '@': put the value in quotes"),
    ("unclosed quote", 'a: "x\n', 2, 1, "is a quote or bracket unclosed?"),
    ("unclosed flow", "a: [1,\n", 2, 1, "invalid YAML"),
    (
        # as a config's one-line section is easily written: '{' and '}' end the mapping
        "variable in a flow mapping",
        "dashboard: {password: ${DASHBOARD_PASSWORD}}\n",
        1,
        24,
        'a ${NAME} inside {...} or [...] must be quoted: write "${NAME}"',
    ),
    ("bracket in a flow list", "a: {b: [1, 2}\n", 1, 13, "is a bracket unclosed"),
    ("two documents", "a: 1\n---\nb: 1\n", 2, 1, "a file holds one YAML document"),
    ("bad float tag", "a: !!float abc\n", 1, 4, "cannot read this value as float"),
    ("endless number", "a: " + "9" * 5000 + "\n", 1, 4, "too many digits"),
    ("python tag", "a: !!python/object:os.system x\n", 1, 4, "unknown tag !!python/object"),
    ("binary tag", "a: !!binary aGk=\n", 1, 4, "unknown tag !!binary"),
    ("control char", "a: \x00\n", 1, 4, "character #x0000 is not allowed"),
    ("list as key", "? [a]\n: 1\n", 1, 3, "a key must be plain text"),
    ("undefined alias", "a: *x\n", 1, 4, "has no anchor"),
    ("self alias", "a: &a [*a]\n", 1, 4, "refers to a value that contains it"),
    (
        "deep by alias",
        "a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30,
        2,
        33,
        "counting aliases",
    ),
    ("billion laughs", _billion_laughs(), 6, 4, "expands to more than"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"), [case[1:] for case in BAD], ids=[case[0] for case in BAD]
)
def test_bad_yaml_is_one_precise_problem(text: str, line: int, column: int, message: str) -> None:
    got = _problem(text)
    assert got[:2] == (line, column)
    assert message in got[2]


def test_deep_nesting_is_one_problem_on_its_line() -> None:
    # libyaml 0.2.5 (in newer PyYAML wheels) stops at depth 1000 while scanning, before our
    # own limit of MAX_DEPTH is reached; either way it is one clear problem, not a crash
    line, column, message = _problem("[" * 100_000 + "]" * 100_000)
    assert line == 1
    assert (column, "nested more than") == (MAX_DEPTH + 1, message[:16]) or (
        "nesting depth" in message
    )


def test_billion_laughs_is_refused_quickly() -> None:
    start = time.process_time()
    with pytest.raises(RuleError):
        parse_document(_billion_laughs(), "f.yaml")
    assert time.process_time() - start < 0.5


def test_too_many_aliases() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 1500) + "]\n"
    line, _, message = _problem(text)
    assert line == 2
    assert "too many aliases" in message


def test_dates_stay_strings_and_keys_are_text() -> None:
    doc = parse_document("d: 2026-01-01\nt: 2026-01-01T00:00:00Z\nyes: 1\n1: 2\nnull: 3\n", "f")
    assert doc.data == {"d": "2026-01-01", "t": "2026-01-01T00:00:00Z", "yes": 1, "1": 2, "null": 3}


def test_dates_still_resolve_for_plain_safe_loader() -> None:
    import datetime

    import yaml

    assert isinstance(yaml.safe_load("d: 2026-01-01"), dict)
    assert isinstance(yaml.safe_load("d: 2026-01-01")["d"], datetime.date)


def test_merge_keys_work_and_local_keys_override() -> None:
    doc = parse_document("base: &b {x: 1, y: 2}\nz:\n  <<: *b\n  x: 3\n", "f")
    assert doc.data["z"] == {"x": 3, "y": 2}
    assert doc.position(["z", "x"]) == (4, 6)
    assert doc.position(["z", "x"], key=True) == (4, 3)
    assert doc.position(["z", "y"]) == (1, 20)


def test_positions_and_fallback() -> None:
    text = "rules:\n  - id: a\n    when: 'likes >= 1'\n    watch: {posts: [1, \"2\"]}\n"
    doc = parse_document(text, "f")
    assert doc.position(["rules", 0, "id"]) == (2, 9)
    assert doc.position(["rules", 0, "id"], key=True) == (2, 5)
    assert doc.position(["rules", 0, "watch", "posts", 1]) == (4, 24)
    assert doc.position(["rules", 0, "missing", "deeper"]) == (2, 5)
    assert doc.position(["rules", 7]) == (2, 3)
    assert doc.exists(["rules", 0, "when"])
    assert not doc.exists(["rules", 0, "for"])
    assert doc.style(["rules", 0, "when"]) == "'"
    assert doc.style(["rules", 0, "watch", "posts", 0]) is None
    assert doc.style(["rules", 0, "watch", "posts", 1]) == '"'
    assert doc.text_position(["rules", 0, "when"], 6) == (3, 18)
    assert doc.text_position(["rules", 0, "id"], 0) == (2, 9)


def test_text_position_of_block_scalar_is_its_start() -> None:
    doc = parse_document("a: |\n  line one\n  line two\n", "f")
    assert doc.text_position(["a"], 12) == (1, 4)


def test_empty_document() -> None:
    for text in ("", "# only a comment\n", "\n\n"):
        doc = parse_document(text, "f")
        assert doc.data is None
        assert doc.position(["rules"]) == (1, 1)


def test_document_is_frozen() -> None:
    doc = parse_document("a: 1", "f")
    assert isinstance(doc, YamlDocument)
    with pytest.raises(AttributeError):
        doc.data = 2  # type: ignore[misc]


def test_load_document_reads_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_bytes("\ufeffa: café\n".encode())
    doc = load_document(path)
    assert doc.data == {"a": "café"}
    assert doc.name == str(path)


@pytest.mark.parametrize(
    ("content", "line", "column", "message"),
    [
        (b"a: 1\nb: caf\xe9\n", 2, 7, "not UTF-8 text"),
        (b"a: " + b"x" * 200, 1, 1, "larger than 100 bytes"),
        # Notepad's and Excel's "Unicode": with a byte-order mark, or without one
        ("version: 1\n".encode("utf-16"), 1, 1, "saved as UTF-16"),
        ("version: 1\nrules: []\n".encode("utf-16-le"), 1, 1, "save the file as UTF-8"),
        ("version: 1\nrules: []\n".encode("utf-16-be"), 1, 1, "save the file as UTF-8"),
    ],
    ids=["latin-1", "too large", "utf-16", "utf-16-le", "utf-16-be"],
)
def test_load_document_refuses_bad_files(
    tmp_path: Path, content: bytes, line: int, column: int, message: str
) -> None:
    path = tmp_path / "r.yaml"
    path.write_bytes(content)
    with pytest.raises(RuleError) as caught:
        load_document(path, max_bytes=100)
    (problem,) = caught.value.problems
    assert (problem.path, problem.line, problem.column) == (str(path), line, column)
    assert message in problem.message


def test_load_document_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="no such file"):
        load_document(tmp_path / "nope.yaml")
    with pytest.raises(RuleError, match="is a directory"):
        load_document(tmp_path)
