"""Promises: writing an output never destroys what is at the path.

Device cases use a private ``mknod`` copy (or a FIFO) in the test's folder, never the system's /dev.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from promise_kit import EXAMPLE_FACTS, ROOT, run_cli

from offhost_audit.atomic import check_output, write_atomic
from offhost_audit.errors import OutputError


def _device(path: Path, minor: int) -> Path:
    """A private character device: minor 3 is a null device, 7 a full one (Linux mem major 1)."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except PermissionError:
        if os.environ.get("CI"):
            pytest.fail("mknod needs root: CI runs the tests as root")
        pytest.skip("mknod needs root (CI runs as root)")
    path.chmod(0o666)
    return path


def test_a_device_target_stays_a_device(tmp_path):
    null = _device(tmp_path / "null", 3)
    for _ in range(2):  # the second run used to find a mode-600 regular file here
        write_atomic(null, "findings\n")
    st = os.stat(null)
    assert stat.S_ISCHR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666
    assert list(tmp_path.iterdir()) == [null]  # no temporary file left beside it


def test_a_fifo_target_is_written_through_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_atomic(fifo, "through the pipe\n")
    reader.join(5)
    assert got == ["through the pipe\n"] and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_dev_stdout_on_a_pipe_is_written_through(tmp_path):
    r = run_cli("evaluate", "-f", str(EXAMPLE_FACTS), "--format", "json", "-o", "/dev/stdout")
    assert r.returncode == 0 and r.stdout.lstrip().startswith("[")


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_an_existing_file_keeps_its_mode(tmp_path):
    f = tmp_path / "report.txt"
    f.write_text("old")
    f.chmod(0o644)
    write_atomic(f, "new")
    assert stat.S_IMODE(f.stat().st_mode) == 0o644 and f.read_text() == "new"


def test_a_new_file_gets_the_umask_mode_not_600(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644


def test_a_killed_writer_leaves_no_temp_file_for_long(tmp_path):
    target = tmp_path / "facts.json"
    # the writer dies between creating its temp file and renaming it, as under kill -9
    code = (
        "import os, sys; import offhost_audit.atomic as a; os.fsync = lambda fd: os._exit(9); "
        "a.write_atomic(sys.argv[1], 'x' * 10)"
    )
    subprocess.run([sys.executable, "-c", code, str(target)], timeout=60, cwd=ROOT)
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert leftovers and all(n.startswith(".facts.json.") and n.endswith(".offhost-tmp") for n in leftovers)
    write_atomic(target, "complete")
    assert [p.name for p in tmp_path.iterdir()] == ["facts.json"]


@pytest.mark.parametrize("case", ["directory", "under a file", "read-only place"])
def test_an_unwritable_output_is_one_clear_line_exit_2(tmp_path, case):
    (tmp_path / "file").write_text("x")
    out = {
        "directory": str(tmp_path),
        "under a file": str(tmp_path / "file" / "out.json"),
        "read-only place": "/proc/offhost-audit-test/out.json",
    }[case]
    r = run_cli("evaluate", "-f", str(EXAMPLE_FACTS), "-o", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("offhost-audit: cannot write output: ")


def test_stdout_to_a_full_device_is_one_clear_line_exit_2(tmp_path):
    full = _device(tmp_path / "full", 7)
    with open(full, "w") as f:
        r = run_cli("evaluate", "-f", str(EXAMPLE_FACTS), stdout=f)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "Exception ignored" not in r.stderr
    assert r.stderr.strip() == "offhost-audit: cannot write output: stdout: cannot write: No space left on device"


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_to_a_full_device_fail_with_one_line(tmp_path, flag):
    full = _device(tmp_path / "full", 7)
    with open(full, "w") as f:
        r = run_cli(flag, stdout=f)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "offhost-audit: cannot write output: stdout: cannot write: No space left on device"
    ok = run_cli(flag)
    assert ok.returncode == 0 and "offhost-audit" in ok.stdout


def test_evaluate_refuses_to_write_over_its_facts(tmp_path):
    facts = tmp_path / "f.json"
    shutil.copy(EXAMPLE_FACTS, facts)
    before = facts.read_bytes()
    r = run_cli("evaluate", "--facts", str(facts), "-o", str(facts))
    assert r.returncode == 2 and "names an input of this run" in r.stderr and facts.read_bytes() == before


def test_collect_refuses_to_write_over_its_inventory(tmp_path):
    inv = tmp_path / "inv.yaml"
    inv.write_text("proxies: [{name: P1}]\n")
    r = run_cli("collect", "-i", str(inv), "-o", str(tmp_path / "." / "inv.yaml"))
    assert r.returncode == 2 and "names an input of this run" in r.stderr
    assert inv.read_text() == "proxies: [{name: P1}]\n"


def test_audit_refuses_the_same_file_for_report_and_facts(tmp_path):
    inv = tmp_path / "inv.yaml"
    inv.write_text("proxies: [{name: P1}]\n")
    r = run_cli("audit", "-i", str(inv), "-o", str(tmp_path / "x.json"), "--save-facts", str(tmp_path / "x.json"))
    assert r.returncode == 2 and "--save-facts names an input" in r.stderr


def test_check_output_allows_a_new_file_in_a_new_folder(tmp_path):
    check_output(tmp_path / "new" / "deeper" / "out.json", inputs=[EXAMPLE_FACTS])
    with pytest.raises(OutputError):
        check_output(EXAMPLE_FACTS, inputs=[EXAMPLE_FACTS])
