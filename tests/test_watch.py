"""`citewise ingest --watch`: sync on change, debounced, until stopped (or Ctrl-C)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.service import Citewise
from index.sync import IngestSummary
from ingest.errors import CitewiseError
from tests.conftest import ROOT
from tests.helpers import popen_interruptible, sigint_ignored

LEMS = "004_5e456227b6f932b4.txt"
NEW_DOC = "# Plasmapheresis\n\nPlasmapheresis removes antibodies from the blood.\n"
TIMEOUT = 60  # generous: a sync takes well under a second here


class Watcher:
    """`service.watch` in a thread; its summaries arrive on a queue."""

    def __init__(self, service: Citewise):
        self.summaries: queue.Queue[IngestSummary | CitewiseError] = queue.Queue()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=service.watch, args=(self.summaries.put,),
                                       kwargs={"on_error": self.summaries.put,
                                               "debounce_ms": 50, "stop_event": self.stop})

    def __enter__(self) -> Watcher:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "the watch did not stop"

    def next(self) -> IngestSummary | CitewiseError:
        try:
            return self.summaries.get(timeout=TIMEOUT)
        except queue.Empty:
            pytest.fail(f"no sync within {TIMEOUT} s")

    def until(self, wanted) -> IngestSummary:
        """The first summary for which `wanted(summary)` holds (syncs may come in bursts)."""
        while True:
            summary = self.next()
            if isinstance(summary, IngestSummary) and wanted(summary):
                return summary


def test_watch_syncs_on_every_change_until_stopped(service: Citewise, sources: Path) -> None:
    with Watcher(service) as watcher:
        first = watcher.next()  # the initial sync, once the watcher is armed
        assert isinstance(first, IngestSummary) and len(first.added) == 2

        (sources / "new.md").write_text(NEW_DOC)
        assert watcher.until(lambda s: s.added).added == ["new.md"]

        with (sources / "new.md").open("a") as f:
            f.write("\nIt is also called plasma exchange.\n")
        assert watcher.until(lambda s: s.updated).updated == ["new.md"]

        (sources / "sub").mkdir()
        shutil.move(sources / LEMS, sources / "sub" / "lems.txt")
        moved = watcher.until(lambda s: s.removed)
        assert moved.added == ["sub/lems.txt"] and moved.chunks_embedded == 0

        (sources / "new.md").unlink()
        assert watcher.until(lambda s: s.removed).removed == ["new.md"]

        (sources / "last.md").write_text(NEW_DOC.replace("Plasmapheresis", "Rituximab"))
        assert watcher.until(lambda s: s.added).added == ["last.md"]
        docs = set(service.index.manifest.docs())
    assert docs == {"000_ca9eb5d6de5c83e8.txt", "sub/lems.txt", "last.md"}


def test_a_failing_sync_is_reported_and_the_watch_goes_on(service: Citewise,
                                                          sources: Path) -> None:
    with Watcher(service) as watcher:
        watcher.next()
        for path in list(sources.iterdir()):  # an empty folder is refused, not emptied
            path.unlink()
        error = watcher.next()
        assert isinstance(error, CitewiseError) and "holds no" in str(error)
        (sources / "new.md").write_text(NEW_DOC)
        summary = watcher.until(lambda s: s.added)
    assert summary.added == ["new.md"] and len(summary.removed) == 2


def test_watch_takes_no_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["ingest", "--watch", "somefile.txt"])
    assert result.exit_code == 2 and "drop the PATHS" in result.output


@pytest.mark.timeout(120)
@pytest.mark.parametrize("background", [False, True],
                         ids=["test run in a terminal", "test run in the background"])
def test_cli_watch_prints_a_line_per_sync_and_stops_cleanly_on_ctrl_c(
        tmp_path: Path, sources: Path, background: bool) -> None:
    """Also when the test run ignores SIGINT, as it does when a script starts it in the
    background (`nohup make test &`): the watch, started plainly, inherited the ignored
    SIGINT and never stopped, as in the clean-clone runs that hung (see
    `popen_interruptible`)."""
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(sources),
           "CITEWISE_INDEX_DIR": str(tmp_path / "index")}
    with sigint_ignored() if background else contextlib.nullcontext():
        proc = popen_interruptible(
            [sys.executable, "-m", "tests.child", "cli", "ingest", "--watch", "--json"],
            cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["added"] == 2
        # Changes made before the watch is armed are caught by its first sync.
        (sources / "new.md").write_text(NEW_DOC)
        line = json.loads(proc.stdout.readline())
        assert (line["added"], line["chunks_embedded"] > 0) == (1, True)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out == "" and "Traceback" not in err
