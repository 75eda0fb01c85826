"""The ``automation`` command line: parse arguments, run one command, map errors to exit codes.

Each command lives in its own module with a ``register(subparsers)`` that adds its parser
and sets ``handler``; ``COMMANDS`` lists them in the order ``--help`` shows. Exit codes: 0
success; 1 the command ran and found a failure; 2 usage error or unusable config. Every
AutomationError becomes its message on stderr; a traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

from automation import __version__
from automation.cli import (
    actions,
    backtest,
    backup,
    check,
    copy_store,
    dashboard,
    demo_command,
    explain,
    history,
    metrics,
    migrate,
    pause,
    rearm,
    resume,
    rule_test,
    run,
    sandbox_command,
    schema,
    status,
    top,
    try_action,
)
from automation.cli.context import require_stdout, setup_logs
from automation.core.errors import AutomationError, UsageError
from automation.core.wording import closest
from automation.service.signals import Requests, release

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS: tuple[ModuleType, ...] = (
    check,
    run,
    rule_test,
    explain,
    history,
    status,
    top,
    metrics,
    actions,
    rearm,
    pause,
    resume,
    try_action,
    backtest,
    backup,
    migrate,
    copy_store,
    dashboard,
    demo_command,
    sandbox_command,
    schema,
)


# the commands whose product is what they print (metrics checks its own: it has --output;
# try-action too: a webhook it sends is its product, an action it only shows is not)
_PRINTING = frozenset(
    {"actions", "backtest", "demo", "explain", "history", "schema", "status", "top"}
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's is NoReturn; ours raises as well
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().rstrip()}")


class _Commands:
    """The subparsers, adding to each command the options every command accepts."""

    def __init__(self, sub: Any, common: argparse.ArgumentParser) -> None:
        self._sub, self._common = sub, common
        self.parsers: dict[str, argparse.ArgumentParser] = {}

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self._sub.add_parser(
            name, parents=[self._common], **kwargs
        )
        self.parsers[name] = parser
        return parser


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """argparse's parse_args, except that an unknown option is reported by the command it
    was given to, with that command's usage and the nearest option it has."""
    parser, commands = build_parsers()
    given = sys.argv[1:] if argv is None else argv
    _check_leading_options(parser, given)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        owner = commands.get(args.command or "", parser)
        options = [name for action in owner._actions for name in action.option_strings]
        near = closest(unknown[0].partition("=")[0], options)
        hint = f" (did you mean {near}?)" if near else _time_apart(given, unknown[0])
        owner.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    return args


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?Z?", re.IGNORECASE)


def _time_apart(argv: Sequence[str], unknown: str) -> str:
    """The hint for a time given apart from its date (``--from 2026-07-01 09:00``, the
    shell's two arguments): the two joined as one, else nothing."""
    at = argv.index(unknown) if unknown in argv else 0
    if at and _TIME.fullmatch(unknown) and _DATE.fullmatch(argv[at - 1]):
        return f" (a date and its time are one argument: {argv[at - 1]}T{unknown})"
    return ""


def _check_leading_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """Refuse an unknown option given before the command by its own name. argparse would
    take the option's value for the command (``automation -c my.yaml status`` says "invalid
    choice: 'my.yaml'"), which names neither the option nor the fix."""
    options = {name: action for action in parser._actions for name in action.option_strings}
    at = 0
    while at < len(argv) and argv[at].startswith("-") and argv[at] != "--":
        name, has_value, _ = argv[at].partition("=")
        found = [
            options[o] for o in options if o == name or (name[:2] == "--" and o.startswith(name))
        ]
        if len({id(action) for action in found}) != 1:
            near = closest(name, options) or _same_initial(name, options)
            hint = f" (did you mean {near}?)" if near else ""
            parser.error(f"unrecognized option before the command: {name}{hint}")
        takes_value = found[0].nargs != 0 and not has_value
        at += 2 if takes_value else 1


def _same_initial(name: str, options: Iterable[str]) -> str | None:
    """The one long option a single-letter option most likely means: ``-c`` for
    ``--config``."""
    if len(name) != 2 or name[1] == "-":
        return None
    longs = [o for o in options if o.startswith("--" + name[1])]
    return longs[0] if len(longs) == 1 else None


def build_parser() -> argparse.ArgumentParser:
    return build_parsers()[0]


def build_parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser and, by name, each command's."""
    p = _Parser(prog="automation", description="Act on X posts when they perform.")
    p.add_argument(
        "--config", help="config file (default: $AUTOMATION_CONFIG, else ./automation.yaml)"
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    p.add_argument("--log-format", choices=("text", "json"), default="text")
    p.add_argument("--version", action="version", version=f"automation {__version__}")
    # --config, --debug and --log-format are accepted after the command too (``automation
    # check --config FILE``, ``automation run --once --debug``).
    common = _Parser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    common.add_argument(
        "--log-format", choices=("text", "json"), default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands = _Commands(sub, common)
    for command in COMMANDS:
        command.register(commands)
    return p, commands.parsers


def main(argv: Sequence[str] | None = None, *, signalled: Requests | None = None) -> int:
    """Run the command ``argv`` names (the program's arguments unless given). ``signalled``:
    the stop and reload signals caught as the program started (``automation.program``),
    which ``run`` takes over and every other command gives back."""
    args = None
    try:
        args = _parse(argv)
        if signalled is not None and args.command != "run":
            release(signalled)
        args.signalled = signalled
        if not args.command:
            raise UsageError("automation: a COMMAND is required (try 'automation --help')")
        _check_stdout(args)
        setup_logs(args)
        code: int = args.handler(args)
        return code
    except AutomationError as exc:
        if args is not None and args.debug:
            traceback.print_exc()
        said = str(exc)
        _say_failure(
            args, said if said.startswith(("automation:", "automation ")) else f"automation: {said}"
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
        _say_failure(
            args,
            f"automation: internal error: {exc.__class__.__name__}: {exc} "
            "(run with --debug for details)",
        )
        return 1


def _check_stdout(args: argparse.Namespace) -> None:
    """Refuse, before doing anything, a command whose product is what it prints when
    standard output is closed (``>&-``: Python's ``sys.stdout`` is None and every
    print would vanish while the command says it succeeded). A command that acts
    (``actions retry`` too) runs: what it prints is a report, its exit code the answer."""
    acts = getattr(args, "verb", None) == "retry"
    if (args.command in _PRINTING and not acts) or getattr(args, "json", False):
        require_stdout(args.command)


def _say_failure(args: argparse.Namespace | None, message: str) -> None:
    """The message a failed command ends with, on stderr: under ``--log-format json`` a
    JSON record like every other line there (what reads the engine's log reads why it
    stopped), else the message as it is."""
    if args is not None and args.log_format == "json":
        from automation.service.logs import JsonFormatter

        fields = {"name": "automation", "levelname": "ERROR", "msg": message}
        message = JsonFormatter().format(logging.makeLogRecord(fields))
    print(message, file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
