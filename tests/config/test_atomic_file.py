"""A file written whole or not at all, through a symbolic link too: the file the link
points to is replaced and the link kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from automation.config.atomic_file import atomic_output


def _write(target: Path, text: str) -> None:
    with atomic_output(target) as out:
        out.write(text)


def test_a_plain_file_is_replaced_with_its_mode_kept(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)

    _write(target, "new\n")

    assert target.read_text(encoding="utf-8") == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_link_to_a_file_in_another_directory_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "mine").mkdir()
    real = tmp_path / "shared" / "numbers.csv"
    real.write_text("old\n", encoding="utf-8")
    real.chmod(0o604)
    link = tmp_path / "mine" / "link.csv"
    link.symlink_to(Path("..") / "shared" / "numbers.csv")  # relative, as ln -s writes it

    _write(link, "new\n")

    assert link.is_symlink() and os.readlink(link) == os.path.join("..", "shared", "numbers.csv")
    assert real.read_text(encoding="utf-8") == "new\n"
    assert real.stat().st_mode & 0o777 == 0o604
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["numbers.csv"]
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["link.csv"]


def test_a_chain_of_links_replaces_the_last_file(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old\n", encoding="utf-8")
    (tmp_path / "middle.csv").symlink_to(real)
    (tmp_path / "first.csv").symlink_to(tmp_path / "middle.csv")

    _write(tmp_path / "first.csv", "new\n")

    assert (tmp_path / "first.csv").is_symlink() and (tmp_path / "middle.csv").is_symlink()
    assert real.read_text(encoding="utf-8") == "new\n"


def test_a_dangling_link_creates_the_file_it_points_to(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "elsewhere" / "new.csv")

    _write(link, "new\n")

    assert link.is_symlink()
    assert (tmp_path / "elsewhere" / "new.csv").read_text(encoding="utf-8") == "new\n"


def test_a_dangling_link_into_a_missing_directory_fails_leaving_the_link(tmp_path: Path) -> None:
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "gone" / "new.csv")

    with pytest.raises(FileNotFoundError):
        _write(link, "new\n")

    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["link.csv"]


def test_a_link_to_a_directory_is_refused_saying_so(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "reports")

    with pytest.raises(IsADirectoryError, match=r"it links to the directory .*reports"):
        _write(link, "new\n")

    assert link.is_symlink() and list((tmp_path / "reports").iterdir()) == []


def test_a_link_to_a_latin_1_directory_names_it_as_a_terminal_shows_it(tmp_path: Path) -> None:
    (tmp_path / os.fsdecode(b"caf\xe9")).mkdir()  # a Latin-1 name on a UTF-8 system
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / os.fsdecode(b"caf\xe9"))

    with pytest.raises(IsADirectoryError) as refused:
        _write(link, "new\n")

    assert refused.value.strerror == f"it links to the directory {tmp_path}/caf\\xe9"


def test_a_loop_of_links_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")

    with pytest.raises(OSError, match="link"):
        _write(tmp_path / "a.csv", "new\n")

    assert (tmp_path / "a.csv").is_symlink()


def test_a_failed_write_leaves_the_linked_file_as_it_was(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(real)

    with pytest.raises(RuntimeError), atomic_output(tmp_path / "link.csv") as out:
        out.write("half")
        raise RuntimeError

    assert real.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]


def test_a_write_removes_the_parts_killed_writes_to_its_file_left(tmp_path: Path) -> None:
    """A write killed (SIGKILL) before its rename leaves ``.FILE.PID-XXXXXXXX.part``: the
    next write to FILE removes those whose process is gone, and leaves a running one's,
    those of other files and its own name's pattern alone."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()  # its pid now names no process
    killed = tmp_path / f".out.csv.{child.pid}-k1ll3d_a.part"
    running = tmp_path / f".out.csv.{os.getppid()}-running.part"
    other = tmp_path / f".other.csv.{child.pid}-k1ll3d_a.part"
    unlike = tmp_path / f".out.csv.{child.pid}-k1ll3d_a.csv"
    for path in (killed, running, other, unlike):
        path.write_text("half a file", encoding="utf-8")

    with atomic_output(tmp_path / "out.csv") as out:
        (mine,) = (p for p in tmp_path.glob(".out.csv.*.part") if p not in (killed, running))
        out.write("whole\n")

    assert mine.name.startswith(f".out.csv.{os.getpid()}-")
    assert not killed.exists()
    assert running.exists() and other.exists() and unlike.exists()
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "whole\n"
