"""A non-editable install (``pip install .``, as the deployment steps do) holds everything
the demo and ``sandbox --write-config`` need, and both work from any directory.

The package is built into a wheel from a copy of the checkout and installed into a target
directory; each command then runs in a fresh interpreter, in an empty directory, importing
the installed copy.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Result

REPO = Path(__file__).resolve().parents[2]
_IMPORT_INSTALLED = (
    "import sys, automation\n"
    "site = sys.argv.pop(1)\n"
    "assert automation.__file__.startswith(site), f'imported {automation.__file__}'\n"
    "from automation.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _pip(*args: str | Path) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pip", "-q", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("install")
    source = work / "source"  # what an sdist holds; the build leaves the checkout untouched
    for name in ("automation", "rules"):
        skip = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPO / name, source / name, symlinks=True, ignore=skip)
    for name in ("pyproject.toml", "README.md", "MANIFEST.in", "rules.example.yaml"):
        shutil.copy2(REPO / name, source / name)
    _pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", work / "wheels", source)
    target = work / "site"
    _pip("install", "--no-deps", "--no-index", "--target", target, *(work / "wheels").iterdir())
    return target


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AUTOMATION_CONFIG"}
    return {**env, "PYTHONPATH": str(site)}


def _automation(site: Path, cwd: Path, *args: str) -> Result:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_INSTALLED, str(site), *args],
        cwd=cwd,
        env=_env(site),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def test_the_demo_runs_from_an_installed_package_anywhere(site: Path, tmp_path: Path) -> None:
    result = _automation(site, tmp_path, "demo", "--seconds", "0")
    assert result.code == 0, result
    assert "rules from rules.example.yaml" in result.out
    assert "FIRED example-repost-likes" in result.out
    assert list(tmp_path.iterdir()) == []  # nothing left behind where it ran


def test_sandbox_write_config_from_an_installed_package_gives_working_rules(
    site: Path, tmp_path: Path
) -> None:
    args = ["sandbox", "--port", "0", "--write-config", "automation.yaml"]
    with subprocess.Popen(
        [sys.executable, "-c", _IMPORT_INSTALLED, str(site), *args],
        cwd=tmp_path,
        env=_env(site),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        assert server.stdout is not None
        lines = []
        for line in server.stdout:
            lines.append(line)
            if "press Ctrl-C" in line:
                break
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0, lines
    assert any("starter rules" in line for line in lines), lines
    assert sorted(p.name for p in (tmp_path / "rules").iterdir()) == sorted(
        p.name for p in (REPO / "rules").glob("*.yaml")
    )
    check = _automation(site, tmp_path, "check")
    assert check.code == 0, check
    assert "0 errors" in check.err
