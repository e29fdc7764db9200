"""Grading kernels run in a sandbox: they see their notebook's folder (a copy) and the
students' environment, never the course directory, the network or the instructor's files.
Warm kernels (forked by forkserver.py) and plain ones (started by bwrap) alike."""

import sys

import nbformat
import pytest
from conftest import CONFIG, execute
from corpus import FORK_BOMB, memory_in_children

from rnn_solutions.engine import sandbox
from rnn_solutions.engine.execute import JudgedExecute

PROBE = '''import os, socket
from pathlib import Path
here = Path.cwd()
print("files:", sorted(os.listdir(here)))
print("course:", [str(p) for p in here.parents if (p / "gradebook.db").exists()])
open("written.txt", "w").write("x")
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1)
    print("network: reached")
except OSError as exc:
    print("network:", type(exc).__name__)
'''


def test_this_machine_can_sandbox():
    """bubblewrap runs here: CI must test the sandboxed path, not the fallback."""
    assert sandbox.available(), sandbox.WARNING


KERNELS = {"warm": {}, "plain": {"warm_kernels": False}}


def run(code, folder, kind="warm", **settings):
    """The text a kernel of that kind printed running `code` in `folder`; settings --
    JudgedExecute's traits to change."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb = execute(nb, folder, **KERNELS[kind], **settings)
    return "".join(o.get("text", "") + o.get("evalue", "") for o in nb.cells[0].outputs)


@pytest.fixture(params=KERNELS)
def probed(tmp_path, request):
    """What a kernel graded in tmp/autograded/student/assignment saw, and that folder."""
    (tmp_path / "gradebook.db").write_text("secret")
    folder = tmp_path / "autograded" / "student" / "assignment"
    folder.mkdir(parents=True)
    (folder / "spec.json").write_text("# the notebook's helpers\n")
    return run(PROBE, folder, request.param), folder


@pytest.mark.slow
def test_kernel_sees_its_notebook_folder(probed):
    """The kernel's working directory holds the notebook's files."""
    text, _ = probed
    assert "files: ['spec.json']" in text


@pytest.mark.slow
def test_kernel_cannot_see_the_course(probed):
    """No folder above the notebook's shows the gradebook."""
    text, _ = probed
    assert "course: []" in text


@pytest.mark.slow
def test_kernel_writes_to_a_copy(probed):
    """A file the kernel writes does not reach the autograded folder."""
    text, folder = probed
    assert "Error" not in text.split("network")[0]
    assert not (folder / "written.txt").exists()


@pytest.mark.slow
def test_kernel_has_no_network(probed):
    """The kernel cannot open a connection, even to this machine."""
    text, _ = probed
    assert "network: reached" not in text


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
def test_kernel_gets_none_of_the_graders_environment(tmp_path, monkeypatch, kind):
    """A secret in the grader's environment does not reach the kernel; the kernelspec's
    variables do."""
    monkeypatch.setenv("GRADER_SECRET", "hunter2")
    code = ('import os\n'
            'print(os.environ.get("GRADER_SECRET"), os.environ.get("OPENBLAS_NUM_THREADS"))')
    assert run(code, tmp_path, kind) == "None 1\n"


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
def test_kernel_cannot_write_the_machines_settings(tmp_path, kind):
    """/proc/sys is read-only to the kernel, even for a grader running as root (writing
    back the value it holds: the test changes nothing if the write got through)."""
    code = ('path = "/proc/sys/kernel/core_pattern"\n'
            'value = open(path).read()\n'
            'try:\n'
            '    open(path, "w").write(value)\n'
            '    print("written")\n'
            'except OSError as exc:\n'
            '    print("refused:", exc.strerror)')
    assert run(code, tmp_path, kind).startswith("refused:")


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
def test_kernel_cannot_write_in_the_judges_folder(tmp_path, kind):
    """The judge's folder (its socket, shared by the notebook's kernels) is read-only to
    the kernel: what it wrote there would outlive it, beyond its folder's limits."""
    code = ('import glob\n'
            'folder = glob.glob("/tmp/rnn-grading-*/rnn-judge-*")[0]\n'
            'try:\n'
            '    open(folder + "/filler", "w").write("x")\n'
            '    print("written")\n'
            'except OSError as exc:\n'
            '    print("refused:", exc.strerror)')
    assert run(code, tmp_path, kind) == "refused: Read-only file system\n"


