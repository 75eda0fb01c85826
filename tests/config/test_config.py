from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from automation.config.loader import config_path, load_config, redactor
from automation.config.model import Config
from automation.config.schema import config_schema
from automation.core.errors import ConfigError
from automation.service.logs import setup_logging

SECRETS = {
    "X_CONSUMER_KEY": "ck-value-111",
    "X_CONSUMER_SECRET": "cs-value-222",
    "X_BEARER_TOKEN": "bearer-value-333",
    "BRAND_ACCESS_TOKEN": "brand-at-444",
    "BRAND_ACCESS_TOKEN_SECRET": "brand-ats-555",
    "TEAM_CHAT_WEBHOOK_SECRET": "team-chat-666",
}

BASE = """\
database: state/automation.db
rules: [rules/, extra.yaml]
poll_interval: 2m
engagement_api:
  base_url: https://data-api.x.com/
  requests_per_minute: 30
  timeout: 12.5
x_api:
  base_url: https://api.x.com
  timeout: 20s
app:
  consumer_key: ${X_CONSUMER_KEY}
  consumer_secret: ${X_CONSUMER_SECRET}
  bearer_token: ${X_BEARER_TOKEN}
accounts:
  brand:
    user_id: "2244994945"
    access_token: ${BRAND_ACCESS_TOKEN}
    access_token_secret: ${BRAND_ACCESS_TOKEN_SECRET}
webhook_secrets:
  team-chat: ${TEAM_CHAT_WEBHOOK_SECRET}
actions:
  first_retry: 30s
  max_attempts: 4
"""

MINIMAL = """\
database: automation.db
rules: [rules/]
engagement_api:
  base_url: https://data-api.x.com
x_api:
  base_url: https://api.x.com
app:
  consumer_key: ${X_CONSUMER_KEY}
  consumer_secret: ${X_CONSUMER_SECRET}
  bearer_token: ${X_BEARER_TOKEN}
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in tmp_path so messages name the file as a user would write it."""
    monkeypatch.chdir(tmp_path)


def _load(text: str, env: dict[str, str] | None = None) -> Config:
    Path("automation.yaml").write_text(text)
    return load_config(Path("automation.yaml"), env=SECRETS if env is None else env)


