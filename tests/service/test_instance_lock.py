from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from automation.core.errors import EngineLocked, StoreError
from automation.service.instance_lock import InstanceLock, lock_path

TRY_LOCK = textwrap.dedent(
    """
    import sys
    from automation.core.errors import EngineLocked
    from automation.service.instance_lock import InstanceLock
    try:
        InstanceLock(sys.argv[1]).acquire()
    except EngineLocked as exc:
        print(exc)
        sys.exit(3)
    print("acquired")
    """
)

HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from automation.service.instance_lock import InstanceLock
    lock = InstanceLock(sys.argv[1])
    lock.acquire()
    print("held", flush=True)
    time.sleep(60)
    """
)


def _try_in_other_process(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(db)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_second_process_is_refused_with_our_pid(tmp_path: Path) -> None:
    db = tmp_path / "automation.db"
    with InstanceLock(db) as lock:
        assert lock.held
        assert lock_path(db).read_text().strip() == str(os.getpid())
        result = _try_in_other_process(db)
    assert result.returncode == 3, result.stderr
    assert result.stdout.strip() == (
        f"another engine (pid {os.getpid()}) is running against {db}; stop it first"
    )


def test_released_lock_can_be_taken_by_another_process(tmp_path: Path) -> None:
    db = tmp_path / "automation.db"
    lock = InstanceLock(db)
    lock.acquire()
    lock.release()
    assert not lock.held
    result = _try_in_other_process(db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "acquired"


def test_lock_is_dropped_when_the_holder_is_killed(tmp_path: Path) -> None:
    db = tmp_path / "automation.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(EngineLocked) as caught:
            InstanceLock(db).acquire()
        assert f"(pid {holder.pid})" in str(caught.value)
        assert caught.value.exit_code == 2
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    with InstanceLock(db) as lock:
        assert lock.held
        assert lock_path(db).read_text().strip() == str(os.getpid())


def test_same_process_second_instance_is_refused(tmp_path: Path) -> None:
    # flock locks belong to the open file description, so a second open in the same
    # process conflicts too: an engine cannot accidentally run twice in one process.
    db = tmp_path / "automation.db"
    with InstanceLock(db), pytest.raises(EngineLocked):
        InstanceLock(db).acquire()


def test_acquire_twice_on_one_object_is_harmless(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path / "a.db")
    lock.acquire()
    lock.acquire()
    assert lock.held
    lock.release()
    lock.release()
    assert not lock.held


def test_a_missing_directory_is_a_store_error_that_says_to_create_it(tmp_path: Path) -> None:
    folder = tmp_path / "missing-dir"
    with pytest.raises(StoreError) as caught:
        InstanceLock(folder / "a.db").acquire()
    assert str(caught.value) == (
        f"the database's directory {folder} does not exist: create it (mkdir -p {folder}) "
        "or set database: to a file in a directory that exists"
    )
    assert not folder.exists()


def test_a_directory_it_may_not_write_says_to_make_it_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("automation.service.instance_lock.os.open", refuse)
    lock = InstanceLock(tmp_path / "state.db")
    with pytest.raises(StoreError, match=rf"Permission denied.*make {tmp_path} writable"):
        lock.acquire()


def test_a_second_engine_through_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    # The same SQLite file under two names (a symlinked file or directory, as two configs
    # may spell it) is one database: the second engine must find the first one's lock.
    db = tmp_path / "state" / "automation.db"
    db.parent.mkdir()
    (tmp_path / "link.db").symlink_to(db)
    (tmp_path / "linked-state").symlink_to(db.parent)
    with InstanceLock(db):
        for other in (tmp_path / "link.db", tmp_path / "linked-state" / "automation.db"):
            with pytest.raises(EngineLocked) as caught:
                InstanceLock(other).acquire()
            assert str(caught.value) == (
                f"another engine (pid {os.getpid()}) is running against {other}; stop it first"
            )
    assert not (tmp_path / "link.db.lock").exists()