FINGERPRINT = '''import os, sys
ip = get_ipython()
print("pid", os.getpid(), "cwd", os.getcwd(), "path0", sys.path[0])
print("env", sorted(os.environ))
print("history", len(list(ip.history_manager.get_range_by_str("1-1000"))), ip.execution_count)
print("names", sorted(n for n in ip.user_ns if not n.startswith("_")))
print("capabilities", open("/proc/self/status").read().split("CapEff:")[1].split()[0])
print("modules", "matplotlib.pyplot" in sys.modules, "rnncheck" in sys.modules)
print("processes", sorted(p for p in os.listdir("/proc") if p.isdigit()))
print("modes", [(p, oct(os.lstat(p).st_mode)) for p in ("/", "/tmp", "/dev", "/dev/shm")])
print("dev", [(n, os.readlink("/dev/" + n) if os.path.islink("/dev/" + n) else "")
              for n in sorted(os.listdir("/dev"))])
import re  # each kernel's private and judge folders have names of their own
print("mounts", sorted({re.sub(r"-\\w{8}$", "-*", line.split()[4])
                        for line in open("/proc/self/mountinfo")}))
print("argv", sys.argv[0], sys.orig_argv[1:-1], open("/proc/self/status").read().count("\t"))
import socket
server = socket.create_server(("127.0.0.1", 0))
print("loopback", socket.create_connection(server.getsockname(), timeout=2) is not None)
'''


def test_a_required_sandbox_that_is_missing_grades_nothing(tmp_path):
    """Told to require a sandbox it may not use, the grader runs no cell: nbgrader reports
    the notebook as not graded rather than grade what a submission could forge."""
    with pytest.raises(RuntimeError, match="require_sandbox is True"):
        run("print(1)", tmp_path, sandbox=False, require_sandbox=True)


@pytest.mark.slow
def test_warm_kernel_looks_like_a_fresh_one(tmp_path):
    """A warm kernel shows what a plain one shows: its process number, working
    directory and sys.path, environment, empty history and namespace, capabilities,
    modules, the processes it can see, the modes of /, /tmp and /dev, the devices, the
    mount points, its command line, and a loopback it can connect to."""
    assert run(FINGERPRINT, tmp_path, "warm") == run(FINGERPRINT, tmp_path, "plain")


@pytest.mark.slow
def test_warm_kernels_are_forked(tmp_path):
    """The warm path really ran: the namespace's first process is the fork server's
    (a plain kernel's is bwrap)."""
    code = 'print(open("/proc/1/cmdline").read().replace(chr(0), " "))'
    assert "forkserver.py" in run(code, tmp_path, "warm")
    assert "bwrap" in run(code, tmp_path, "plain")


@pytest.mark.slow
def test_warm_kernels_share_nothing(tmp_path):
    """What one warm kernel leaves (a file in /tmp, /dev or its folder, a changed
    module) no later kernel sees, and each has its own random state."""
    first = ('import numpy, random, pathlib\n'
             'numpy.left_behind = 1\n'
             'for path in ("/tmp/left.txt", "/dev/left.txt", "left.txt"):\n'
             '    pathlib.Path(path).write_text("x")\n'
             'print(numpy.random.rand(), random.random())')
    second = ('import numpy, random, os\n'
              'print(hasattr(numpy, "left_behind"), [p for p in ("/tmp/left.txt", '
              '"/dev/left.txt", "left.txt") if os.path.exists(p)])\n'
              'print(numpy.random.rand(), random.random())')
    drawn = run(first, tmp_path, "warm").split()
    seen, again = run(second, tmp_path, "warm").split("\n", 1)
    assert seen == "False []"
    assert again.split() != drawn


@pytest.mark.slow
def test_a_kernel_that_cannot_be_forked_starts_plain(tmp_path, monkeypatch):
    """When the fork server fails, the kernel is started plain and the notebook runs."""
    def broken(*args):
        raise sandbox.ForkError("the fork server did not start (test)")

    monkeypatch.setattr(sandbox, "zygote", broken)
    code = 'print(open("/proc/1/cmdline").read().replace(chr(0), " "))'
    assert "bwrap" in run(code, tmp_path, "warm")


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
def test_kernel_usage_is_measured(tmp_path, kind):
    """The kernel manager measures what each kind of kernel used (the benchmark and the
    judge's records read it): the CPU its cell spent, and a peak resident size of a
    Python process."""
    preprocessor = JudgedExecute(config=CONFIG, **KERNELS[kind])
    # past 0.3 s: a plain kernel's CPU is read from /proc, in whole clock ticks
    spin = "import time\nwhile time.process_time() < 0.35:\n    pass"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(spin)])
    preprocessor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    [usage] = preprocessor.kernels
    assert usage["cpu"] >= 0.3, usage
    assert usage["maxrss"] > 20 * 1024, usage  # KiB


