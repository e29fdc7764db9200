"""The sandbox where namespaces are refused: Landlock and seccomp around one process.

Where bubblewrap cannot make namespaces (a Kubernetes pod or a Docker container under
the runtime's default seccomp profile, Gradescope's autograder), a process may still
restrict itself, without privilege, for good and for every process it starts:

- Landlock (Linux 5.13+): of the filesystem it may read only the folders in `read`
  (the system, the students' environment) and write only those in `write` (its own
  private folder); of TCP it may bind only `bind_ports` and connect only to
  `connect_ports` (ABI 4+); it may not signal processes outside its domain nor reach
  abstract Unix sockets made outside it (ABI 6+). A Landlock domain also bars ptrace of
  any process outside it, and with it other processes' /proc/PID/mem and environ.
- seccomp: no ptrace, process_vm_*, namespaces (unshare, setns, clone's CLONE_NEW*),
  mounts, keyrings, BPF, perf, userfaultfd, io_uring, file handles; no Unix, UDP or raw
  sockets (Landlock does not cover connecting to a Unix socket by its path: PostgreSQL's,
  Docker's); clone3 answers ENOSYS so that the C library falls back to clone.
- no capability left, none to gain (no_new_privs); the parent's death kills it.

Standard library only: the fork server runs it in the students' environment. (The
`landlock` package on PyPI covers the filesystem only, neither TCP nor scopes.)
Run as `python confine.py RULES_JSON -- COMMAND...`: restricts itself, then runs COMMAND.
"""

import ctypes
import json
import os
import platform
import signal
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

# the same numbers on x86_64 and aarch64 (the unified table, from 424 on)
LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446
RULE_PATH_BENEATH, RULE_NET_PORT = 1, 2
# filesystem rights by ABI: execute .. make_sym (1), refer (2), truncate (3), ioctl_dev (5)
FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
READ = 1 | 4 | 8  # execute, read_file, read_dir
FILE_RIGHTS = 1 | 2 | 4 | (1 << 14) | (1 << 15)  # the rights a rule on a file may hold
NET_BIND, NET_CONNECT = 1, 2
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1, 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
PR_SET_SECCOMP, SECCOMP_MODE_FILTER, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 22, 2, 47, 4


def syscall(number, *args):
    """A raw system call; OSError when it fails."""
    result = libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return result


def landlock_abi():
    """The kernel's Landlock ABI version; 0 where it has none (or refuses it)."""
    try:
        return syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except OSError:
        return 0


class PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class NetPort(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def landlock(read, write, bind_ports=(), connect_ports=(), tcp=True):
    """Restrict this process (and what it starts) to reading `read`, writing `write`,
    binding and connecting the TCP ports given (if `tcp`: else TCP is left alone, for a
    process whose children are given ports of their own), signalling its own domain only."""
    abi = landlock_abi()
    if abi < 1:
        raise OSError("this kernel has no Landlock")
    fs = FS_BY_ABI[max(k for k in FS_BY_ABI if k <= abi)]
    net = NET_BIND | NET_CONNECT if abi >= 4 and tcp else 0
    scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL if abi >= 6 else 0
    # the ruleset's attributes, as long as this ABI knows them
    attr = struct.pack("QQQ", fs, net, scoped)[:8 if abi < 4 else 16 if abi < 6 else 24]
    ruleset = syscall(LANDLOCK_CREATE_RULESET, attr, ctypes.c_size_t(len(attr)),
                      ctypes.c_uint32(0))
    try:
        for paths, rights in ((read, READ), (write, fs)):
            for path in paths:
                if not os.path.exists(path):
                    continue
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                try:
                    allowed = rights if os.path.isdir(path) else rights & FILE_RIGHTS & fs
                    rule = PathBeneath(allowed, fd)
                    syscall(LANDLOCK_ADD_RULE, ruleset, RULE_PATH_BENEATH,
                            ctypes.byref(rule), ctypes.c_uint32(0))
                finally:
                    os.close(fd)
        for ports, right in ((bind_ports, NET_BIND), (connect_ports, NET_CONNECT)):
            for port in ports if net else ():
                rule = NetPort(right, port)
                syscall(LANDLOCK_ADD_RULE, ruleset, RULE_NET_PORT, ctypes.byref(rule),
                        ctypes.c_uint32(0))
        syscall(LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0))
    finally:
        os.close(ruleset)


# ---- seccomp: a classic BPF program over (syscall number, arguments) --------------------

