"""``promtool check metrics`` (Debian's ``prometheus`` package) for exposition tests.

CI installs it (``.ci/run``) and must not skip; a developer's machine without it skips,
naming the package to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

__all__ = ["promtool", "promtool_check"]


def promtool(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run promtool; skip (fail in CI) when it is not installed."""
    tool = shutil.which("promtool")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing in CI: .ci/run installs the Debian package prometheus")
        pytest.skip("promtool not installed: apt-get install prometheus")
    return subprocess.run([tool, *args], input=stdin, capture_output=True, timeout=30, check=False)


def promtool_check(exposition: bytes) -> None:
    """Fail the test with promtool's words if ``exposition`` is not a valid one."""
    done = promtool("check", "metrics", stdin=exposition)
    problems = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
    assert done.returncode == 0 and not problems, problems
