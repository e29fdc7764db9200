"""Autograde with the judge: nbgrader's Execute, each graded test cell decided by it.

`JudgedExecute` replaces nbgrader's `Execute` preprocessor (see nbgrader_config.py), in
`nbgrader autograde`, `nbgrader validate` and the class grader. Before running a notebook
it starts a `Judge` (`judge.py`) and installs the client module `_judge` in the kernel,
which runs in a sandbox (`sandbox.py`); it opens each graded test cell's window in the
judge before the cell runs and closes it after.

After the notebook ran, every graded cell whose window did not end with a passing
verdict gets an error output with the judge's message, so nbgrader scores it 0 whatever
the cell printed. A kernel that dies is restarted, the cells that ran before are run
again (test cells excepted), and the cell that killed it is marked, so a fault costs
only its own cells.
"""

import asyncio
import copy
import json
import os
from pathlib import Path

import nbformat
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbformat.validator import NotebookValidationError
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Integer, Unicode

from rnn_solutions.engine import sandbox, sanitize
from rnn_solutions.engine.declaration import load as load_declaration
from rnn_solutions.engine.judge import CLIENT, GRADE_ID, Judge, client_module

# The limits of a student's kernel, soft and hard alike so that it cannot raise them again:
# memory (numpy raises MemoryError instead of the machine killing a process), the largest
# file it may write, file descriptors, CPU seconds in all (SIGXCPU ends the kernel: its
# cell is marked as the one that killed it, the rest of the notebook grades as usual).
KERNEL_SETUP = r'''
import os as _os, sys as _sys
_path = _sys.path[:]  # a resource.py in the notebook's folder must not stand in
_sys.path[:] = [p for p in _path if _os.path.abspath(p or ".") != _os.getcwd()]
import resource as _resource
_sys.path[:] = _path
_limit = int(open("/proc/self/statm").read().split()[0]) * _resource.getpagesize() + (4 << 30)
for _name, _value in (("RLIMIT_AS", _limit), ("RLIMIT_FSIZE", {file_bytes}),
                      ("RLIMIT_NOFILE", {open_files}), ("RLIMIT_CPU", {cpu_seconds})):
    if _value:
        _resource.setrlimit(getattr(_resource, _name), (_value, _value))
del _os, _sys, _path, _resource, _limit, _name, _value
'''


# A cell that leaves its kernel this close to its open_files would fail every cell after it
# (the judge's connection needs a descriptor): the kernel is replaced. An honest kernel
# holds about 70.
FILES_MARGIN = 32

# How often a running cell checks that its kernel is alive (nbclient: every second). A
# submission whose function ends its process kills the kernel in every cell that calls it.
ALIVE_EVERY = 0.05


def install_client(address, token=b""):
    """Code that installs the client in the kernel's sys.modules (it survives %reset -f)."""
    return (client_module(address, token) + f"import sys as _sys\n_sys.modules[{CLIENT!r}] = _m\n"
            "del _sys, _types, _m\n")