def _error(text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _load(text, env)
    return caught.value


def _line(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _all_secret_values_absent(text: str) -> None:
    for value in SECRETS.values():
        assert value not in text


# ------------------------------------------------------------------ happy path


def test_full_config_loads(tmp_path: Path) -> None:
    config = _load(BASE)
    assert config.path == tmp_path / "automation.yaml"
    assert config.database == tmp_path / "state" / "automation.db"
    assert config.rules == (tmp_path / "rules", tmp_path / "extra.yaml")
    assert config.poll_interval == 120
    assert config.engagement_api.base_url == "https://data-api.x.com"  # trailing / dropped
    assert config.engagement_api.requests_per_minute == 30
    assert config.engagement_api.timeout == 12.5
    assert config.x_api.base_url == "https://api.x.com"
    assert config.x_api.timeout == 20.0
    assert config.app.bearer_token.reveal() == SECRETS["X_BEARER_TOKEN"]
    assert config.app.consumer_key.source == "${X_CONSUMER_KEY}"
    brand = config.account("brand")
    assert brand is not None
    assert brand.user_id == "2244994945"
    assert brand.access_token.reveal() == SECRETS["BRAND_ACCESS_TOKEN"]
    assert brand.access_token_secret.source == "${BRAND_ACCESS_TOKEN_SECRET}"
    assert config.account_names() == {"brand"}
    secret = config.webhook_secret("team-chat")
    assert secret is not None and secret.reveal() == SECRETS["TEAM_CHAT_WEBHOOK_SECRET"]
    assert config.actions.first_retry == 30
    assert config.actions.max_attempts == 4


def test_defaults(tmp_path: Path) -> None:
    config = _load(MINIMAL)
    assert config.poll_interval == 300
    assert config.engagement_api.requests_per_minute == 60
    assert config.x_api.requests_per_minute == 60
    assert config.engagement_api.timeout == 30.0
    assert config.accounts == ()
    assert config.webhook_secrets == ()
    assert config.actions.first_retry == 10
    assert config.actions.max_attempts == 10
    assert config.history.keep == 90 * 86400
    assert config.retention.firings == 400 * 86400
    assert config.max_staleness == 3600
    assert config.database == tmp_path / "automation.db"


def test_how_long_hourly_history_is_kept() -> None:
    assert _load(MINIMAL + "history: {keep: 30d}\n").history.keep == 30 * 86400
    assert _load(MINIMAL + "history:\n").history.keep == 90 * 86400
    text = MINIMAL + "history: {keep: forever}\n"
    assert str(_error(text)) == (
        f"automation.yaml:{_line(text, 'keep')}: history.keep: "
        "expected a duration such as 30s, 5m, 1h or 7d, got 'forever'"
    )


def test_how_stale_a_post_may_grow_when_the_budget_is_short() -> None:
    assert _load(MINIMAL + "max_staleness: 30m\n").max_staleness == 1800
    text = MINIMAL + "max_staleness: an hour\n"
    assert str(_error(text)) == (
        f"automation.yaml:{_line(text, 'max_staleness')}: max_staleness: "
        "expected a duration such as 30s, 5m, 1h or 7d, got 'an hour'"
    )
    text = MINIMAL + "poll_interval: 10m\nmax_staleness: 5m\n"
    assert str(_error(text)) == (
        f"automation.yaml:{_line(text, 'max_staleness')}: max_staleness: 5m is shorter than"
        " poll_interval (10m): a post is read at most once a cycle; make it at least the poll"
        " interval"
    )
    equal = MINIMAL + "poll_interval: 10m\nmax_staleness: 10m\n"
    assert _load(equal).max_staleness == 600  # exactly the poll interval is enough


def test_how_long_firings_and_actions_are_kept() -> None:
    assert _load(MINIMAL + "retention: {firings: 30d}\n").retention.firings == 30 * 86400
    assert _load(MINIMAL + "retention:\n").retention.firings == 400 * 86400
    text = MINIMAL + "retention: {firings: 1y}\n"
    assert str(_error(text)) == (
        f"automation.yaml:{_line(text, 'firings')}: retention.firings: "
        "expected a duration such as 30s, 5m, 1h or 7d, got '1y': write 365d"
    )


def test_the_dashboard_password_is_a_secret_needed_only_when_used() -> None:
    assert _load(MINIMAL).dashboard.password is None
    text = MINIMAL + "dashboard:\n  password: ${DASHBOARD_PASSWORD}\n"
    password = _load(text, {**SECRETS, "DASHBOARD_PASSWORD": "pw-value-777"}).dashboard.password
    assert password is not None and password.reveal() == "pw-value-777"
    assert str(password) == "Secret(${DASHBOARD_PASSWORD})"
    config = _load(text, {**SECRETS, "DASHBOARD_PASSWORD": "pw-value-777"})
    assert redactor(config)("login pw-value-777") == "login ***"
    Path("automation.yaml").write_text(text)
    unset = load_config(Path("automation.yaml"), env=SECRETS, secrets="when_used")
    assert unset.dashboard.password is not None and not unset.dashboard.password.is_set
    with pytest.raises(ConfigError, match=r"dashboard\.password: \$\{DASHBOARD_PASSWORD\} is not"):
        unset.dashboard.password.reveal()
    bad = MINIMAL + "dashboard: {pasword: x}\n"
    assert "dashboard.pasword: unknown key; did you mean 'password'?" in str(_error(bad))


def test_a_variable_in_a_one_line_section_loads_as_the_spec_writes_it() -> None:
    """The spec's ``dashboard: {password: ${DASHBOARD_PASSWORD}}``: in YAML the braces of
    ``${NAME}`` end a {...} mapping, so the config reads such a reference as if quoted."""
    text = (
        MINIMAL
        + "dashboard: {password: ${DASHBOARD_PASSWORD}}\n"
        + "webhook_secrets: {team-chat: ${CHAT}, ops: ${OPS}}\n"
        + "alerts: {webhook: https://ops.example.com/hooks/a, secret: ops}\n"
        + "webhooks: {allow_hosts: [hooks.slack.com]}\n"
    )
    env = {**SECRETS, "DASHBOARD_PASSWORD": "pw-value-777", "CHAT": "c-1", "OPS": "o-2"}
    config = _load(text, env)
    assert config.dashboard.password is not None
    assert config.dashboard.password.reveal() == "pw-value-777"
    assert [(name, s.reveal()) for name, s in config.webhook_secrets] == [
        ("team-chat", "c-1"),
        ("ops", "o-2"),
    ]
    unset = _error(text, {**SECRETS, "DASHBOARD_PASSWORD": "pw-value-777", "OPS": "o-2"})
    line = _line(text, "webhook_secrets")
    assert str(unset).startswith(f"automation.yaml:{line}: webhook_secrets.team-chat: ${{CHAT}}")
    broken = MINIMAL + "dashboard: {password: ${X}\n"  # unclosed, quoted or not
    assert str(_error(broken, env)).startswith(f"automation.yaml:{_line(broken, 'dashboard')}: ")


def test_the_engine_starts_without_the_dashboard_password() -> None:
    # automation.service loads the engine's secrets only; the example config (and the
    # dashboard's unit) name ${DASHBOARD_PASSWORD}, which only the dashboard reveals.
    text = MINIMAL + "dashboard:\n  password: ${DASHBOARD_PASSWORD}\n"
    Path("automation.yaml").write_text(text)
    config = load_config(Path("automation.yaml"), env=SECRETS, secrets="required")
    password = config.dashboard.password
    assert password is not None and not password.is_set
    line = _line(text, "password")
    with pytest.raises(ConfigError, match=rf"automation\.yaml:{line}: dashboard\.password: "):
        password.reveal()
    assert str(password) == "Secret(${DASHBOARD_PASSWORD})"
    with pytest.raises(ConfigError, match=r"app\.bearer_token: \$\{X_BEARER_TOKEN\} is not"):
        load_config(
            Path("automation.yaml"),
            env={k: v for k, v in SECRETS.items() if k != "X_BEARER_TOKEN"},
            secrets="required",
        )


def test_empty_optional_sections_mean_none(tmp_path: Path) -> None:
    config = _load(MINIMAL + "accounts:\nwebhook_secrets:\nactions:\n")
    assert config.accounts == ()
    assert config.actions.max_attempts == 10


def test_paths_are_relative_to_the_config_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "conf.yaml").write_text(MINIMAL.replace("database: automation.db", "database: /abs.db"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    config = load_config(Path("../etc/conf.yaml"), env=SECRETS)
    assert config.database == Path("/abs.db")
    assert config.rules[0].resolve() == (etc / "rules").resolve()


def test_literal_secret_source_names_the_key_and_file() -> None:
    config = _load(MINIMAL.replace("${X_BEARER_TOKEN}", "literal-bearer-777"))
    assert config.app.bearer_token.reveal() == "literal-bearer-777"
    assert config.app.bearer_token.source == "app.bearer_token in automation.yaml"
    assert "literal-bearer-777" not in repr(config)


def test_reference_inside_text_and_escape() -> None:
    text = MINIMAL.replace("${X_BEARER_TOKEN}", "pre-${X_BEARER_TOKEN}-post").replace(
        "base_url: https://api.x.com", "base_url: https://api.x.com/$${literal}"
    )
    config = _load(text)
    assert config.app.bearer_token.reveal() == f"pre-{SECRETS['X_BEARER_TOKEN']}-post"
    assert config.app.bearer_token.source == "app.bearer_token in automation.yaml"
    assert config.x_api.base_url == "https://api.x.com/${literal}"


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    Path("automation.yaml").write_text(MINIMAL)
    config = load_config(Path("automation.yaml"))
    assert config.app.consumer_secret.reveal() == SECRETS["X_CONSUMER_SECRET"]


def test_config_path_precedence() -> None:
    assert config_path("given.yaml", {"AUTOMATION_CONFIG": "env.yaml"}) == Path("given.yaml")
    assert config_path(None, {"AUTOMATION_CONFIG": "env.yaml"}) == Path("env.yaml")
    assert config_path(None, {"AUTOMATION_CONFIG": ""}) == Path("automation.yaml")
    assert config_path(None, {}) == Path("automation.yaml")


def test_schema_is_valid_draft_2020_12() -> None:
    from jsonschema import Draft202012Validator

    schema = config_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "database",
        "migrate",
        "rules",
        "poll_interval",
        "max_staleness",
        "engagement_api",
        "x_api",
        "app",
        "accounts",
        "webhook_secrets",
        "actions",
        "history",
        "metrics",
        "webhooks",
        "retention",
        "alerts",
        "dashboard",
    }


# ------------------------------------------------------------------ credentials directory


@pytest.fixture
def creds(tmp_path: Path) -> Path:
    directory = tmp_path / "creds"
    directory.mkdir()
    return directory


def test_credentials_directory_supplies_unset_names(creds: Path) -> None:
    (creds / "X_BEARER_TOKEN").write_text("from-file-888\n\n")
    (creds / "X_CONSUMER_KEY").write_text("ck-from-file\r\n")
    env = {k: v for k, v in SECRETS.items() if k not in ("X_BEARER_TOKEN", "X_CONSUMER_KEY")}
    env["CREDENTIALS_DIRECTORY"] = str(creds)
    config = _load(MINIMAL, env)
    assert config.app.bearer_token.reveal() == "from-file-888\n"  # one newline stripped
    assert config.app.bearer_token.source == "${X_BEARER_TOKEN}"
    assert config.app.consumer_key.reveal() == "ck-from-file"


def test_environment_wins_over_credentials_directory(creds: Path) -> None:
    (creds / "X_BEARER_TOKEN").write_text("from-file")
    config = _load(MINIMAL, {**SECRETS, "CREDENTIALS_DIRECTORY": str(creds)})
    assert config.app.bearer_token.reveal() == SECRETS["X_BEARER_TOKEN"]


def test_unreadable_credential_file_is_an_error(creds: Path) -> None:
    (creds / "X_BEARER_TOKEN").write_bytes(b"\xff\xfe\x00bad")
    env = {k: v for k, v in SECRETS.items() if k != "X_BEARER_TOKEN"}
    env["CREDENTIALS_DIRECTORY"] = str(creds)
    err = _error(MINIMAL, env)
    line = _line(MINIMAL, "bearer_token")
    assert str(err) == (
        f"automation.yaml:{line}: app.bearer_token: ${{X_BEARER_TOKEN}}: cannot read "
        f"{creds / 'X_BEARER_TOKEN'}: not UTF-8 text"
    )


def test_missing_credential_file_is_an_unset_variable(creds: Path) -> None:
    env = {k: v for k, v in SECRETS.items() if k != "X_BEARER_TOKEN"}
    env["CREDENTIALS_DIRECTORY"] = str(creds)
    err = _error(MINIMAL, env)
    assert "${X_BEARER_TOKEN} is not set" in str(err)


# ------------------------------------------------------------------ secrets only when used


def test_secrets_left_unset_are_an_error_only_when_revealed(creds: Path) -> None:
    (creds / "X_BEARER_TOKEN").write_text("from-file-888")
    env = {"X_CONSUMER_KEY": SECRETS["X_CONSUMER_KEY"], "CREDENTIALS_DIRECTORY": str(creds)}
    Path("automation.yaml").write_text(BASE)
    config = load_config(Path("automation.yaml"), env=env, secrets="when_used")
    assert config.app.consumer_key.reveal() == SECRETS["X_CONSUMER_KEY"]
    assert config.app.bearer_token.reveal() == "from-file-888"
    token = config.accounts[0].access_token
    assert not token.is_set and config.app.bearer_token.is_set
    assert str(token) == "Secret(${BRAND_ACCESS_TOKEN})"
    with pytest.raises(ConfigError) as caught:
        token.reveal()
    line = _line(BASE, "access_token: ${BRAND_ACCESS_TOKEN}")
    assert str(caught.value).startswith(
        f"automation.yaml:{line}: accounts.brand.access_token: ${{BRAND_ACCESS_TOKEN}} is not set"
    )
    assert caught.value.exit_code == 2
    # the rest of the file is checked as strictly as ever, and redacting still works
    assert redactor(config)(f"a {SECRETS['X_CONSUMER_KEY']} b") == "a *** b"
    assert config.rule_names().accounts == ("brand",)


def test_an_unset_variable_outside_the_secrets_is_still_an_error_when_used() -> None:
    text = BASE.replace("base_url: https://api.x.com", "base_url: ${API_URL}")
    Path("automation.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"x_api\.base_url: \$\{API_URL\} is not set"):
        load_config(Path("automation.yaml"), env={}, secrets="when_used")


# ------------------------------------------------------------------ errors


def test_unset_variable_names_file_line_key_and_variable() -> None:
    env = {k: v for k, v in SECRETS.items() if k != "BRAND_ACCESS_TOKEN"}
    err = _error(BASE, env)
    line = _line(BASE, "access_token: ${BRAND_ACCESS_TOKEN}")
    assert str(err) == (
        f"automation.yaml:{line}: accounts.brand.access_token: ${{BRAND_ACCESS_TOKEN}} is not "
        "set: set the environment variable BRAND_ACCESS_TOKEN, or provide the file "
        "BRAND_ACCESS_TOKEN in $CREDENTIALS_DIRECTORY (systemd LoadCredential="
        "BRAND_ACCESS_TOKEN:FILE)"
    )
    assert (err.path, err.line, err.key) == ("automation.yaml", line, "accounts.brand.access_token")
    assert err.exit_code == 2
    _all_secret_values_absent(str(err))


def test_wrong_type_matches_the_documented_wording() -> None:
    text = BASE.replace("requests_per_minute: 30", "requests_per_minute: fast")
    err = _error(text)
    line = _line(text, "requests_per_minute")
    assert str(err) == (
        f"automation.yaml:{line}: engagement_api.requests_per_minute: "
        "expected a positive whole number, got 'fast'"
    )


@pytest.mark.parametrize("value", ["0", "-3", "2.5", "true"])
def test_requests_per_minute_must_be_positive_whole(value: str) -> None:
    text = BASE.replace("requests_per_minute: 30", f"requests_per_minute: {value}")
    err = _error(text)
    assert str(err).startswith(
        f"automation.yaml:{_line(text, 'requests_per_minute')}: "
        "engagement_api.requests_per_minute: expected a positive whole number, got "
    )


def test_unknown_key_suggests_the_close_one() -> None:
    text = BASE.replace("  requests_per_minute: 30", "  request_per_minute: 30")
    err = _error(text)
    assert str(err) == (
        f"automation.yaml:{_line(text, 'request_per_minute')}: "
        "engagement_api.request_per_minute: unknown key; did you mean 'requests_per_minute'?"
    )


def test_a_key_in_capitals_gets_the_key_it_means() -> None:
    text = BASE + "POLL_INTERVAL: 5m\n"
    assert str(_error(text)) == (
        f"automation.yaml:{_line(text, 'POLL_INTERVAL')}: POLL_INTERVAL: unknown key; "
        "did you mean 'poll_interval'?"
    )


def test_unknown_top_level_key_without_a_close_match_lists_the_known_ones() -> None:
    text = BASE + "colour: blue\n"
    err = _error(text)
    assert str(err) == (
        f"automation.yaml:{_line(text, 'colour')}: colour: unknown key; expected one of: "
        "accounts, actions, alerts, app, dashboard, database, engagement_api, history, "
        "max_staleness, metrics, migrate, poll_interval, retention, rules, webhook_secrets, "
        "webhooks, x_api"
    )


def test_bad_duration() -> None:
    text = BASE.replace("poll_interval: 2m", "poll_interval: 5 minutes")
    err = _error(text)
    assert str(err) == (
        f"automation.yaml:{_line(text, 'poll_interval')}: poll_interval: "
        "expected a duration such as 30s, 5m, 1h or 7d, got '5 minutes': write 5m"
    )


@pytest.mark.parametrize(
    ("setting", "got"),
    [
        # It said 'got 15 without quotes', as if quoting would help: the unit is missing.
        ("poll_interval: 15", "poll_interval: expected a duration such as 30s, 5m, 1h or 7d,"
         " got 15: 15 what? write 15m for minutes (units: s, m, h, d)"),
        ("poll_interval: '15'", "poll_interval: expected a duration such as 30s, 5m, 1h or 7d,"
         " got '15': 15 what? write 15m for minutes (units: s, m, h, d)"),
        ("max_staleness: 1.5", "max_staleness: expected a duration such as 30s, 5m, 1h or 7d,"
         " got 1.5"),
        ("history: {keep: 90}", "history.keep: expected a duration such as 30s, 5m, 1h or 7d,"
         " got 90: 90 what? write 90d for days (units: s, m, h, d)"),
        ("retention: {firings: 2 weeks}", "retention.firings: expected a duration such as 30s,"
         " 5m, 1h or 7d, got '2 weeks': write 14d"),
        # A zero was shown as 0m, which is refused in turn.
        ("poll_interval: 0", "poll_interval: expected a duration such as 30s, 5m, 1h or 7d,"
         " got 0: a duration must be more than zero"),
        ("poll_interval: 0m", "poll_interval: expected a duration such as 30s, 5m, 1h or 7d,"
         " got '0m': a duration must be more than zero"),
    ],
)  # fmt: skip
def test_a_number_or_words_where_a_duration_is_wanted_says_how_to_write_it(
    setting: str, got: str
) -> None:
    text = BASE.replace("poll_interval: 2m\n", "") + setting + "\n"
    assert str(_error(text)) == f"automation.yaml:{_line(text, setting)}: {got}"


@pytest.mark.parametrize(
    ("timeout", "hint"),
    [
        ("5 secs", "'5 secs': write 5s"),
        ("'15'", "'15': 15 what? write 15s for seconds (units: s, m, h, d)"),
        ("0", "0: a duration must be more than zero"),
        ("'²'", "'²'"),  # isdigit() but not a digit int() reads: no hint, no ValueError
    ],
)
def test_a_timeout_gets_the_hint_of_the_other_durations(timeout: str, hint: str) -> None:
    # A timeout (a number or a duration) had no hint at all.
    text = BASE.replace("timeout: 20s", f"timeout: {timeout}")
    assert str(_error(text)) == (
        f"automation.yaml:{_line(text, 'timeout: ' + timeout)}: x_api.timeout: expected a"
        f" duration such as 30s, or a number of seconds, got {hint}"
    )


def test_zero_retry_is_a_bad_duration() -> None:
    text = BASE.replace("first_retry: 30s", "first_retry: 0s")
    err = _error(text)
    assert str(err).startswith(
        f"automation.yaml:{_line(text, 'first_retry')}: actions.first_retry: expected a duration"
    )


@pytest.mark.parametrize("url", ["api.x.com", "ftp://api.x.com", "https://", "'https://a b'"])
def test_bad_url(url: str) -> None:
    text = BASE.replace("base_url: https://api.x.com", f"base_url: {url}")
    err = _error(text)
    assert str(err).startswith(
        f"automation.yaml:{_line(text, 'x_api:') + 1}: x_api.base_url: "
        "expected an http:// or https:// URL such as https://api.x.com, got '"
    )


def test_webhooks_redirect_to_is_a_staging_setting_of_its_own() -> None:
    assert _load(BASE).webhooks.redirect_to is None
    assert _load(BASE + "webhooks:\n").webhooks.redirect_to is None
    config = _load(BASE + "webhooks:\n  redirect_to: http://127.0.0.1:8099/hooks\n")
    assert config.webhooks.redirect_to == "http://127.0.0.1:8099/hooks"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("  redirect_to: hooks.local", "webhooks.redirect_to: expected an http:// or https:// URL"),
        (
            "  redirect: http://127.0.0.1/",
            "webhooks.redirect: unknown key; did you mean 'redirect_to'?",
        ),
    ],
)
def test_webhooks_section_errors(section: str, message: str) -> None:
    text = BASE + "webhooks:\n" + section + "\n"
    assert str(_error(text)).startswith(f"automation.yaml:{_line(text, section)}: {message}")


def test_missing_required_section() -> None:
    text = MINIMAL.split("app:")[0]
    err = _error(text)
    assert str(err) == "automation.yaml:1: app: missing; it is required"


def test_missing_required_key_points_at_its_section() -> None:
    text = BASE.replace("  base_url: https://api.x.com\n", "")
    err = _error(text)
    assert (
        str(err)
        == f"automation.yaml:{_line(text, 'x_api')}: x_api.base_url: missing; it is required"
    )


def test_unquoted_user_id() -> None:
    text = BASE.replace('user_id: "2244994945"', "user_id: 2244994945")
    err = _error(text)
    assert str(err) == (
        f"automation.yaml:{_line(text, 'user_id')}: accounts.brand.user_id: expected the "
        'account\'s numeric user id in quotes, such as "2244994945", got 2244994945 without quotes'
    )


def test_bad_account_name() -> None:
    text = BASE.replace("  brand:", "  our brand:")
    err = _error(text)
    assert str(err) == (
        f"automation.yaml:{_line(text, 'our brand')}: accounts.our brand: 'our brand' is not a "
        "valid name: expected a short name of letters, digits, '-' and '_'"
    )


def test_bad_reference_syntax() -> None:
    text = BASE.replace("base_url: https://api.x.com", "base_url: https://${API HOST}")
    err = _error(text)
    assert str(err) == (
        f"automation.yaml:{_line(text, 'API HOST')}: x_api.base_url: bad variable reference "
        "'${API HOST}': write ${NAME} with letters, digits and '_'"
    )


def test_every_problem_is_reported_in_file_order() -> None:
    text = BASE.replace("poll_interval: 2m", "poll_interval: soon").replace(
        "max_attempts: 4", "max_attempts: many"
    )
    env = {k: v for k, v in SECRETS.items() if k != "X_BEARER_TOKEN"}
    lines = str(_error(text, env)).splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        f"automation.yaml:{_line(text, 'poll_interval')}",
        f"automation.yaml:{_line(text, 'bearer_token')}",
        f"automation.yaml:{_line(text, 'max_attempts')}",
    ]


