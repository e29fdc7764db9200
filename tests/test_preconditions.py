"""Every missing precondition of grading gets one line saying what to run, never a
traceback, from both commands called by path without an activated environment."""

import os
import subprocess
import sys

import pytest
from conftest import ROOT, copy_course

from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT

COMMANDS = {
    "rnn-grade": ["-m", "rnn_solutions.engine.classgrader", "autograde"],
    "course grade": ["-m", "rnn_solutions.engine.course", "grade"],
}


def run(command, root, assignment=ASSIGNMENT):
    """Run a command in the course by the interpreter's path; (exit code, output)."""
    args = [sys.executable, *COMMANDS[command]]
    args += [assignment, "--course", str(root)] if command == "rnn-grade" else [str(root)]
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"  # no environment activated
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    return done.returncode, done.stdout + done.stderr


def no_release(tmp_path):
    return copy_course(tmp_path, ("source", "submitted", "nbgrader_config.py"))


def no_gradebook(tmp_path):
    """As after `make clean`: the release is there, the gradebook is not."""
    return copy_course(tmp_path, ("source", "release", "submitted", "nbgrader_config.py"))


def no_submissions(tmp_path):
    return copy_course(tmp_path, ("source", "release", "nbgrader_config.py"))


def sandbox_required_but_off(tmp_path):
    """A course that requires a sandbox its kernels are told not to have."""
    root = no_gradebook(tmp_path)
    with open(root / "nbgrader_config.py", "a") as f:
        f.write("\nc.JudgedExecute.sandbox = False\nc.JudgedExecute.require_sandbox = True\n")
    return root


CASES = [
    (no_release, "has no release yet: run `make release` first"),
    (no_gradebook, "there is no gradebook yet: run `make release` first"),
    # the course command names every assignment, rnn-grade the one it was given
    (no_submissions, "rnn_step_by_step: put each student's notebook in submitted/"),
    (sandbox_required_but_off, "nothing graded: c.JudgedExecute.require_sandbox is True"),
]


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("make, line", CASES, ids=[c[0].__name__ for c in CASES])
def test_missing_precondition_gets_one_clear_line(tmp_path, command, make, line):
    """The command exits with an error that says what to run, and no traceback."""
    code, output = run(command, make(tmp_path))
    assert code != 0
    assert line in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_unknown_assignment_is_named_with_the_known_ones(tmp_path):
    """rnn-grade on an assignment the course lacks lists the ones it has."""
    code, output = run("rnn-grade", no_gradebook(tmp_path), assignment="lstm")
    assert code != 0
    assert ("no assignment 'lstm' in source/: the course has lstm_step_by_step, "
            "rnn_step_by_step") in output
    assert "Traceback" not in output


def test_github_workflow_runs_the_ci_script_on_every_push_and_pull_request():
    """The GitHub Actions workflow runs .ci/run (the README's test command inside), on
    pushes and on pull requests."""
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    triggers = workflow[True]  # YAML reads the key `on` as true
    assert set(triggers) == {"push", "pull_request"}
    steps = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(run.endswith("bash .ci/run") for run in steps), steps
    assert "make test" in (ROOT / ".ci" / "run").read_text()
