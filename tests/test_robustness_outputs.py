"""Issue 5, points 4 and 5: interrupted runs lose nothing; the same articles give the same bytes.

``kg`` runs are killed with SIGKILL (no cleanup possible) in a subprocess:
during extraction, half-way through writing the output, and just before the
rename. The previous output must stay byte-identical; the temporary file a
killed writer leaves is removed by the next write of the same file, whose
result must equal an in-process build of the same articles byte for byte,
whatever the file order and hash seed.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rdflib import Graph, Literal, namespace  # namespace.XSD: pytest probes module globals
from typer.testing import CliRunner

from kg import store
from kg.cli import app
from kg.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
MINI_TTL = Path(__file__).resolve().parent / "fixtures" / "graphs" / "mini.ttl"
runner = CliRunner()

# Runs `kg ARGS...` in a fresh interpreter; KG_TEST_PAUSE_AT stops it at a fault point for the test to kill.
CHILD = """
import os, sys, time
from pathlib import Path

marker = Path(os.environ["KG_TEST_MARKER"])
pause_at = os.environ.get("KG_TEST_PAUSE_AT", "")


def wait_to_be_killed():
    marker.write_text(pause_at)
    time.sleep(600)


import kg.store

if pause_at == "write":  # half of the output is in the temporary file
    def half_then_wait(handle, data):
        handle.write(data[: len(data) // 2])
        handle.flush()
        wait_to_be_killed()

    kg.store._write_bytes = half_then_wait
elif pause_at == "rename":  # the whole output is in the temporary file, not yet renamed
    kg.store.os.replace = lambda source, target: wait_to_be_killed()

from kg.cli import app

sys.argv = ["kg", *sys.argv[1:]]
app()
"""


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def kill_at(args: list[object], folder: Path, pause_at: str = "", after: str = "") -> str:
    """Start ``kg ARGS``, SIGKILL it at the fault point (or once ``after`` shows on stderr); its stderr."""
    marker = folder / "reached-fault-point"
    marker.unlink(missing_ok=True)
    stderr = folder / "stderr.log"
    env = {**os.environ, "KG_TEST_MARKER": str(marker), "KG_TEST_PAUSE_AT": pause_at}
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD, *map(str, args)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        deadline = time.monotonic() + 180
        try:
            while not (marker.exists() if pause_at else after in stderr.read_text(errors="replace")):
                if process.poll() is not None:
                    pytest.fail(f"kg ended before the fault point: {stderr.read_text(errors='replace')}")
                if time.monotonic() > deadline:
                    pytest.fail("kg never reached the fault point")
                time.sleep(0.02)
            if after:
                time.sleep(0.3)  # inside model loading (seconds) or extraction, before any write
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == -signal.SIGKILL
    text = stderr.read_text(errors="replace")
    stderr.unlink()
    marker.unlink(missing_ok=True)
    return text


def test_robustness_outputs_build_killed_mid_run_keeps_previous_output(
    tmp_path: Path, seed_graph_file: Path
) -> None:
    """kill -9 during extraction and during the write; then a clean run in another order and hash seed."""
    output = tmp_path / "out" / "kg.ttl"
    output.parent.mkdir()
    previous = seed_graph_file.read_bytes() + b"# built yesterday\n"
    output.write_bytes(previous)

    kill_at(["build", SEEDS, "-o", output], tmp_path, after="extracting")  # fault 1: while extracting
    assert output.read_bytes() == previous
    assert temporaries(output.parent) == []

    kill_at(["build", SEEDS, "-o", output, "-q"], tmp_path, pause_at="write")  # fault 2: half written
    assert output.read_bytes() == previous
    [left] = temporaries(output.parent)  # a killed process cannot clean up after itself...
    assert left.startswith(".kg.ttl.kg")

    elsewhere = tmp_path / "copied"
    shutil.copytree(SEEDS, elsewhere)
    files = sorted(elsewhere.glob("*.txt"), reverse=True)
    result = subprocess.run(
        [sys.executable, "-m", "kg.cli", "build", *map(str, files), "-o", str(output), "-q"],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert temporaries(output.parent) == []  # ...the next write of the file does
    # point 5: another process, another hash seed, another file order, another folder: the same bytes
    assert output.read_bytes() == seed_graph_file.read_bytes()


OTHER_OUTPUTS = {
    "export-graph": ["export", MINI_TTL, "--format", "nt", "-o"],
    "export-events": ["export", MINI_TTL, "--events", "-o"],
    "query": ["query", "timeline", MINI_TTL, "--format", "csv", "-o"],
    "reason": ["reason", MINI_TTL, "-o"],
    "validate": ["validate", MINI_TTL, "--format", "json", "-o"],
}


@pytest.mark.parametrize("command", sorted(OTHER_OUTPUTS))
def test_robustness_outputs_every_command_killed_mid_write_keeps_previous_output(
    tmp_path: Path, command: str
) -> None:
    output = tmp_path / "out" / "result.txt"
    output.parent.mkdir()
    output.write_text("previous\n", encoding="utf-8")
    args = [*OTHER_OUTPUTS[command], output]
    kill_at(args, tmp_path, pause_at="write")
    assert output.read_text(encoding="utf-8") == "previous\n"
    assert len(temporaries(output.parent)) == 1
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.stderr
    assert output.read_text(encoding="utf-8") not in ("", "previous\n")
    assert temporaries(output.parent) == []


def test_robustness_outputs_killed_before_rename_keeps_previous_output(tmp_path: Path) -> None:
    output = tmp_path / "out" / "kg.nt"
    output.parent.mkdir()
    output.write_text("previous\n", encoding="utf-8")
    kill_at(["export", MINI_TTL, "-o", output], tmp_path, pause_at="rename")
    assert output.read_text(encoding="utf-8") == "previous\n"
    [left] = temporaries(output.parent)
    assert (output.parent / left).stat().st_size > 1000  # complete, but never renamed: harmless
    store.write_text_atomic(output, "next\n")
    assert temporaries(output.parent) == []


def test_robustness_outputs_case_count() -> None:
    assert len(OTHER_OUTPUTS) == 5


# ---------------------------------------------------------------- faults injected in process


def test_robustness_outputs_disk_full_keeps_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kg.ttl"
    path.write_text("previous", encoding="utf-8")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(InputError, match=r"cannot write \(No space left on device\)") as caught:
        store.write_text_atomic(path, "new content")
    assert str(path) in str(caught.value)
    assert path.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["kg.ttl"]


def test_robustness_outputs_interrupt_during_write_keeps_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kg.ttl"
    path.write_text("previous", encoding="utf-8")

    def interrupted(handle: object, data: bytes) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.write_text_atomic(path, "new content")
    assert path.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["kg.ttl"]


def test_robustness_outputs_only_temporaries_of_dead_writers_are_removed(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(finished.stdout)
    path = tmp_path / "kg.ttl"
    stale = tmp_path / f".kg.ttl.kg{dead}-a1b2c3.tmp"
    running = tmp_path / f".kg.ttl.kg{os.getppid()}-d4e5f6.tmp"  # a writer that is still alive
    other_target = tmp_path / f".other.ttl.kg{dead}-a1b2c3.tmp"
    unrelated = tmp_path / ".kg.ttl.backup.tmp"
    for file in (stale, running, other_target, unrelated):
        file.write_text("partial", encoding="utf-8")
    store.write_text_atomic(path, "content")
    assert not stale.exists()
    assert running.exists() and other_target.exists() and unrelated.exists()
    assert path.read_text(encoding="utf-8") == "content"


# ---------------------------------------------------------------- point 5: determinism


def test_robustness_outputs_graph_has_no_timestamps(seed_graph_file: Path) -> None:
    graph = Graph().parse(seed_graph_file)
    stamped = {namespace.XSD.dateTime, namespace.XSD.dateTimeStamp, namespace.XSD.time}
    assert not [o for o in graph.objects() if isinstance(o, Literal) and o.datatype in stamped]
    today = time.strftime("%Y-%m-%d")
    assert today not in seed_graph_file.read_text(encoding="utf-8")