def test_yaml_syntax_error_keeps_file_and_line() -> None:
    text = BASE.replace("poll_interval: 2m", "poll_interval: [2m")
    err = _error(text)
    assert err.exit_code == 2
    assert err.path == "automation.yaml"
    assert str(err).startswith("automation.yaml:")
    assert err.line >= _line(text, "poll_interval")


def test_duplicate_key_is_an_error() -> None:
    text = BASE + "poll_interval: 3m\n"
    err = _error(text)
    assert str(err).startswith(f"automation.yaml:{len(text.splitlines())}: ")
    assert "duplicate key 'poll_interval'" in str(err)


def test_missing_file() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(Path("nowhere.yaml"), env=SECRETS)
    assert str(caught.value) == "nowhere.yaml:1: no such file"
    assert caught.value.exit_code == 2


def test_empty_file() -> None:
    err = _error("")
    assert str(err).startswith("automation.yaml:1: expected a mapping of settings")


# ------------------------------------------------------------------ secrets never leak


def test_secret_values_are_not_in_repr_or_str() -> None:
    config = _load(BASE)
    for text in (repr(config), str(config), f"{config.app}", str(config.accounts)):
        _all_secret_values_absent(text)
        assert "${X_BEARER_TOKEN}" in repr(config)


def test_wrongly_typed_literal_secret_is_not_quoted_in_the_error() -> None:
    text = BASE.replace("${X_CONSUMER_SECRET}", "987654321").replace(
        "${X_BEARER_TOKEN}", "[tok-in-a-list-1234]"
    )
    err = _error(text)
    message = str(err)
    assert "987654321" not in message
    assert "tok-in-a-list-1234" not in message
    assert f"automation.yaml:{_line(text, 'consumer_secret')}: app.consumer_secret: " in message
    assert "got a number" in message
    assert "got a list" in message