@pytest.mark.parametrize("argv, prefix", [
    (["/env/bin/python", "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{cf}"],
     ["/env/bin/python", "-Xfrozen_modules=off"]),
    (["python", "-m", "ipykernel_launcher", "-f", "{cf}"], [sys.executable]),
    (["/env/bin/python", "-m", "other_kernel", "-f", "{cf}"], None),
    (["/usr/bin/ir-kernel", "{cf}"], None),
])
def test_only_ipykernel_commands_are_forked_warm(argv, prefix):
    """The fork server starts ipykernel: a kernelspec's interpreter and options are taken
    from an ipykernel_launcher command ("python" as jupyter_client runs it), none other."""
    assert sandbox.kernel_prefix(argv) == prefix


# ---- what one kernel may use -------------------------------------------------------------

LIMITS = {"tmp_bytes": 64 << 20, "file_bytes": 8 << 20, "open_files": 200, "cpu_seconds": 300}
LIMITS_PROBE = '''import os, resource
print("limits", [resource.getrlimit(getattr(resource, f"RLIMIT_{n}"))
                 for n in ("FSIZE", "NOFILE", "CPU")])
tmp = os.statvfs("/tmp")
print("tmp", tmp.f_blocks * tmp.f_frsize)
'''
OVER_THE_LIMITS = '''import os
def fill_tmp():  # 4 MiB files, each under the file limit, together past /tmp's size
    for i in range(30):
        with open(f"/tmp/part{i}", "wb") as f:
            f.write(b"x" * (4 << 20))
def big_file():
    with open("big", "wb") as f:
        f.write(b"x" * (16 << 20))
def many_files():
    return [open("/dev/null") for _ in range(500)]
for name, attack in (("tmp", fill_tmp), ("file", big_file), ("fds", many_files)):
    try:
        attack()
        print(name, "not stopped")
    except OSError as exc:
        print(name, exc.strerror)
'''


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
def test_kernel_runs_under_the_configured_limits(tmp_path, kind):
    """The kernel's largest file, file descriptors and CPU seconds are the configured ones,
    soft and hard (it cannot raise them), and its /tmp is a tmpfs of the configured size."""
    text = run(LIMITS_PROBE, tmp_path, kind, **LIMITS)
    want = [(LIMITS[k], LIMITS[k]) for k in ("file_bytes", "open_files", "cpu_seconds")]
    assert f"limits {want}" in text, text
    assert f"tmp {LIMITS['tmp_bytes']}" in text, text


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
def test_writing_past_a_limit_fails_with_its_error_and_the_kernel_goes_on(tmp_path, kind):
    """Filling /tmp, writing a file past the largest one, opening too many files: each
    fails with the error that names the limit, and the kernel runs the rest of the cell."""
    text = run(OVER_THE_LIMITS, tmp_path, kind, **LIMITS)
    assert text.splitlines() == ["tmp No space left on device", "file File too large",
                                 "fds Too many open files"], text


# ---- what a kernel and everything it starts may use together (cgroup.py) -----------------

TREE_LIMITS = {"max_processes": 32, "memory_bytes": 256 << 20}
# the corpus's fork bomb and memory hog, bounded so that a machine without the limits
# survives them
MEMORY_IN_CHILDREN = memory_in_children(100)  # four of 100 MiB: 400 MiB together


def tree_limits_or_skip():
    """The grader may make cgroups with both limits here (a root grader), else skip."""
    from conftest import missing

    from rnn_solutions.engine import cgroup

    if set(cgroup.usable()) != {"pids", "memory"}:
        missing("a cgroup for each kernel", "grade as root, or delegate cgroups to the grader")


