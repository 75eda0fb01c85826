"""The config file (``automation.yaml``): its model as frozen values, and its loader.

The loader reads the file with the same strict YAML loader as rule files, resolves
``${NAME}`` from the environment or from ``$CREDENTIALS_DIRECTORY/NAME`` (systemd
``LoadCredential=``), and reports every problem with the file, line and key. Secret values
are wrapped in ``Secret`` and never printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jsonschema import ValidationError

from automation.config.database import (
    PostgresDatabase,
    database_of,
    default_migrate,
)
from automation.config.model import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    DEFAULT_MAX_STALENESS,
    DEFAULT_POLL_INTERVAL,
    Account,
    ActionSettings,
    AppCredentials,
    Config,
    DashboardSettings,
    HistorySettings,
    RetentionSettings,
)
from automation.config.paths import home_problem, named_paths, resolve
from automation.config.schema import VALIDATOR, config_schema
from automation.config.secret import Secret
from automation.config.secret import redactor as secret_redactor
from automation.config.sections import (
    alert_settings,
    api_settings,
    metrics_settings,
    plain_http_problem,
    seconds,
    webhook_settings,
)
from automation.core.destinations import bad_pattern
from automation.core.durations import duration_hint, format_duration
from automation.core.errors import ConfigError, RuleError
from automation.core.wording import closest, shown_path
from automation.rulefiles.schema import failed_value, keyword_value
from automation.rulefiles.yaml_loader import YamlDocument, load_document

__all__ = [
    "SecretMode",
    "config_path",
    "load_config",
    "redactor",
]

# --------------------------------------------------------------------------- loading

PathParts = tuple[str | int, ...]

_SECRET_FIELDS = {
    ("app", "consumer_key"),
    ("app", "consumer_secret"),
    ("app", "bearer_token"),
    ("accounts", "*", "access_token"),
    ("accounts", "*", "access_token_secret"),
    ("webhook_secrets", "*"),
    ("dashboard", "password"),
}
# Secrets only one command reveals, resolved when used whatever the mode: the engine's unit
# loads the engine's secrets, and the dashboard's its password.
_COMMAND_SECRETS = {("dashboard", "password")}
# what takes a duration (a timeout may also be a number of seconds), for the hint
_DURATIONS = [config_schema()["$defs"][name] for name in ("duration", "timeout")]
# the unit a bare number most likely meant, for the hint (else minutes)
_LIKELY_UNIT: dict[PathParts, str] = {
    ("history", "keep"): "d",
    ("retention", "firings"): "d",
    ("engagement_api", "timeout"): "s",
    ("x_api", "timeout"): "s",
}
_OPTIONAL_SECTIONS = (
    "accounts",
    "webhook_secrets",
    "actions",
    "history",
    "metrics",
    "webhooks",
    "retention",
    "alerts",
    "dashboard",
)
# ``$${X}`` is a literal ``${X}``; ``${NAME}`` a reference; a lone ``${`` a mistake.
_REFERENCE = re.compile(r"\$\$\{|\$\{([^{}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def config_path(cli_value: str | None, env: Mapping[str, str] | None = None) -> Path:
    """``--config``, else ``$AUTOMATION_CONFIG``, else ``./automation.yaml``."""
    env = os.environ if env is None else env
    return Path(cli_value or env.get(CONFIG_ENV) or DEFAULT_CONFIG)


SecretMode = Literal["required", "when_used"]


def load_config(
    path: Path, *, env: Mapping[str, str] | None = None, secrets: SecretMode = "required"
) -> Config:
    """Read, resolve and validate the config file, or raise ConfigError (exit code 2).

    Every problem found is reported at once, each as ``FILE:LINE: KEY: MESSAGE``.
    ``secrets="when_used"`` is for commands that never call X (``status``, ``check``, ...):
    a secret that is not set where they run (an administrator's shell, a marketer's
    laptop) is then left unresolved instead of being an error, and only revealing it
    raises that error. Everything else is checked as strictly as for ``run``.
    """
    path = Path(path)
    env = os.environ if env is None else env
    try:
        doc = load_document(path, variables=True)
    except RuleError as exc:
        raise _config_error(
            str(path), [_Issue(p.line, "", p.message) for p in exc.problems if p.is_error]
        ) from None
    if _is_rule_file(doc.data):
        raise ConfigError(
            "this is a rule file, not a config: check it with 'automation check "
            f"{shown_path(str(path))}', and give --config the config file (automation.yaml; "
            "deploy/automation.example.yaml shows every setting)",
            path=str(path),
            line=1,
        )
    return _Loader(doc, path, env, secrets=secrets).load()


def _is_rule_file(data: object) -> bool:
    """A mapping with the rule files' ``version:`` and a list of rules that are mappings."""
    if not isinstance(data, dict) or "version" not in data:
        return False
    rules = data.get("rules")
    return isinstance(rules, list) and any(isinstance(rule, dict) for rule in rules)