def test_empty_secret_is_refused_without_echo() -> None:
    err = _error(BASE, {**SECRETS, "X_BEARER_TOKEN": ""})
    assert str(err) == (
        f"automation.yaml:{_line(BASE, 'bearer_token')}: app.bearer_token: expected a "
        "non-empty string, usually ${NAME}, got an empty string from ${X_BEARER_TOKEN}"
    )


def test_a_referenced_value_in_the_wrong_place_is_not_quoted() -> None:
    text = BASE.replace("base_url: https://api.x.com", "base_url: ${X_BEARER_TOKEN}")
    err = _error(text)
    assert str(err) == (
        f"automation.yaml:{_line(text, 'x_api') + 1}: x_api.base_url: expected an http:// or "
        "https:// URL such as https://api.x.com, got text of the wrong form from ${X_BEARER_TOKEN}"
    )


def test_errors_elsewhere_do_not_quote_secrets() -> None:
    text = BASE.replace("poll_interval: 2m", "poll_interval: x") + "extra: 1\n"
    _all_secret_values_absent(str(_error(text)))


def test_redactor_replaces_every_secret_value() -> None:
    config = _load(BASE)
    redact = redactor(config)
    text = " ".join(SECRETS.values()) + " plain"
    assert redact(text) == " ".join(["***"] * len(SECRETS)) + " plain"


