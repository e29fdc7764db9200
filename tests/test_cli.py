"""rnn-grade starts the fork server of the course's kernel before loading the grader."""

import os

import pytest
from conftest import ROOT
from corpus import CORPUS
from test_corpus import corpus_course

from rnn_solutions.engine import classgrader, cli, sandbox, submissions


def early(*argv):
    """The fork server rnn-grade starts before loading the grader, given these arguments."""
    return cli.early_server(cli.parser().parse_args(argv))


def test_the_courses_kernel_is_read_without_running_its_configuration():
    """The kernel nbgrader_config.py names is read from its text, and is the one that
    running the file (as nbgrader does) names."""
    config = ROOT / "nbgrader_config.py"
    assert cli.configured_kernel(config) == submissions.execution(ROOT)[0]


@pytest.mark.parametrize("text", [
    "c = get_config()\n",
    'c.ExecutePreprocessor.kernel_name = "py" + "thon3"\n',
    'c.ExecutePreprocessor.kernel_name = "a"\nc.ExecutePreprocessor.kernel_name = "b"\n',
    'c.ExecutePreprocessor.kernel_name = "a"\nc.JudgedExecute.sandbox = False\n',
    'c.ExecutePreprocessor.kernel_name = "a"\nc.JudgedExecute.warm_kernels = flag()\n',
    'c.ExecutePreprocessor.kernel_name = "a"\nif (:\n',
], ids=["no kernel", "computed", "assigned twice", "sandbox decided", "warm decided",
        "not Python"])
def test_no_kernel_is_guessed_where_the_configuration_is_not_plain(tmp_path, text):
    """Where only running the configuration could tell the kernel, or whether kernels are
    sandboxed and forked, no server is started early (the grader starts its own)."""
    (tmp_path / "nbgrader_config.py").write_text(text)
    assert cli.configured_kernel(tmp_path / "nbgrader_config.py") is None
    assert early("autograde", "x", "--course", str(tmp_path)) is None


@pytest.mark.parametrize("argv", [
    ["report", "rnn_step_by_step"],
    ["autograde", "rnn_step_by_step", "--plain-kernels"],
    ["autograde", "rnn_step_by_step", "--dask", "local"],
])
def test_no_server_is_started_for_a_run_without_warm_kernels(argv):
    """A report, plain kernels or Dask workers use no fork server of this process."""
    assert early(*argv, f"--course={ROOT}") is None


@pytest.mark.slow
@pytest.mark.skipif(not sandbox.available(), reason="kernels are forked only in a sandbox")
def test_the_early_server_is_the_one_the_grader_uses():
    """The server started before the grader loaded is the one it asks for, not a second."""
    server = early("autograde", "rnn_step_by_step", "--course", str(ROOT))
    assert server is not None
    assert sandbox.prestart(submissions.execution(ROOT)[0]) is server


class Unused:
    """Stands for a fork server started for another kernel than the course's."""
    closed = False

    def close(self):
        self.closed = True


@pytest.mark.slow
def test_an_early_server_for_another_kernel_is_closed(tmp_path):
    """A server the course does not grade with is closed once the grader knows."""
    root = corpus_course(tmp_path, CORPUS[:1])
    unused = Unused()
    classgrader.autograde(root, "rnn_step_by_step", jobs=2, out=open(os.devnull, "w"),
                          early=unused)
    assert unused.closed