class JudgedExecute(Execute):
    """nbgrader's Execute, with the judge running and graded cells decided by it."""

    sandbox = Bool(True, help="Run grading kernels in a sandbox (sandbox.py: bubblewrap, "
                              "else Landlock) when the machine can").tag(config=True)
    require_sandbox = Bool(False, help="Refuse to grade where kernels cannot be sandboxed "
                           "(no grade rather than one a submission could forge)").tag(
                               config=True)
    warm_kernels = Bool(True, help="Fork each sandboxed kernel from a warm fork server "
                                   "(sandbox.py, forkserver.py)").tag(config=True)
    declarations = Dict(value_trait=Unicode(), help="Each assignment's declaration "
                        "(declaration.py), as 'module:attribute'").tag(config=True)
    # what one kernel may use (0: no limit); docs/grading.md says how the defaults were chosen
    tmp_bytes = Integer(256 << 20, help="The size of a sandboxed kernel's /tmp, a tmpfs "
                        "(memory of the machine's)").tag(config=True)
    file_bytes = Integer(256 << 20, help="The largest file a kernel may write "
                         "(RLIMIT_FSIZE)").tag(config=True)
    open_files = Integer(1024, help="File descriptors a kernel may hold at once "
                         "(RLIMIT_NOFILE)").tag(config=True)
    cpu_seconds = Integer(600, help="CPU seconds a kernel may use in all, over every "
                          "cell (RLIMIT_CPU)").tag(config=True)
    max_processes = Integer(64, help="Processes and threads a kernel may hold at once "
                            "(a cgroup's pids.max where the grader may make one, else "
                            "watched: watchdog.py)").tag(config=True)
    memory_bytes = Integer(1 << 30, help="Memory of all a kernel's processes, its /tmp "
                           "included (a cgroup's, where the grader may make one)").tag(
                               config=True)
    disk_bytes = Integer(512 << 20, help="Bytes a kernel may write to its folder in all: "
                         "the notebook's copy, its HOME and /tmp where namespaces are "
                         "refused (watched: watchdog.py)").tag(config=True)
    max_files = Integer(10000, help="Files and folders a kernel may have in its folder "
                        "(watched: watchdog.py)").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("kernel_manager_class", sandbox.GradingKernelManager)
        super().__init__(**kwargs)

    def mode(self):
        """How this grader's kernels are sandboxed (sandbox.mode(), or "none")."""
        return sandbox.mode_for(self.sandbox)

    def preprocess(self, nb, resources=None, km=None):
        if self.require_sandbox and self.mode() == "none":
            raise RuntimeError("not graded: c.JudgedExecute.require_sandbox is True and "
                               + sandbox.WARNING)
        say_protection(self.log, self.mode())
        self.judge = Judge(self.declaration_of(resources), tcp=self.mode() == "landlock")
        self.kernels = []  # each kernel's {"cpu": seconds, "maxrss": KiB}, or None
        self.limit_hit = []  # the limits the last cell ran into
        try:
            self._run_all(nb, resources, km)
        finally:
            self.judge.close()
        sanitize.make_valid(nb)  # what the kernel sent, made valid for nbconvert
        apply_verdicts(nb, self.judge, self.timeout)
        known = [k for k in self.kernels if k]  # a kernel that died was not measured
        write_record(resources, {
            "forgeries": self.judge.forgeries, "sandboxed": self.mode() != "none",
            "sandbox": self.mode(),
            "kernel_cpu": sum(k["cpu"] for k in known),
            "kernel_maxrss": max((k["maxrss"] for k in known), default=None),
            "kernels_unmeasured": len(self.kernels) - len(known)})
        return nb, self.resources

    def declaration_of(self, resources):
        """The declaration of the notebook's assignment (named by nbgrader, else by the
        notebook's folder), or None for an assignment not declared."""
        resources = resources or {}
        assignment = resources.get("nbgrader", {}).get("assignment") or \
            Path(resources.get("metadata", {}).get("path") or ".").resolve().name
        spec = self.declarations.get(assignment)
        return None if spec is None else load_declaration(spec)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.sandbox, km.warm, km.binds = self.sandbox, self.warm_kernels, [self.judge.folder]
        km.judge_port = self.judge.address[1] if isinstance(self.judge.address, tuple) else 0
        km.tmp_bytes, km.max_processes = self.tmp_bytes, self.max_processes
        km.memory_bytes, km.disk_bytes, km.max_files = (self.memory_bytes, self.disk_bytes,
                                                        self.max_files)
        self.last_km = km  # nbclient forgets it when the kernel ends
        return km

    def _run_all(self, nb, resources, km):
        """Run every cell; when the kernel dies, mark the cell, restart, replay, go on."""
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        done, index = [], 0
        while index < len(nb.cells):
            self.last_km = None
            try:
                with self.setup_kernel():
                    self._prepare_kernel(nb, done)
                    while index < len(nb.cells):
                        self._run_cell(nb.cells[index], resources, index)
                        done.append(index)
                        index += 1
            except DeadKernelError:
                mark(nb.cells[index], "KernelDied", self.why_it_died())
                index += 1
            finally:
                # measured by the kernel manager (sandbox.py); None if the kernel died
                self.kernels.append(getattr(self.last_km, "kernel_usage", None))
                self.km, self.kc = None, None

    def why_it_died(self):
        """The message of the cell a kernel died in: the limit it ran into, if one did."""
        hit = self.limit_hit or getattr(self.last_km, "limits_hit", [])
        self.limit_hit = []
        if "files" in hit:
            return (f"this cell left more than {self.open_files - FILES_MARGIN} files open "
                    f"(of the {self.open_files} a kernel may hold): they were closed, and "
                    "the rest of the notebook ran in a fresh kernel")
        if "pids" in hit:
            return (f"this cell started more than {self.max_processes} processes and "
                    "threads at once: they were ended, and the rest of the notebook ran in "
                    "a fresh kernel")
        if "memory" in hit:
            return (f"this cell's processes used more than {self.memory_bytes >> 20} MiB of "
                    "memory: they were ended, and the rest of the notebook ran in a fresh "
                    "kernel")
        if "disk" in hit:
            return (f"this cell wrote more than {self.disk_bytes >> 20} MiB, or more than "
                    f"{self.max_files} files, in the notebook's folder: the kernel was "
                    "ended, its files deleted, and the rest of the notebook ran in a fresh "
                    "kernel")
        return ("the kernel died while this cell ran: the code called exit() or os._exit(), "
                "crashed, or ran out of memory")

    async def _async_poll_kernel_alive(self):
        """nbclient's watch on a running cell, checking every ALIVE_EVERY seconds instead
        of every second: a kernel's death ends its cell at once."""
        while True:
            await asyncio.sleep(ALIVE_EVERY)
            hit = self.km.watchdog.check() if self.km and self.km.watchdog else []
            if hit:  # the kernel is ended: the check below finds it dead
                self.limit_hit = hit
                await self._end_kernel()
            try:
                await self._async_check_alive()
            except DeadKernelError:
                self.task_poll_for_reply.cancel()
                return

    def process_message(self, msg, cell, cell_index):
        """nbclient's handling of a kernel message; an output nbformat refuses (a kernel
        can send any JSON) becomes a line saying so, instead of failing the notebook."""
        try:
            return super().process_message(msg, cell, cell_index)
        except NotebookValidationError:
            cell.setdefault("outputs", []).append(nbformat.from_dict(sanitize.DROPPED))
            return None

    def _run_cell(self, cell, resources, index):
        """Run one cell; a graded test cell runs inside its window of the judge."""
        grade_id = judged_grade_id(cell)
        if grade_id:
            self.judge.open(grade_id)
        try:
            self.preprocess_cell(cell, resources, index)
        finally:
            if grade_id:
                self.judge.end()
        # what it started or wrote may still hold a limit: then a fresh kernel
        group, watchdog = getattr(self.km, "group", None), getattr(self.km, "watchdog", None)
        self.limit_hit = watchdog.check(walk=True) if watchdog else []
        if group is not None:
            self.limit_hit += group.exceeded()
            if self.open_files and group.most_files() > self.open_files - FILES_MARGIN:
                self.limit_hit.append("files")
        if self.limit_hit:
            raise DeadKernelError(f"the kernel's limits: {self.limit_hit}")

    async def _end_kernel(self):
        """Kill the kernel and every process it started."""
        self.km.watchdog.kill()
        if self.km.provisioner is not None:
            await self.km.provisioner.kill()

    def _prepare_kernel(self, nb, done):
        """Install the client and limits, then replay the cells that ran before a restart
        (test cells excepted: their verdicts are already in)."""
        self._silent(install_client(self.judge.address, self.judge.token) + KERNEL_SETUP.format(
            file_bytes=self.file_bytes, open_files=self.open_files,
            cpu_seconds=self.cpu_seconds))
        for i in done:
            if not judged_grade_id(nb.cells[i]):
                self.execute_cell(copy.deepcopy(nb.cells[i]), i, store_history=False)

    def _silent(self, code):
        """Execute code in the kernel without recording it in the notebook; RuntimeError
        if it fails (nbgrader then reports the submission as not graded, not as zeros)."""
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
        content = (reply or {}).get("content", {})
        if content.get("status") != "ok":
            raise RuntimeError(f"the grading kernel could not be prepared: "
                               f"{content.get('ename', 'no reply')}: {content.get('evalue', '')}")