def test_redactor_prefers_the_longest_match() -> None:
    env = {**SECRETS, "X_CONSUMER_KEY": "abc", "X_CONSUMER_SECRET": "abcdef"}
    redact = redactor(_load(MINIMAL, env))
    assert redact("x abcdef y abc") == "x *** y ***"


@pytest.fixture
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.usefixtures("_restore_root_logger")
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_never_reach_log_output(fmt: str) -> None:
    config = _load(BASE)
    out = io.StringIO()
    setup_logging(fmt, level=logging.DEBUG, stream=out, redact=redactor(config))  # type: ignore[arg-type]
    log = logging.getLogger("automation.test")
    log.info("loaded %s %s %s", config, config.app, config.app.bearer_token)
    log.warning("server said: bad token %s", config.app.bearer_token.reveal())
    log.info("webhook headers %s", {"X-Signature": config.webhook_secrets[0][1].reveal()})
    try:
        raise RuntimeError(f"echo {config.accounts[0].access_token.reveal()}")
    except RuntimeError:
        log.exception("action failed")
    text = out.getvalue()
    assert "Traceback" in text
    _all_secret_values_absent(text)
    assert "${X_BEARER_TOKEN}" in text
    if fmt == "json":
        assert all(json.loads(line) for line in text.splitlines())


