"""Once the runtime is open, a large block freed no longer moves the next large blocks
into glibc's heap: each stays a mapping of its own, given back to the system when freed.
Run in a fresh interpreter, whose malloc no earlier test has set."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc")

PROBE = """
import ctypes, ctypes.util, sys
from pathlib import Path

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
libc.malloc.argtypes, libc.malloc.restype = [ctypes.c_size_t], ctypes.c_void_p
libc.free.argtypes, libc.free.restype = [ctypes.c_void_p], None
libc.mallinfo2.restype = Info

def mapped_after_a_large_free():
    # a 4 MiB block freed raises glibc's threshold to 4 MiB, unless it is fixed
    libc.free(libc.malloc(4 * 1024 * 1024))
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(1024 * 1024)
    grew = libc.mallinfo2().hblkhd - before
    libc.free(block)
    return grew

print(mapped_after_a_large_free())
if sys.argv[1] == "open":
    from automation.config.loader import load_config
    from automation.sandbox import write_config
    from automation.service.runtime import open_runtime

    tmp = Path(sys.argv[2])
    (tmp / "rules").mkdir()
    (tmp / "rules" / "rules.yaml").write_text(
        "version: 1\\nrules:\\n  - id: liked\\n    watch: {accounts: [brand]}\\n"
        "    when: likes >= 1\\n    actions: [{log: {message: liked}}]\\n"
    )
    path = write_config(tmp / "automation.yaml", "http://127.0.0.1:9",
                        database=str(tmp / "automation.db"), rules=[str(tmp / "rules")])
    open_runtime(load_config(path, env={}), emit=lambda event: None, dry_run=True).close()
print(mapped_after_a_large_free())
"""


def _mapped(tmp: Path, opened: bool) -> list[int]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "open" if opened else "not", str(tmp)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [int(line) for line in done.stdout.split()]


def test_after_opening_the_runtime_large_blocks_stay_mappings_of_their_own(
    tmp_path: Path,
) -> None:
    before, after = _mapped(tmp_path, opened=True)
    assert before == 0  # glibc left to itself: served from the heap
    assert after >= 1024 * 1024


def test_without_it_glibc_serves_them_from_its_heap(tmp_path: Path) -> None:
    assert _mapped(tmp_path, opened=False) == [0, 0]
