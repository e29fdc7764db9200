"""Where namespaces are refused (containers), each kernel confines itself with Landlock and
seccomp (confine.py): it reads the system and the students' environment, writes its own
folder only, reaches no Unix socket and no TCP port but its own, and can neither signal
nor trace another process. Checked here on this machine's Landlock, first on a bare
process, then on warm and plain grading kernels (sandbox.mode() told "landlock"); the
corpus is graded in the reproduced container condition by test_corpus.py."""

import json
import os
import signal
import subprocess
import sys

import pytest
from conftest import missing
from test_sandbox import (
    FORK_BOMB,
    KERNELS,
    LIMITS,
    LIMITS_PROBE,
    TREE_LIMITS,
    left_running,
    run,
    run_cells,
    tree_limits_or_skip,
)

from rnn_solutions.engine import confine, sandbox


@pytest.fixture(autouse=True)
def landlock_abi_6():
    """These tests need Landlock's scopes (ABI 6): skipped elsewhere, failed in CI."""
    if confine.landlock_abi() < 6:
        missing("Landlock ABI 6", "Linux 6.12 or newer")


def confined(code, folder, **rules):
    """What `python -c code` printed, confined to write `folder` only (and more rules)."""
    rules = {**sandbox.confine_rules(sys.executable, str(folder)), **rules}
    run = subprocess.run([sys.executable, sandbox.CONFINE, json.dumps(rules), "--",
                          sys.executable, "-c", code], cwd=folder, capture_output=True,
                         text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout


def attempt(code):
    """Code that prints "done" if `code` ran, else the error's name."""
    return (f"try:\n    {code}\n    print('done')\n"
            "except OSError as exc:\n    print(type(exc).__name__, exc.errno)")


def test_the_confined_process_writes_its_own_folder(tmp_path):
    """Its own folder is writable: the notebook's copy and its /tmp live there."""
    assert confined(attempt("open('answer.txt', 'w').write('x')"), tmp_path) == "done\n"


@pytest.mark.parametrize("path", [__file__, "/etc/shadow", "/root", "/proc/1/environ"])
def test_the_confined_process_reads_nothing_outside(tmp_path, path):
    """The course (this file stands for it), the machine's secrets, the instructor's home and
    other processes' /proc entries cannot be read."""
    assert confined(attempt(f"open({path!r}).read(1)"), tmp_path).startswith(
        ("PermissionError", "IsADirectoryError"))


@pytest.mark.parametrize("path", ["/tmp/confined.txt", "/dev/shm/confined.txt",
                                  "/proc/sys/kernel/core_pattern"])
def test_the_confined_process_writes_nothing_outside(tmp_path, path):
    """The machine's /tmp and /dev/shm (what the next kernel would find) and its settings
    cannot be written."""
    assert confined(attempt(f"open({path!r}, 'a')"), tmp_path).startswith("PermissionError")
    assert path != "/tmp/confined.txt" or not os.path.exists(path)


@pytest.mark.parametrize("what", [
    "socket.socket(socket.AF_UNIX).connect('/var/run/postgresql/.s.PGSQL.5432')",
    "socket.socket(socket.AF_UNIX).connect('\\0abstract')",
    "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 53))",
    "socket.create_connection(('127.0.0.1', 5432), timeout=2)",
    "socket.create_server(('127.0.0.1', 0))",
])
def test_the_confined_process_reaches_no_socket(tmp_path, what):
    """No Unix socket (a local PostgreSQL's with peer authentication, an abstract one), no
    UDP, no TCP connection or listening port but the rules' own."""
    assert confined("import socket\n" + attempt(what), tmp_path) in (
        "PermissionError 1\n", "PermissionError 13\n")


def test_the_confined_process_binds_and_connects_its_own_ports(tmp_path):
    """The kernel's own ports are bound, the judge's connected: rules name them."""
    with __import__("socket").create_server(("127.0.0.1", 0)) as judge:
        port = judge.getsockname()[1]
        code = ("import socket\n" + attempt(
            f"socket.create_server(('127.0.0.1', {port + 1})); "
            f"socket.create_connection(('127.0.0.1', {port}), timeout=2)"))
        assert confined(code, tmp_path, bind_ports=[port + 1],
                        connect_ports=[port]) == "done\n"


@pytest.mark.parametrize("what", [
    f"os.kill({os.getpid()}, 0)",  # the grader
    "ctypes.CDLL(None, use_errno=True).ptrace(16, os.getppid(), 0, 0) and "
    "(_ for _ in ()).throw(OSError(ctypes.get_errno(), 'ptrace'))",
    "ctypes.CDLL(None, use_errno=True).unshare(0x10000000) and "
    "(_ for _ in ()).throw(OSError(ctypes.get_errno(), 'unshare'))",
])
def test_the_confined_process_cannot_reach_other_processes(tmp_path, what):
    """It cannot signal the grader, trace its parent, or make namespaces."""
    assert confined("import os, ctypes\n" + attempt(what), tmp_path).startswith(
        ("PermissionError", "OSError 1"))


def test_the_confined_process_has_no_capabilities(tmp_path):
    """Whatever the grader's user, the kernel holds no capability and can gain none."""
    code = ("s = open('/proc/self/status').read()\n"
            "print(s.split('CapEff:')[1].split()[0], s.split('NoNewPrivs:')[1].split()[0])")
    assert confined(code, tmp_path) == "0000000000000000 1\n"


@pytest.mark.parametrize("machine", sorted(confine.ARCHES))
def test_the_seccomp_program_is_well_formed(machine):
    """Every jump of the filter lands inside it, and it ends by returning."""
    code = confine.seccomp_program(machine)
    for at, (op, jt, _, _) in enumerate(code):
        assert op == confine.RET or at + 1 + jt < len(code)
    assert code[-1][0] == confine.RET


# ---- grading kernels, warm and plain, told that namespaces are refused ---------------------

@pytest.fixture
def landlock(monkeypatch):
    """sandbox.mode() says "landlock", as where bubblewrap cannot make namespaces."""
    monkeypatch.setattr(sandbox, "mode", lambda: "landlock")


PROBE = '''import os, socket
print("files", sorted(os.listdir(".")))
open("written.txt", "w").write("x")
for path in ({course!r}, "/proc/{grader}/environ"):
    try:
        open(path).read()
        print("READ", path)
    except OSError as exc:
        print("refused", type(exc).__name__)
try:
    os.kill({grader}, 0)
    print("SIGNALLED the grader")
except OSError as exc:
    print("refused", type(exc).__name__)
'''


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
def test_a_confined_kernel_sees_its_copy_and_nothing_of_the_course(tmp_path, landlock,
                                                                    kind):
    """A confined kernel lists its notebook's files, writes a copy, and can read neither
    the gradebook nor the grader's /proc entries, nor signal the grader."""
    (tmp_path / "gradebook.db").write_text("secret")
    folder = tmp_path / "autograded" / "student" / "assignment"
    folder.mkdir(parents=True)
    (folder / "spec.json").write_text("{}")
    code = PROBE.format(course=str(tmp_path / "gradebook.db"), grader=os.getpid())
    assert run(code, folder, kind).splitlines() == [
        "files ['spec.json']", "refused PermissionError", "refused PermissionError",
        "refused PermissionError"]
    assert not (folder / "written.txt").exists()


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
def test_a_confined_kernel_runs_under_the_configured_limits(tmp_path, landlock, kind):
    """Its largest file, file descriptors and CPU seconds are the configured ones (its /tmp
    is a folder of the disk: no size of its own)."""
    text = run(LIMITS_PROBE.replace('"/tmp"', '"."'), tmp_path, kind, **LIMITS)
    want = [(LIMITS[k], LIMITS[k]) for k in ("file_bytes", "open_files", "cpu_seconds")]
    assert f"limits {want}" in text, text


@pytest.mark.slow
def test_what_a_warm_confined_kernel_starts_ends_with_it(tmp_path, landlock):
    """A process the kernel starts in a session of its own is killed when the kernel ends
    (its supervisor in the fork server is the subreaper of everything the kernel starts)."""
    code = ('import subprocess\n'
            'print(subprocess.Popen(["sleep", "600"], start_new_session=True).pid)')
    pid = int(run(code, tmp_path, "warm"))
    with pytest.raises(ProcessLookupError):
        for _ in range(100):  # a zombie until the supervisor reaps it: signal 0 still works
            os.kill(pid, 0)
            __import__("time").sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        raise AssertionError(f"process {pid} outlived its kernel")


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
def test_a_confined_fork_bomb_loses_its_cell_and_leaves_nothing(tmp_path, landlock, kind):
    """The kernel's cgroup bounds a confined kernel's processes too: the cell is told, the
    next runs in a fresh kernel, nothing is left."""
    tree_limits_or_skip()
    first, after = run_cells([FORK_BOMB, 'print("next cell ran")'], tmp_path, kind,
                             **TREE_LIMITS)
    assert first.startswith("this cell started more than 32 processes"), first
    assert after == "next cell ran\n"
    assert left_running("rnn-bomb") == 0

