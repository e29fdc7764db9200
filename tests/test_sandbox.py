"""Grading kernels run in a sandbox: they see their notebook's folder (a copy) and the
students' environment, never the course directory, the network or the instructor's files."""

import nbformat
import pytest
from conftest import execute

from rnn_solutions.engine import sandbox

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


@pytest.fixture
def probed(tmp_path):
    """What a kernel graded in tmp/autograded/student/assignment saw, and that folder."""
    (tmp_path / "gradebook.db").write_text("secret")
    folder = tmp_path / "autograded" / "student" / "assignment"
    folder.mkdir(parents=True)
    (folder / "rnn_utils.py").write_text("# the notebook's helpers\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    nb = execute(nb, folder)
    return "".join(o.get("text", "") for o in nb.cells[0].outputs), folder


@pytest.mark.slow
def test_kernel_sees_its_notebook_folder(probed):
    """The kernel's working directory holds the notebook's files."""
    text, _ = probed
    assert "files: ['rnn_utils.py']" in text


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
def test_kernel_gets_none_of_the_graders_environment(tmp_path, monkeypatch):
    """A secret in the grader's environment does not reach the kernel; the kernelspec's
    variables do."""
    monkeypatch.setenv("GRADER_SECRET", "hunter2")
    code = ('import os\n'
            'print(os.environ.get("GRADER_SECRET"), os.environ.get("OPENBLAS_NUM_THREADS"))')
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb = execute(nb, tmp_path)
    assert nb.cells[0].outputs[0].text == "None 1\n"
