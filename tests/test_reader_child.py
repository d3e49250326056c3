"""The file reader child (ingest/worker.py) under Ctrl-C and when its parent dies.

The child ignores SIGINT (a terminal's Ctrl-C reaches the whole process group; the parent
decides). So the parent must take it down: at once when Ctrl-C comes while it reads a file,
and also when the parent itself dies without cleaning up (SIGKILL, a crash), else a child
stuck on a hostile file reads on for ever, holding the parent's stderr open.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.worker import Worker, load_job
from tests.conftest import ROOT
from tests.helpers import popen_interruptible, wait_for

pytestmark = [pytest.mark.timeout(180),
              pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")]


def interrupting_job(name: str, data: bytes, max_chars: int | None, *options: object):
    """Runs in the child: Ctrl-C comes to the parent while this file is being read, which
    then takes one more second."""
    os.kill(os.getppid(), signal.SIGINT)
    time.sleep(1.0)
    return load_job(name, data, max_chars, *options)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_ctrl_c_while_the_child_reads_kills_it_at_once() -> None:
    """The `with Worker` block left by KeyboardInterrupt kills the child: it used to close
    its input and wait up to 2 s for it to finish the file."""

    class Recording(Worker):
        started_procs: list[subprocess.Popen] = []

        def _start(self) -> bool:
            ok = super()._start()
            if self.proc is not None:
                self.started_procs.append(self.proc)
            return ok

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # also in a
    try:                                                                 # background run
        with pytest.raises(KeyboardInterrupt), \
                Recording(60.0, target="tests.test_reader_child:interrupting_job") as w:
            list(w.run([("a.txt", ("a.txt", b"Some text.\n", None))]))
    finally:
        signal.signal(signal.SIGINT, previous)
    (proc,) = Recording.started_procs
    assert proc.returncode == -signal.SIGKILL  # killed, not left to finish (exit code 0)
    assert w.proc is None


PARENT = """
import threading, time
from ingest.worker import Worker

worker = Worker(600.0, target="tests.test_hostile_input:hostile_job")

def tell():
    while worker.proc is None:
        time.sleep(0.01)
    print(worker.proc.pid, flush=True)

threading.Thread(target=tell, daemon=True).start()
list(worker.run([("slow.txt", ("slow.txt", b"never read", None))]))  # sleeps an hour
"""


def test_the_child_dies_with_its_parent_killed_mid_file() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE)
    child = None
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        time.sleep(1.0)  # it has the file by now (or is still starting: also covered)
        parent.kill()  # no cleanup: no `with`, no atexit
        parent.wait()
        wait_for(lambda: not alive(child), 30, "the reader child to die with its parent")
    finally:
        parent.kill()
        if child is not None and alive(child):
            os.kill(child, signal.SIGKILL)


def test_ctrl_c_stops_a_watch_while_its_child_reads_a_file(tmp_path: Path,
                                                          sources: Path) -> None:
    """`citewise ingest --watch`, Ctrl-C'd while a sync waits on a file the child reads
    (it would take an hour): it stops cleanly, and the child with it."""
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(sources),
           "CITEWISE_INDEX_DIR": str(tmp_path / "index"),
           "READ_WITH": "tests.test_hostile_input:hostile_job"}
    proc = popen_interruptible(
        [sys.executable, "-m", "tests.child", "cli", "ingest", "--watch", "--json"],
        cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    readers: list[int] = []
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the first sync
        (sources / "slow.txt").write_text("Read in an hour.\n")
        readers = wait_for(lambda: children(proc.pid), 60, "the sync to start a reader")
        time.sleep(1.0)  # the reader has the batch by now
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        for pid in readers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert out == "" and "Traceback" not in err
    assert not [pid for pid in readers if alive(pid)]