def redactor(config: Config) -> Callable[[str], str]:
    """A function that replaces every secret value of ``config`` in a text with ``***``."""
    return secret_redactor(_secrets(config))


def _secrets(config: Config) -> Iterator[Secret]:
    yield config.app.consumer_key
    yield config.app.consumer_secret
    yield config.app.bearer_token
    for account in config.accounts:
        yield account.access_token
        yield account.access_token_secret
    for _, secret in config.webhook_secrets:
        yield secret
    if config.dashboard.password is not None:
        yield config.dashboard.password
    if isinstance(config.database, PostgresDatabase) and config.database.password is not None:
        yield config.database.password


@dataclass(frozen=True, order=True)
class _Issue:
    line: int
    key: str
    message: str

    def text(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message


def _config_error(name: str, issues: Sequence[_Issue]) -> ConfigError:
    issues = sorted(set(issues)) or [_Issue(1, "", "cannot be used")]
    first, rest = issues[0], issues[1:]
    shown = shown_path(name)
    message = "\n".join([first.text(), *(f"{shown}:{i.line}: {i.text()}" for i in rest)])
    return ConfigError(message, path=name, line=first.line, key=first.key)


def _dotted(parts: Sequence[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _is_secret(parts: Sequence[str | int]) -> bool:
    def matches(pattern: tuple[str, ...]) -> bool:
        return len(parts) == len(pattern) and all(
            p in ("*", q) for p, q in zip(pattern, parts, strict=True)
        )

    return any(matches(pattern) for pattern in _SECRET_FIELDS)


class _Loader:
    """One load of one file: collects every issue, then builds the Config."""

    def __init__(
        self, doc: YamlDocument, path: Path, env: Mapping[str, str], *, secrets: SecretMode
    ) -> None:
        self.doc, self.path, self.env = doc, path, env
        self.defer_secrets = secrets == "when_used"
        self.name = str(path)
        self.issues: list[_Issue] = []
        self.sources: dict[PathParts, str] = {}  # path of a lone reference -> "${NAME}"
        self.substituted: dict[PathParts, str] = {}  # path -> the references it used
        self.unresolved: set[PathParts] = set()
        self.deferred: dict[PathParts, str] = {}  # secret path -> why it is not available

    def load(self) -> Config:
        data = self.doc.data
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if not (k in _OPTIONAL_SECTIONS and v is None)}
        data = self._substitute(data, ())
        for error in VALIDATOR.iter_errors(data):
            self._schema_issue(error)
        if not self.issues:
            self._cross_check(data)
        if self.issues:
            raise _config_error(self.name, self.issues)
        return self._build(data)

    def _issue(self, parts: PathParts, message: str, *, key: bool = False) -> None:
        line, _ = self.doc.position(list(parts), key=key)
        self.issues.append(_Issue(line, _dotted(parts), message))

    # ----------------------------------------------------------------- ${NAME}

    def _substitute(self, value: Any, parts: PathParts) -> Any:
        if isinstance(value, dict):
            return {k: self._substitute(v, (*parts, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._substitute(v, (*parts, i)) for i, v in enumerate(value)]
        if not isinstance(value, str) or "$" not in value:
            return value
        names: list[str] = []

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name = match.group(1)
            if name is None or not _NAME.fullmatch(name):
                shown = "" if _is_secret(parts) else f" {match.group(0)!r}"
                self._issue(
                    parts,
                    f"bad variable reference{shown}: write ${{NAME}} with letters, digits and '_'",
                )
                self.unresolved.add(parts)
                return match.group(0)
            names.append(name)
            resolved = self._lookup(name, parts)
            return match.group(0) if resolved is None else resolved

        result = _REFERENCE.sub(replace, value)
        if names:
            self.substituted[parts] = ", ".join(f"${{{n}}}" for n in names)
        if len(names) == 1 and value.strip() == f"${{{names[0]}}}":
            self.sources[parts] = f"${{{names[0]}}}"
        return result

    def _lookup(self, name: str, parts: PathParts) -> str | None:
        if name in self.env:
            return self.env[name]
        directory = self.env.get("CREDENTIALS_DIRECTORY")
        if directory:
            file = Path(directory) / name
            try:
                text = file.read_text("utf-8")
            except FileNotFoundError:
                pass
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or "not UTF-8 text"
                return self._unavailable(name, parts, f"${{{name}}}: cannot read {file}: {reason}")
            else:
                return text.removesuffix("\n")  # read_text reads "\r\n" as "\n"
        return self._unavailable(
            name,
            parts,
            f"${{{name}}} is not set: set the environment variable {name}, or provide the "
            f"file {name} in $CREDENTIALS_DIRECTORY (systemd LoadCredential={name}:FILE)",
        )

    def _unavailable(self, name: str, parts: PathParts, message: str) -> str | None:
        """An error now, or for a secret when it is only needed if used, a placeholder
        that passes validation and an error kept for the moment it is revealed."""
        if (self.defer_secrets and _is_secret(parts)) or parts in _COMMAND_SECRETS:
            line, _ = self.doc.position(list(parts))
            self.deferred[parts] = f"{self.name}:{line}: {_dotted(parts)}: {message}"
            return f"(unset {name})"
        self._issue(parts, message)
        self.unresolved.add(parts)
        return None

    # ----------------------------------------------------------------- schema errors

    def _schema_issue(self, error: ValidationError) -> None:
        parts: PathParts = tuple(error.absolute_path)
        if any(parts[: len(u)] == u for u in self.unresolved):
            return  # already reported as an unset variable
        schema = error.schema if isinstance(error.schema, dict) else {}
        if error.validator == "additionalProperties":
            known = sorted(schema.get("properties", {}))
            for extra in sorted(set(failed_value(error)) - set(known)):
                self._issue((*parts, extra), _unknown_key(str(extra), known), key=True)
        elif error.validator == "required":
            line, _ = self.doc.position(list(parts), key=bool(parts))
            for missing in keyword_value(error):
                if missing not in failed_value(error):
                    self.issues.append(
                        _Issue(line, _dotted((*parts, missing)), "missing; it is required")
                    )
        elif "propertyNames" in error.relative_schema_path:
            name = failed_value(error)
            self._issue(
                (*parts, name),
                f"{name!r} is not a valid name: expected {schema.get('x-expected', 'a name')}",
                key=True,
            )
        else:
            expected = schema.get("x-expected", error.message)
            # A value that came from the environment or a credential file is never quoted:
            # it may be a secret put in the wrong place.
            source = self.substituted.get(parts)
            secret = schema.get("x-secret", False) or _is_secret(parts) or source is not None
            # A number where a duration is wanted lacks a unit, not quotes: say how to write it.
            duration = schema in _DURATIONS
            text = schema.get("type") == "string" and not duration
            got = _describe(error.instance, secret=secret, wants_text=text)
            got += f" from {source}" if source else ""
            if duration and not secret:
                got += duration_hint(error.instance, likely=_LIKELY_UNIT.get(parts, "m"))
            self._issue(parts, f"expected {expected}, got {got}")

    def _cross_check(self, data: dict[str, Any]) -> None:
        """What the schema cannot say: a real port, and names that must exist."""
        listen = (data.get("metrics") or {}).get("listen")
        if listen is not None and int(listen.rpartition(":")[2]) > 65535:
            self._issue(("metrics", "listen"), f"port {listen.rpartition(':')[2]} is above 65535")
        for index, pattern in enumerate((data.get("webhooks") or {}).get("allow_hosts") or []):
            problem = bad_pattern(pattern)
            if problem:
                self._issue(("webhooks", "allow_hosts", index), problem)
        secret = (data.get("alerts") or {}).get("secret")
        known = sorted(data.get("webhook_secrets") or {})
        if secret is not None and secret not in known:
            names = ", ".join(known) or "none are defined"
            self._issue(
                ("alerts", "secret"),
                f"no webhook secret named {secret!r} under webhook_secrets ({names})",
            )
        for section in ("engagement_api", "x_api"):
            base: PathParts = (section, "base_url")
            problem = plain_http_problem(data[section]["base_url"], self.substituted.get(base))
            if problem:
                self._issue(base, problem)
        for parts, value in named_paths(data):
            problem = home_problem(value)
            if problem:
                self._issue(parts, problem)
        staleness = data.get("max_staleness")
        interval = seconds(data.get("poll_interval"), DEFAULT_POLL_INTERVAL)
        if staleness is not None and seconds(staleness, 0) < interval:
            self._issue(
                ("max_staleness",),
                f"{staleness} is shorter than poll_interval ({format_duration(interval)}): a post"
                " is read at most once a cycle; make it at least the poll interval",
            )

    # ----------------------------------------------------------------- building

    def _path(self, value: str) -> Path:
        return resolve(value, self.path)

    def _secret(self, parts: PathParts, value: str) -> Secret:
        source = self.sources.get(parts, f"{_dotted(parts)} in {self.name}")
        if parts in self.deferred:
            return Secret.unset(source, self.deferred[parts])
        return Secret(value, source=source)

    def _build(self, data: dict[str, Any]) -> Config:
        app = data["app"]
        accounts = data.get("accounts") or {}
        secrets = data.get("webhook_secrets") or {}
        actions = data.get("actions") or {}
        database = database_of(data["database"], self._path)
        return Config(
            path=self.path.absolute(),
            database=database,
            migrate=data.get("migrate") or default_migrate(database),
            rules=tuple(self._path(item) for item in data["rules"]),
            poll_interval=seconds(data.get("poll_interval"), DEFAULT_POLL_INTERVAL),
            engagement_api=api_settings(data["engagement_api"]),
            x_api=api_settings(data["x_api"]),
            app=AppCredentials(
                **{k: self._secret(("app", k), v) for k, v in app.items()},
            ),
            accounts=tuple(
                Account(
                    name=name,
                    user_id=item["user_id"],
                    access_token=self._secret(
                        ("accounts", name, "access_token"), item["access_token"]
                    ),
                    access_token_secret=self._secret(
                        ("accounts", name, "access_token_secret"), item["access_token_secret"]
                    ),
                )
                for name, item in accounts.items()
            ),
            webhook_secrets=tuple(
                (name, self._secret(("webhook_secrets", name), value))
                for name, value in secrets.items()
            ),
            actions=ActionSettings(
                first_retry=seconds(actions.get("first_retry"), ActionSettings.first_retry),
                max_attempts=actions.get("max_attempts", ActionSettings.max_attempts),
            ),
            history=HistorySettings(
                keep=seconds((data.get("history") or {}).get("keep"), HistorySettings.keep)
            ),
            metrics=metrics_settings(data.get("metrics")),
            webhooks=webhook_settings(data.get("webhooks") or {}),
            retention=RetentionSettings(
                firings=seconds(
                    (data.get("retention") or {}).get("firings"), RetentionSettings.firings
                )
            ),
            alerts=alert_settings(data.get("alerts")),
            dashboard=self._dashboard(data.get("dashboard") or {}),
            max_staleness=seconds(data.get("max_staleness"), DEFAULT_MAX_STALENESS),
        )

    def _dashboard(self, section: dict[str, Any]) -> DashboardSettings:
        password = section.get("password")
        if password is None:
            return DashboardSettings()
        return DashboardSettings(password=self._secret(("dashboard", "password"), password))


def _unknown_key(key: str, known: Sequence[str]) -> str:
    close = closest(key, known)
    if close:
        return f"unknown key; did you mean {close!r}?"
    if known:
        return f"unknown key; expected one of: {', '.join(known)}"
    return "unknown key"


def _describe(value: Any, *, secret: bool, wants_text: bool) -> str:
    """How a wrong value is shown in a message; secret values are never shown."""
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return "true/false" if secret else f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, int | float):
        if secret:
            return "a number"
        return f"{value} without quotes" if wants_text else f"{value}"
    if isinstance(value, str):
        if secret:
            return "an empty string" if not value else "text of the wrong form"
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    return type(value).__name__
