"""The limits nothing else holds, checked by the grader while a cell runs (every
ALIVE_EVERY seconds, execute.py) and after it:

- processes and threads, where no pids group could be made (a container refuses the
  grader pids groups; a non-root grader may get none: cgroup.py): counted in the kernel's
  memory group, else in the tree of processes below the kernel's root (a scan of /proc,
  every SCAN_EVERY-th check);
- memory, where no group could be made: the resident memory of that tree (a tmpfs /tmp
  is bounded by its size);
- what the kernel wrote to its folder (the notebook's copy, its HOME and, where namespaces
  are refused, its /tmp), in bytes and in files: no filesystem quota is at hand, and
  RLIMIT_FSIZE bounds one file only (walked every SCAN_EVERY-th check).

A watchdog samples: a fork bomb may pass the count for a twentieth of a second (a quarter
of one without a group), a fast writer the bytes by what it writes in a quarter of one.
"""

import contextlib
import os
import signal

SCAN_EVERY = 5  # the folder (and /proc, without a group) is scanned every fifth check
PAGE = os.sysconf("SC_PAGE_SIZE")


def written(folder, max_files):
    """(bytes, files) under folder, as the disk counts them (a sparse file's holes take
    nothing); the walk stops past max_files entries."""
    total, files, stack = 0, 0, [folder]
    while stack and files <= max_files:
        with contextlib.suppress(OSError), os.scandir(stack.pop()) as entries:
            for entry in entries:
                files += 1
                if files > max_files:
                    break
                with contextlib.suppress(OSError):
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
    return total, files


def tree(root):
    """{pid: (threads, resident bytes)} of root and every process below it, from /proc."""
    below, held = {}, {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError), \
                    open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()  # state, ppid, ...
                if fields[0] != "Z":  # a zombie holds nothing but its number
                    below.setdefault(int(fields[1]), []).append(int(name))
                    held[int(name)] = (int(fields[17]), int(fields[21]) * PAGE)
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        if pid in held and pid not in found:
            found[pid] = held[pid]
            stack += below.get(pid, [])
    return found


class Watchdog:
    """One kernel's watch: its group (cgroup.py, or None), the root of its processes'
    tree (a PID as this process sees it, or None), its folder, and the limits (0: not
    watched)."""

    def __init__(self, group, root, folder, max_processes, disk_bytes, max_files,
                 memory_bytes=0):
        self.group, self.root, self.folder = group, root, folder
        counted = group is not None and "pids" not in group.folders or \
            group is None and root is not None
        self.max_processes = max_processes if counted else 0
        self.memory_bytes = memory_bytes if group is None and root is not None else 0
        self.disk_bytes, self.max_files = disk_bytes, max_files
        self.checks = 0

    def check(self, walk=False):
        """The limits passed now: "pids", "memory", "disk" (the scans run on every SCAN_EVERY-th
        check, or when walk is True)."""
        hit = []
        self.checks += 1
        scan = walk or self.checks % SCAN_EVERY == 0
        if self.max_processes and self.group is not None:
            if self.group.tasks() > self.max_processes:
                hit.append("pids")
        elif (self.max_processes or self.memory_bytes) and scan:
            held = tree(self.root).values()
            if self.max_processes and sum(t for t, _ in held) > self.max_processes:
                hit.append("pids")
            if self.memory_bytes and sum(m for _, m in held) > self.memory_bytes:
                hit.append("memory")
        if scan and (self.disk_bytes or self.max_files):
            size, files = written(self.folder, self.max_files or float("inf"))
            if (self.disk_bytes and size > self.disk_bytes) or \
                    (self.max_files and files > self.max_files):
                hit.append("disk")
        return hit

    def kill(self):
        """Kill every process of the kernel's group, or of its tree."""
        if self.group is not None:
            self.group.kill()
        elif self.root is not None:
            for _ in range(100):  # until no process is left (one may fork meanwhile)
                pids = tree(self.root)
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