ARCHES = {  # audit architecture, and the refused system calls' numbers
    "x86_64": (0xC000003E, dict(
        ptrace=101, process_vm_readv=310, process_vm_writev=311, unshare=272, setns=308,
        mount=165, umount2=166, pivot_root=155, chroot=161, keyctl=250, add_key=248,
        request_key=249, bpf=321, perf_event_open=298, userfaultfd=323, kcmp=312,
        name_to_handle_at=303, open_by_handle_at=304, socket=41, clone=56)),
    "aarch64": (0xC00000B7, dict(
        ptrace=117, process_vm_readv=270, process_vm_writev=271, unshare=97, setns=268,
        mount=40, umount2=39, pivot_root=41, chroot=51, keyctl=219, add_key=217,
        request_key=218, bpf=280, perf_event_open=241, userfaultfd=282, kcmp=272,
        name_to_handle_at=264, open_by_handle_at=265, socket=198, clone=220)),
}
# io_uring_*, the new mount API, mount_setattr: the same on both; clone3 apart (ENOSYS)
SHARED = dict(io_uring_setup=425, io_uring_enter=426, io_uring_register=427,
              open_tree=428, move_mount=429, fsopen=430, fsconfig=431, fsmount=432,
              fspick=433, mount_setattr=442)
CLONE3 = 435
CLONE_NEW = 0x7E020000  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
AF_UNIX, AF_INET, AF_INET6, SOCK_STREAM = 1, 2, 10, 1
LD, JEQ, JGE, JSET, AND, RET = 0x20, 0x15, 0x35, 0x45, 0x54, 0x06
ALLOW, EPERM, ENOSYS = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38


def seccomp_program(machine=None):
    """The filter's instructions (code, jt, jf, k) for this machine's architecture;
    KeyError for an architecture it does not know."""
    arch, numbers = ARCHES[machine or platform.machine()]
    refused = sorted({n for name, n in numbers.items() if name not in ("socket", "clone")}
                     | set(SHARED.values()))
    # with labels: ("jeq", k, label) jumps to label when equal, else goes on
    prog = [(LD, 4), ("jeq", arch, "arch"), (RET, EPERM), "arch", (LD, 0)]
    if machine == "x86_64" or (machine is None and platform.machine() == "x86_64"):
        prog += [("jge", 0x40000000, "deny")]  # the x32 ABI's numbers
    prog += [("jeq", n, "deny") for n in refused]
    prog += [("jeq", CLONE3, "nosys"), ("jeq", numbers["clone"], "clone"),
             ("jeq", numbers["socket"], "socket"), (RET, ALLOW),
             "clone", (LD, 16), ("jset", CLONE_NEW, "deny"), (RET, ALLOW),
             "socket", (LD, 16), ("jeq", AF_INET, "stream"), ("jeq", AF_INET6, "stream"),
             ("jeq", AF_UNIX, "deny"), (RET, ALLOW),
             "stream", (LD, 24), (AND, 0xF), ("jeq", SOCK_STREAM, "allow"),
             "deny", (RET, EPERM), "nosys", (RET, ENOSYS), "allow", (RET, ALLOW)]
    labels, at = {}, 0
    for item in prog:
        if isinstance(item, str):
            labels[item] = at
        else:
            at += 1
    code, at = [], 0
    for item in prog:
        if isinstance(item, str):
            continue
        if isinstance(item[0], str):  # a conditional jump: to the label if true
            op = {"jeq": JEQ, "jge": JGE, "jset": JSET}[item[0]]
            code.append((op, labels[item[2]] - at - 1, 0, item[1]))
        else:
            code.append((item[0], 0, 0, item[1]))
        at += 1
    return code


def seccomp():
    """Load the filter (no_new_privs must be set)."""
    code = seccomp_program()
    filters = b"".join(struct.pack("HBBI", *ins) for ins in code)
    buffer = ctypes.create_string_buffer(filters)
    program = struct.pack("HxxxxxxP", len(code), ctypes.addressof(buffer))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.c_char_p(program), 0, 0):
        errno = ctypes.get_errno()
        raise OSError(errno, f"seccomp: {os.strerror(errno)}")


def drop_privileges():
    """No capability left, none to gain; die with the parent."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):  # refused without CAP_SETPCAP: then it is empty already
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header, data = struct.pack("Ii", 0x20080522, 0), ctypes.create_string_buffer(24)
    if libc.capset(ctypes.c_char_p(header), data):
        raise OSError(ctypes.get_errno(), "capset")
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
        raise OSError(ctypes.get_errno(), "no_new_privs")


def apply(rules):
    """Confine this process by `rules`: {"read", "write", "bind_ports", "connect_ports":
    lists, "own_proc": whether it may read its own /proc/PID, "tcp": whether to restrict
    TCP, "seccomp": whether to load the filter}. OSError where the kernel refuses any
    part."""
    read = list(rules.get("read", []))
    if rules.get("own_proc"):
        read.append(f"/proc/{os.getpid()}")
    drop_privileges()
    landlock(read, rules.get("write", []), rules.get("bind_ports", []),
             rules.get("connect_ports", []), rules.get("tcp", True))
    if rules.get("seccomp", True):
        seccomp()


def main(argv):
    """confine.py RULES_JSON -- COMMAND...: confine, then exec COMMAND with the rules'
    "env" as its whole environment."""
    rules, command = json.loads(argv[1]), argv[argv.index("--") + 1:]
    apply(rules)
    os.execvpe(command[0], command, rules.get("env", dict(os.environ)))


if __name__ == "__main__":
    main(sys.argv)
