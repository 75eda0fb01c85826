"""An ``automation.yaml`` (spec §4) that points the engine at a running sandbox.

The sandbox's credentials are public test values, so they are written literally instead of
as ``${NAME}`` references: the file works with no environment set up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import yaml

from automation.config.atomic_file import atomic_output
from automation.core.errors import UsageError
from automation.core.wording import shown_path
from automation.rulefiles.shipped import starter_rules
from automation.sandbox import credentials

__all__ = ["STARTER_RULES_DIR", "write_config", "write_starter_rules"]

_SCHEMA_LINE = re.compile(r"^(# yaml-language-server: \$schema=)\S+$", re.MULTILINE)

STARTER_RULES_DIR = "rules/"  # the rules path a written config names by default
SANDBOX_HOSTS = ("*.example.com", "127.0.0.1")  # the shipped rules' hosts, the local receiver

_HEADER = (
    "# Engagement Automation config for the local sandbox (written by `automation sandbox`).\n"
    "# The credentials below are the sandbox's documented test values, not real secrets.\n"
)


def config_text(
    base_url: str,
    *,
    requests_per_minute: int = 60,
    poll_interval: str = "1m",
    database: str = "automation.db",
    rules: Sequence[str] = (STARTER_RULES_DIR,),
    webhooks_to: str | None = None,
) -> str:
    """``webhooks_to``: deliver every webhook there (``webhooks.redirect_to``)."""
    doc: dict[str, object] = {
        "database": database,
        "rules": list(rules),
        "poll_interval": poll_interval,
        "engagement_api": {"base_url": base_url, "requests_per_minute": requests_per_minute},
        "x_api": {"base_url": base_url},
        "app": {
            "consumer_key": credentials.CONSUMER_KEY,
            "consumer_secret": credentials.CONSUMER_SECRET,
            "bearer_token": credentials.BEARER_TOKEN,
        },
        "accounts": {
            a.name: {
                "user_id": a.user_id,
                "access_token": a.access_token,
                "access_token_secret": a.access_token_secret,
            }
            for a in credentials.ACCOUNTS
        },
        "webhook_secrets": dict(credentials.WEBHOOK_SECRETS),
    }
    # The rules' hosts, and the local receiver by its address: webhooks.allow_hosts refuses
    # addresses inside the network unless they are listed explicitly.
    webhooks: dict[str, object] = {"allow_hosts": list(SANDBOX_HOSTS)}
    if webhooks_to is not None:
        webhooks["redirect_to"] = webhooks_to
    doc["webhooks"] = webhooks
    return _HEADER + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def write_config(
    path: Path | str,
    base_url: str,
    *,
    requests_per_minute: int = 60,
    poll_interval: str = "1m",
    database: str = "automation.db",
    rules: Sequence[str] = (STARTER_RULES_DIR,),
    webhooks_to: str | None = None,
) -> Path:
    """Write the config to ``path`` (parent directories created) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = config_text(
        base_url,
        requests_per_minute=requests_per_minute,
        poll_interval=poll_interval,
        database=database,
        rules=rules,
        webhooks_to=webhooks_to,
    )
    with atomic_output(target) as out:  # an engine started beside may read it at once
        out.write(text)
    return target


def check_replaceable(path: Path) -> None:
    """Refuse, saying what to do, to replace a config the sandbox did not write: someone's
    own, with real credentials, where a how-to says ``--write-config automation.yaml``."""
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            first = file.readline()
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise UsageError(
            f"--write-config {shown_path(str(path))}: it is a directory; give a file name"
        ) from None
    if first.strip() and first != _HEADER.splitlines(keepends=True)[0]:
        raise UsageError(
            f"--write-config {shown_path(str(path))}: the file exists and the sandbox did "
            "not write it (your own "
            "config?), so it is left as it is: write the sandbox's to another file "
            "(--write-config sandbox.yaml) and give that to commands with --config sandbox.yaml"
        )


def write_starter_rules(config: Path) -> Path | None:
    """Give a written config the rules it names: when ``rules/`` beside ``config`` does not
    exist, create it with the starter rules and return it; None when it already exists."""
    directory = Path(config).parent / STARTER_RULES_DIR
    if directory.exists():
        return None
    directory.mkdir(parents=True)
    # the shipped files name the schema relative to the repository ('../automation/...'),
    # which is not there beside a user's config: name the installed schema instead
    schema = resources.files("automation.rulefiles").joinpath("rule_schema.json")
    for name, text in starter_rules().items():
        text = _SCHEMA_LINE.sub(lambda line: f"{line.group(1)}{schema}", text, count=1)
        (directory / name).write_text(text, encoding="utf-8")
    return directory
