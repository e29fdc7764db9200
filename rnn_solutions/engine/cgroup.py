"""Limits on a kernel's whole process tree: a control group of its own, where one can be made.

An rlimit bounds one process; a kernel may start many (a fork bomb, forty children of
4 GiB each), and Linux never enforces RLIMIT_NPROC for a kernel whose user is the
machine's root. A cgroup bounds them all: `pids.max` (processes and threads) and the
memory of every process in it, including what they write to a tmpfs `/tmp` (its pages
are charged to the group that wrote them). Groups are made where this process may make
them: in cgroup v1's `pids` and `memory` hierarchies (a root grader), or in cgroup v2
below this process's cgroup where the controllers are delegated to it. Elsewhere
`make()` returns None and only the rlimits hold.

A kernel joins its group before its first line runs: a plain one through
`python cgroup.py PROCS_FILE... -- COMMAND`, a warm one by writing "0" (itself) to the
`cgroup.procs` files the grader hands to the fork server.
"""

import contextlib
import functools
import os
import signal
import sys
import time
import uuid

CONTROLLERS = ("pids", "memory")
# per cgroup version: the limit's file, and the event file and key that count hits
LIMITS = {1: {"pids": "pids.max", "memory": "memory.limit_in_bytes"},
          2: {"pids": "pids.max", "memory": "memory.max"}}
EVENTS = {1: {"pids": ("pids.events", "max"), "memory": ("memory.oom_control", "oom_kill")},
          2: {"pids": ("pids.events", "max"), "memory": ("memory.events", "oom_kill")}}


def own_cgroups():
    """{controller: (version, folder of this process's cgroup)} for pids and memory."""
    paths = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            for name in names.split(",") if names else ["(v2)"]:
                paths[name] = path
    found = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point, kind = fields[4], fields[fields.index("-") + 1]
            options = fields[-1].split(",")
            for name in CONTROLLERS:
                if kind == "cgroup" and name in options and name in paths:
                    found[name] = (1, point + paths[name].rstrip("/"))
                elif kind == "cgroup2" and "(v2)" in paths and name not in found:
                    folder = point + paths["(v2)"].rstrip("/")
                    with contextlib.suppress(OSError), \
                            open(f"{folder}/cgroup.subtree_control") as control:
                        if name in control.read().split():
                            found[name] = (2, folder)
    return found


@functools.cache
def usable():
    """{controller: (version, parent folder)} where this process can make a group that
    holds a limit (tried once per process)."""
    usable = {}
    for name, (version, parent) in own_cgroups().items():
        trial = os.path.join(parent, f"rnn-trial-{uuid.uuid4().hex[:8]}")
        try:
            os.mkdir(trial)
            try:
                with open(os.path.join(trial, LIMITS[version][name]), "w") as f:
                    f.write({"pids": "64", "memory": "1073741824"}[name])
                usable[name] = (version, parent)
            finally:
                os.rmdir(trial)
        except OSError:
            continue
    return usable


class Group:
    """One kernel's groups: at most `max_processes` processes and threads, and
    `memory_bytes` of memory (0: that one unbounded) in all."""

    def __init__(self, max_processes, memory_bytes):
        self.name = f"rnn-kernel-{uuid.uuid4().hex[:12]}"
        self.folders = {}  # controller -> (version, folder)
        wanted = {"pids": max_processes, "memory": memory_bytes}
        for name, (version, parent) in usable().items():
            if not wanted[name]:
                continue
            folder = os.path.join(parent, self.name)
            try:
                os.mkdir(folder)
                with open(os.path.join(folder, LIMITS[version][name]), "w") as f:
                    f.write(str(wanted[name]))
                self.folders[name] = (version, folder)
            except OSError:
                with contextlib.suppress(OSError):
                    os.rmdir(folder)
        self.limits = {name: wanted[name] for name in self.folders}

    def procs(self):
        """The cgroup.procs files a process writes itself into to join."""
        return [os.path.join(folder, "cgroup.procs") for _, folder in self.folders.values()]

    def exceeded(self):
        """The limits the group's processes ran into: a list of controllers' names."""
        hit = []
        for name, (version, folder) in self.folders.items():
            file, key = EVENTS[version][name]
            with contextlib.suppress(OSError, ValueError), open(os.path.join(folder, file)) as f:
                counts = dict(line.split()[:2] for line in f if len(line.split()) >= 2)
                if int(counts.get(key, 0)) > 0:
                    hit.append(name)
        return hit

    def most_files(self):
        """The most file descriptors one process of the group holds (an rlimit bounds
        them, but one cell holding them all would fail every cell after it)."""
        most = 0
        for _, folder in list(self.folders.values())[:1]:
            with contextlib.suppress(OSError), open(os.path.join(folder, "cgroup.procs")) as f:
                for pid in f.read().split():
                    with contextlib.suppress(OSError):
                        most = max(most, len(os.listdir(f"/proc/{pid}/fd")))
        return most

    def tasks(self):
        """How many processes and threads are in the group now (0 if it cannot be read)."""
        for version, folder in self.folders.values():
            with contextlib.suppress(OSError), \
                    open(os.path.join(folder, "tasks" if version == 1 else "cgroup.threads")) as f:
                return len(f.read().split())
        return 0

    def kill(self, remove=False):
        """Kill every process in the groups (those forked meanwhile too); remove=True:
        then remove the groups (one stays busy until its killed processes are reaped:
        removed later by sweep() if not now)."""
        for _, folder in self.folders.values():
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    with open(os.path.join(folder, "cgroup.procs")) as f:
                        pids = [int(pid) for pid in f.read().split()]
                except OSError:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                if not remove:
                    if not pids:
                        break
                    continue
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:  # busy: processes still ending
                    time.sleep(0.01)

    def close(self):
        """Kill every process left in the groups, then remove them."""
        self.kill(remove=True)
        self.folders = {}


_swept = []  # whether this process swept already
STALE = 600  # seconds after which an empty kernel group is another run's leftover


def sweep():
    """Remove the empty kernel groups older than STALE seconds (a grader killed before it
    could remove its own)."""
    for _, parent in usable().values():
        with contextlib.suppress(OSError):
            for name in os.listdir(parent):
                folder = os.path.join(parent, name)
                with contextlib.suppress(OSError):
                    if name.startswith("rnn-kernel-") and \
                            time.time() - os.stat(folder).st_mtime > STALE:
                        os.rmdir(folder)  # refused while a process is in it


def make(max_processes, memory_bytes):
    """A Group for one kernel, or None where no limit of the two can be set by a group."""
    if not _swept:
        _swept.append(True)
        sweep()
    group = Group(max_processes, memory_bytes)
    return group if group.folders else None


def join(procs):
    """Put this process in the groups whose cgroup.procs files are given."""
    for path in procs:
        with open(path, "w") as f:
            f.write("0")


def command(group, cmd):
    """cmd, run in the group (from its first instruction)."""
    if group is None:
        return cmd
    return [sys.executable, os.path.abspath(__file__), *group.procs(), "--", *cmd]


if __name__ == "__main__":
    split = sys.argv.index("--")
    join(sys.argv[1:split])
    os.execvp(sys.argv[split + 1], sys.argv[split + 1:])
