"""The ``automation`` program, as installed (``[project.scripts]``) and as ``python -m
automation``: the stop and reload signals are caught first, then the commands load.

Loading the commands' modules takes about 0.2 s (more on a busy machine): a SIGTERM in that
time would end ``automation run`` by the signal's default action (-15, or a SIGINT's
KeyboardInterrupt traceback), where spec section 8 asks for a stop and exit 0. Before this
point only the interpreter's own start-up runs, which no handler can precede.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> int:
    from automation.service.signals import catch

    signalled = catch()
    from automation.cli.main import main as command

    return command(signalled=signalled)