MODES = ("bubblewrap", "landlock", "none")  # sandbox.mode()'s answers
_said = set()


def say_protection(log, kind):
    """Log, once per process and sandbox mode, what protects the course from the kernels
    (log None: the caller said it; processes forked from this one will not say it again)."""
    if kind not in _said:
        _said.add(kind)
        text = sandbox.protection(kind)
        if log is not None:
            (log.warning if text.startswith("WARNING") else log.info)("%s", text)


def record_path(resources):
    """Where the record of a student's notebook lives: autograded/.judge/ASSIGNMENT/
    STUDENT.json (out of the students' feedback); None outside autograde."""
    meta = (resources or {}).get("nbgrader")
    path = (resources or {}).get("metadata", {}).get("path")
    if not meta or not path:
        return None
    return Path(path).resolve().parents[1] / ".judge" / meta["assignment"] / \
        f"{meta['student']}.json"


def write_record(resources, record):
    """Keep what the judge saw of a student's notebook, for the instructor's summaries."""
    path = record_path(resources)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)


def add_to_record(resources, **lists):
    """Add items to lists in the record the judge wrote for this grading ({key: items})."""
    path = record_path(resources)
    if path is None:
        return
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        record = {"forgeries": [], "sandboxed": False}
    write_record(resources, {**record, **{key: [*record.get(key, []), *items]
                                          for key, items in lists.items()}})