def run_cells(cells, folder, kind, **settings):
    """Each cell's outputs, as text, after a kernel of that kind ran them in turn."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb = execute(nb, folder, **KERNELS[kind], **settings)
    return ["".join(o.get("text", "") + o.get("evalue", "") for o in c.outputs) for c in nb.cells]


def kernel_groups():
    """The kernel cgroups that exist on this machine (their folders)."""
    import os

    from rnn_solutions.engine import cgroup

    return {os.path.join(parent, n) for _, parent in cgroup.usable().values()
            for n in os.listdir(parent) if n.startswith("rnn-kernel-")}


def left_running(name, option="-x"):
    """How many processes of that name still run (option "-f": whose command line holds
    it; a zombie the machine's init has yet to reap runs nothing and holds nothing but
    its number)."""
    import subprocess

    found = subprocess.run(["pgrep", option, name], capture_output=True, text=True)
    running = 0
    for pid in found.stdout.split():
        try:
            with open(f"/proc/{pid}/stat") as f:
                running += f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            pass  # it ended meanwhile
    return running


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
def test_a_fork_bomb_loses_its_cell_and_leaves_nothing(tmp_path, kind):
    """A cell whose processes pass the kernel's limit gets a message naming it; the next
    cell runs in a fresh kernel; none of the processes is left on the machine."""
    tree_limits_or_skip()
    groups = kernel_groups()
    first, after = run_cells([FORK_BOMB, 'print("next cell ran")'], tmp_path, kind,
                             **TREE_LIMITS)
    assert first.startswith("this cell started more than 32 processes"), first
    assert "stopped: Resource temporarily unavailable" in first, first
    assert after == "next cell ran\n"
    assert left_running("rnn-bomb") == 0
    assert kernel_groups() - groups == set()  # both kernels' groups were removed


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
def test_memory_taken_by_many_processes_is_bounded_in_all(tmp_path, kind):
    """Four children of 100 MiB each pass a 256 MiB limit on the kernel's whole tree (no
    one of them passes its own address-space limit): the cell is told, the next runs."""
    tree_limits_or_skip()
    first, after = run_cells([MEMORY_IN_CHILDREN, 'print("next cell ran")'], tmp_path, kind,
                             **TREE_LIMITS)
    assert first.startswith("this cell's processes used more than 256 MiB"), first
    assert after == "next cell ran\n"
    assert left_running("rnn-hog") == 0


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
def test_without_a_pids_group_the_watchdog_counts_processes(tmp_path, monkeypatch, kind):
    """Where only memory groups can be made (a container's condition), the processes
    counted in it bound the tree: the cell is told, the next runs, none is left."""
    from rnn_solutions.engine import cgroup

    tree_limits_or_skip()
    found = cgroup.usable()
    monkeypatch.setattr(cgroup, "usable", lambda: {"memory": found["memory"]})
    first, after = run_cells([FORK_BOMB, 'print("next cell ran")'], tmp_path, kind,
                             **TREE_LIMITS)
    assert first.startswith("this cell started more than 32 processes"), first
    assert after == "next cell ran\n"
    assert left_running("rnn-bomb") == 0


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
@pytest.mark.parametrize("mode", ["bubblewrap", "landlock"])
@pytest.mark.parametrize(("code", "message", "name"), [
    (FORK_BOMB, "this cell started more than 32 processes", "rnn-bomb"),
    (MEMORY_IN_CHILDREN, "this cell's processes used more than 256 MiB", "rnn-hog")])
def test_without_any_group_the_watchdog_bounds_the_tree(tmp_path, monkeypatch, kind, mode,
                                                        code, message, name):
    """Where no cgroup may be made (a container whose cgroups are read-only, a non-root
    grader without delegation), the processes below the kernel are counted and their
    memory summed (below a plain kernel's bwrap, a warm kernel's PID 1, or a confined warm
    kernel's supervisor): the cell is told, the next runs, none is left."""
    from rnn_solutions.engine import cgroup

    monkeypatch.setattr(cgroup, "make", lambda *limits: None)
    monkeypatch.setattr(sandbox, "mode", lambda: mode)
    first, after = run_cells([code, 'print("next cell ran")'], tmp_path, kind, **TREE_LIMITS)
    assert first.startswith(message), first
    assert after == "next cell ran\n"
    assert left_running(name) == 0


FILLS_IN_FILES = '''for _i in range(3):  # 120 MiB in files of 40 MiB, each one allowed
    with open(f"filler{_i}.bin", "wb") as _f:
        _f.write(b"x" * (40 << 20))
print("written")
'''
MANY_FILES = '''import os
os.mkdir("many")
for _i in range(3000):
    open(f"many/{_i}", "w").close()
print("written")
'''


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERNELS)
@pytest.mark.parametrize(("code", "limit"), [(FILLS_IN_FILES, {"disk_bytes": 64 << 20}),
                                             (MANY_FILES, {"max_files": 1000})])
def test_what_a_kernel_writes_is_bounded_in_all(tmp_path, kind, code, limit):
    """Files each under the size limit pass the folder's limit together, or too many
    files do: the cell is told, the next runs in a fresh copy of the folder."""
    first, after = run_cells([code, 'import os\nprint(sorted(os.listdir(".")))'], tmp_path,
                             kind, **limit)
    assert first.startswith("this cell wrote more than "), first
    assert (" 1000 files" if "max_files" in limit else " 64 MiB") in first, first
    assert after == "[]\n"


def test_written_counts_what_the_disk_holds(tmp_path):
    """A sparse file's holes take no disk; the walk stops past max_files entries."""
    from rnn_solutions.engine.watchdog import written

    with open(tmp_path / "sparse", "wb") as f:
        f.seek(1 << 30)
        f.write(b"x")
    (tmp_path / "dense").write_bytes(b"x" * (1 << 20))
    size, files = written(tmp_path, 100)
    assert (1 << 20) <= size < (1 << 20) + (1 << 16) and files == 2, (size, files)
    for i in range(50):
        (tmp_path / f"f{i}").touch()
    assert written(tmp_path, 10)[1] == 11