@pytest.mark.parametrize("rule_file", ["rules/repost-at-100-likes.yaml", "rules.example.yaml"])
def test_a_rule_file_given_as_the_config_is_named_as_one(rule_file: str) -> None:
    path = Path(__file__).parents[2] / rule_file
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value) == (
        f"{path}:1: this is a rule file, not a config: check it with 'automation check "
        f"{path}', and give --config the config file (automation.yaml; "
        "deploy/automation.example.yaml shows every setting)"
    )


def test_the_example_config_is_not_taken_for_a_rule_file() -> None:
    path = Path(__file__).parents[2] / "deploy" / "automation.example.yaml"
    with pytest.raises(ConfigError) as caught:  # its secrets are not set here
        load_config(path, env={})
    assert "rule file" not in str(caught.value)
    assert "is not set" in str(caught.value)


@pytest.mark.parametrize("section", ["engagement_api", "x_api"])
def test_a_plain_http_api_base_for_another_host_is_refused_when_loading(section: str) -> None:
    """Reference §1.1: "It is HTTPS only." A remote http:// base is refused with the
    https:// address to write instead; http:// to this machine (the sandbox) stays."""
    host = {"engagement_api": "data-api.x.com", "x_api": "api.x.com"}[section]
    text = BASE.replace(f"base_url: https://{host}", f"base_url: http://{host}")
    line = _line(text, f"http://{host}")
    assert str(_error(text)) == (
        f"automation.yaml:{line}: {section}.base_url: the X APIs are HTTPS only and plain "
        "http:// goes only to this machine (localhost or a loopback address): write "
        f"https://{host}{'/' if section == 'engagement_api' else ''} instead"
    )
    for local in ("http://127.0.0.1:8123", "http://localhost:8123", "http://[::1]:8123"):
        config = _load(BASE.replace(f"base_url: https://{host}", f"base_url: {local}"))
        assert getattr(config, section).base_url == local


def test_a_plain_http_base_from_a_variable_is_refused_without_quoting_it() -> None:
    text = BASE.replace("base_url: https://api.x.com", "base_url: ${X_BASE}")
    err = _error(text, {**SECRETS, "X_BASE": "http://api.x.com"})
    assert str(err) == (
        f"automation.yaml:{_line(text, 'X_BASE')}: x_api.base_url: the X APIs are HTTPS only "
        "and plain http:// goes only to this machine (localhost or a loopback address): "
        "write an https:// URL instead (in ${X_BASE})"
    )