def read_records(root, assignment):
    """{student: record} of what the judge saw, from the last grading of each student;
    a record that cannot be read counts as unsandboxed, with no forgery."""
    records = {}
    for path in sorted((Path(root) / "autograded" / ".judge" / assignment).glob("*.json")):
        try:
            record = json.loads(path.read_text())
            kind = record.get("sandbox", "bubblewrap" if record["sandboxed"] else "none")
            records[path.stem] = {"forgeries": list(record["forgeries"]),
                                  "sandboxed": bool(record["sandboxed"]),
                                  "sandbox": kind if kind in MODES else "none",
                                  "removed": [str(r) for r in record.get("removed", [])],
                                  "kept_out": [str(r) for r in record.get("kept_out", [])]}
        except (OSError, ValueError, TypeError, KeyError):
            records[path.stem] = {"forgeries": [], "sandboxed": False, "sandbox": "none",
                                  "removed": [], "kept_out": []}
    return records


def mark(cell, ename, message):
    """Give a cell an error output, first, so that nbgrader scores it 0 whatever follows."""
    cell.setdefault("outputs", []).insert(0, NotebookNode(
        output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"]))


def judged_grade_id(cell):
    """The grade_id of a graded test cell whose hidden checks call the judge, or None.

    In autograde nbgrader has restored every test cell's source from the master, so the
    student cannot add or remove the call; a release notebook has no hidden checks."""
    meta = cell.metadata.get("nbgrader", {})
    if (cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")
            and GRADE_ID.match(str(meta.get("grade_id", "")))
            and f"{CLIENT}.check(" in cell.source):
        return meta["grade_id"]
    return None


def apply_verdicts(nb, judge, timeout):
    """Fail every judged cell whose hidden checks did not pass, saying why."""
    for cell in nb.cells:
        grade_id = judged_grade_id(cell)
        if grade_id is None:
            continue
        verdict = judge.verdict(grade_id)
        if verdict and verdict[0]:
            for output in cell.get("outputs", []):
                if output.output_type == "stream":
                    output.name = "stdout"  # a passing answer loses nothing to stderr noise
            continue
        errors = {o.get("ename") for o in cell.get("outputs", []) if o.output_type == "error"}
        if verdict:
            message = verdict[1]
        elif errors & {"CellTimeoutError", "KeyboardInterrupt"}:
            message = f"timed out: the cell did not finish within {timeout} s"
        elif "KernelDied" in errors:
            continue  # already marked, with its reason
        else:
            message = ("the hidden checks did not run: the cell stopped at an error before "
                       "them, or the notebook's code kept them from running")
        mark(cell, "HiddenChecksFailed", message)


def execute(nb, path, config, **settings):
    """Run a notebook in `path` as autograde does, the judge included; return it executed.

    config -- the course's nbgrader_config.py (`submissions.course_config`): the kernel,
    the timeout and the declarations; settings -- JudgedExecute's traits to change."""
    JudgedExecute(config=config, **settings).preprocess(nb, {"metadata": {"path": str(path)}})
    return nb
