"""The config loader on generated config files: a Config, or a ConfigError naming the file
and a line of it, that never quotes a secret; never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz.located import line_count
from fuzz.strategies import CONFIG_ENV, INPUTS, example_config_text, file_bytes, fuzz_settings
from hypothesis import example, given
from hypothesis import strategies as st

from automation.config.loader import load_config
from automation.core.errors import ConfigError

EXAMPLES = 2000  # generated config files per run

# Found by this test: a RuntimeError out of Path.expanduser once the file was otherwise good.
_NO_SUCH_USER = [
    example_config_text().replace(old, new).encode()
    for old, new in [
        ("database: /var/lib/automation/automation.db", "database: ~nobody-here/a.db"),
        ("  - /etc/automation/rules/", "  - ~nobody-here/rules/"),
    ]
]


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "automation.yaml"


def load_and_check(file: Path, raw: bytes, env: dict[str, str], secrets: str) -> None:
    file.write_bytes(raw)
    try:
        config = load_config(file, env=env, secrets=secrets)  # type: ignore[arg-type]
    except ConfigError as exc:
        text = raw.decode("utf-8", "replace")
        assert exc.path == str(file)
        assert 1 <= exc.line <= line_count(text) + 1, (exc.line, str(exc))
        assert str(exc).startswith(f"{file}:{exc.line}: "), str(exc)
        for value in env.values():
            assert value not in str(exc), str(exc)
        return
    assert config.rules and config.engagement_api.base_url


def test_example_config_loads(config_file: Path) -> None:
    """The generator's starting point is valid: mutations start from a good file."""
    config_file.write_text(example_config_text(), "utf-8")
    assert load_config(config_file, env=CONFIG_ENV).accounts


@fuzz_settings(EXAMPLES)
@given(
    raw=file_bytes([example_config_text()]),
    unset=st.lists(st.sampled_from(sorted(CONFIG_ENV)), max_size=2),
    secrets=st.sampled_from(["required", "when_used"]),
)
@example(raw=_NO_SUCH_USER[0], unset=[], secrets="required")
@example(raw=_NO_SUCH_USER[1], unset=[], secrets="when_used")
def test_generated_configs_end_in_located_errors(
    config_file: Path, raw: bytes, unset: list[str], secrets: str
) -> None:
    INPUTS["config files"] += 1
    env = {k: v for k, v in CONFIG_ENV.items() if k not in unset}
    load_and_check(config_file, raw, env, secrets)
