"""The ``automation`` command line: parse arguments, run one command, map errors to exit codes.

Exit codes: 0 success; 1 the command ran and found a failure; 2 usage error or unusable
config. Every AutomationError becomes its message on stderr; a traceback is shown only
with ``--debug``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from automation import __version__
from automation.core.errors import AutomationError, ConfigError, UsageError

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().rstrip()}")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="automation", description="Act on X posts when they perform.")
    p.add_argument(
        "--config", help="config file (default: $AUTOMATION_CONFIG, else ./automation.yaml)"
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    p.add_argument("--log-format", choices=("text", "json"), default="text")
    p.add_argument("--version", action="version", version=f"automation {__version__}")
    # --config is accepted after the command too (``automation check --config FILE``).
    common = _Parser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add = sub.add_parser

    def add_parser(name: str, **kwargs: object) -> argparse.ArgumentParser:
        return _add(name, parents=[common], **kwargs)  # type: ignore[arg-type]

    sub.add_parser = add_parser  # type: ignore[method-assign]

    c = sub.add_parser("check", help="validate rule files")
    c.add_argument("paths", nargs="*", type=Path)
    r = sub.add_parser("run", help="the polling loop")
    r.add_argument("--once", action="store_true", help="one cycle, then exit")
    r.add_argument("--dry-run", action="store_true", help="read the API, record and do nothing")
    r.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    t = sub.add_parser("test", help="run rule unit tests")
    t.add_argument("files", nargs="*", type=Path)
    e = sub.add_parser("explain", help="why a rule did or did not fire for a post")
    e.add_argument("rule_id")
    e.add_argument("post_id")
    h = sub.add_parser("history", help="firings, newest first")
    h.add_argument("--rule")
    h.add_argument("--post")
    h.add_argument("--limit", type=_positive, default=20)
    h.add_argument("--json", action="store_true")
    s = sub.add_parser("status", help="last cycle, posts, rules, actions, budget")
    s.add_argument("--json", action="store_true")
    tp = sub.add_parser("top", help="watched posts highest in a metric")
    tp.add_argument("--metric", required=True)
    tp.add_argument("-n", type=_positive, default=10)
    a = sub.add_parser("actions", help="the outbox; 'actions retry ID' re-queues a dead one")
    a.add_argument("verb", nargs="?", choices=("retry",))
    a.add_argument("action_id", nargs="?")
    a.add_argument("--dead", action="store_true")
    a.add_argument("--json", action="store_true")
    ra = sub.add_parser("rearm", help="forget firings so the rule may fire again")
    ra.add_argument("rule_id")
    ra.add_argument("post_id", nargs="?")
    d = sub.add_parser("demo", help="the whole engine against the built-in sandbox")
    d.add_argument("--seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    sb = sub.add_parser("sandbox", help="serve the simulated X API on 127.0.0.1")
    sb.add_argument("--port", type=int, default=8099)
    sb.add_argument("--write-config", type=Path)
    sb.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    sb.add_argument("--fault-rate", type=float, default=0.0)
    sub.add_parser("schema", help="print the rule files' JSON Schema")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = None
    try:
        args = build_parser().parse_args(argv)
        if not args.command:
            raise UsageError("automation: a COMMAND is required (try 'automation --help')")
        _setup_logs(args)
        return _dispatch(args)
    except AutomationError as exc:
        if args is not None and args.debug:
            traceback.print_exc()
        print(
            f"automation: {exc}" if not str(exc).startswith("automation") else str(exc),
            file=sys.stderr,
        )
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # ``automation schema | head``: the reader left, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug, not a user error: say so briefly
        if args is not None and args.debug:
            traceback.print_exc()
        print(
            f"automation: internal error: {exc.__class__.__name__}: {exc} "
            "(run with --debug for details)",
            file=sys.stderr,
        )
        return 1


def _setup_logs(args: argparse.Namespace, *, redact: Callable[[str], str] | None = None) -> None:
    """Logs on stderr; once the config is known, its secret values are masked as well."""
    from automation.service.logs import setup_logging

    level = logging.DEBUG if args.debug else logging.INFO
    setup_logging(args.log_format, level=level, stream=sys.stderr, redact=redact)


def _config(args: argparse.Namespace, *, required: bool = True, names_only: bool = False):
    from automation.config.loader import config_path, load_config, redactor

    path = config_path(args.config, os.environ)
    if not path.exists():
        if not required:
            return None
        raise ConfigError(
            f"no config file at {path}: give --config FILE or set AUTOMATION_CONFIG "
            "(to try the sandbox: automation sandbox --write-config automation.yaml)"
        )
    config = load_config(path, names_only=names_only)
    _setup_logs(args, redact=redactor(config))
    return config


def _dispatch(args: argparse.Namespace) -> int:
    cmd = args.command
    if cmd == "schema":
        from automation.rulefiles.schema import schema_text

        print(schema_text())
        return 0
    if cmd == "check":
        return _check(args)
    if cmd == "run":
        from automation.service.run import run

        return run(_config(args), once=args.once, dry_run=args.dry_run, json_out=args.json)
    if cmd == "demo":
        from automation.cli.demo import run_demo

        return run_demo(seconds=args.seconds)
    if cmd == "sandbox":
        from automation.sandbox import serve

        return serve(
            port=args.port,
            write_config=args.write_config,
            speed=args.speed,
            fault_rate=args.fault_rate,
        )
    if cmd == "test":
        return _test(args)
    from automation.cli import inspect as inspect_commands

    return inspect_commands.dispatch(args, _config(args))


def _check(args: argparse.Namespace) -> int:
    """Paths given: check them, cross-checking names when a config is found. No paths:
    the config's rules, so the config is required."""
    from automation.cli.check import run_check

    explicit = bool(args.config or os.environ.get("AUTOMATION_CONFIG"))
    config = _config(args, required=explicit or not args.paths, names_only=True)
    paths = list(args.paths) or list(config.rules)
    return run_check(paths, config=config, err=sys.stderr)


def _test(args: argparse.Namespace) -> int:
    """Rule unit tests. Without FILE: ``rule-tests/*.yaml`` next to the config file when one
    is named (``--config`` or ``$AUTOMATION_CONFIG``), else in the current directory. The
    config itself is not read: tests bring their own fakes and need no credentials."""
    from automation.rule_tests import default_files, run_files

    files = list(args.files)
    if not files:
        named = args.config or os.environ.get("AUTOMATION_CONFIG")
        base = Path(named).parent if named else Path()
        files = default_files(base)
        if not files:
            raise UsageError(
                f"automation test: no rule test files (*.yaml) in {base / 'rule-tests'}; "
                "name them: automation test FILE ..."
            )
    return run_files(files, out=sys.stdout, err=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
