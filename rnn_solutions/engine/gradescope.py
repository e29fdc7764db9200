"""Gradescope: an assignment's autograder zip, and what it runs on Gradescope's side.

    rnn-grade gradescope ASSIGNMENT [--to FILE]   -- build autograder_ASSIGNMENT.zip
    python -m rnn_solutions.engine.gradescope run [ROOT]  -- grade ROOT/submission

The zip holds `setup.sh` (run once by Gradescope: the grader's and the students' Python
environments), `run_autograder` (run for each hand-in), this package (the engine, the
references and the hidden cases) and a course: nbgrader_config.py, the assignment's source
and release, and a gradebook that knows the assignment. For each hand-in the course is
copied to a scratch folder, the submission goes in as one student's, the class grader
grades it (the same judge, sandbox and warm kernels as `rnn-grade`; in Gradescope's
container, where namespaces are refused, the Landlock fallback), and ROOT/results/
results.json gets one test per graded cell: its score, its maximum and what the grader
said of it (the hints; never a hidden value: the kernel never holds one). The kernel reads
neither ROOT/source nor the grader's environment, and writes neither ROOT/results nor
anything outside its own folder. ROOT is /autograder, or $RNN_AUTOGRADER_ROOT.
"""

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import rnn_solutions
from rnn_solutions.engine import submissions

STUDENT = "student"  # the hand-in's id in the scratch course
KERNEL_PACKAGES = '"numpy>=1.26,<3" "matplotlib>=3.7,<4" "ipykernel>=6.29,<8"'  # as make setup

SETUP = """#!/usr/bin/env bash
# Run once by Gradescope when it builds the autograder (Ubuntu, as root, with the network):
# the grader's environment (this package and nbgrader) and the students' (numpy,
# matplotlib, ipykernel: where their notebook runs), and the kernel the course grades with.
set -euo pipefail
apt-get update -q && apt-get install -y -q python3-venv
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -q -e /autograder/source
python3 -m venv /autograder/venv-kernel
/autograder/venv-kernel/bin/pip install -q {packages}
/autograder/venv-kernel/bin/python -m ipykernel install --prefix /autograder/venv \\
    --name {kernel} --env OPENBLAS_NUM_THREADS 1 --frozen_modules
"""

RUN = """#!/usr/bin/env bash
# Run by Gradescope for each hand-in: grade $ROOT/submission, write $ROOT/results/results.json.
set -euo pipefail
ROOT="${RNN_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${RNN_AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT/source"
exec "$PYTHON" -m rnn_solutions.engine.gradescope run "$ROOT"
"""


def build(course, assignment, to=None):
    """Write the autograder zip of a released assignment; its path."""
    from rnn_solutions.engine import course as commands

    course = Path(course).resolve()
    if not (course / "release" / assignment).is_dir():
        raise submissions.CourseError(f"no release/{assignment}: run `make release` first")
    to = Path(to or f"autograder_{assignment}.zip").resolve()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    with tempfile.TemporaryDirectory(prefix="rnn-gradescope-") as staging:
        source = Path(staging)
        package = Path(rnn_solutions.__file__).parent
        shutil.copytree(package, source / "rnn_solutions", ignore=skip)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(package.parent / name, source / name)
        inner = source / "course"
        for part in ("source", "release"):
            shutil.copytree(course / part / assignment, inner / part / assignment, ignore=skip)
        shutil.copy(course / "nbgrader_config.py", inner / "nbgrader_config.py")
        code, log = commands.nbgrader(inner, "generate_assignment", assignment, "--force")
        if code:
            raise submissions.CourseError(f"nbgrader generate_assignment failed:\n{log}")
        kernel = submissions.course_config(inner).ExecutePreprocessor.kernel_name
        (source / "setup.sh").write_text(SETUP.format(packages=KERNEL_PACKAGES, kernel=kernel))
        (source / "run_autograder").write_text(RUN)
        with zipfile.ZipFile(to, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(source.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo.from_file(path, path.relative_to(source))
                    if path.name in ("setup.sh", "run_autograder"):
                        info.external_attr = 0o755 << 16
                    zipped.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return to


def run(root):
    """Grade root/submission with the course in root/source; write results.json."""
    from rnn_solutions.engine import classgrader

    root = Path(root)
    (root / "results").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rnn-gradescope-") as scratch:
        course = Path(scratch) / "course"
        shutil.copytree(root / "source" / "course", course)
        assignment = next(p.name for p in (course / "source").iterdir() if p.is_dir())
        shutil.copytree(root / "submission", course / "submitted" / STUDENT / assignment,
                        symlinks=True)  # a link is refused by the grader, not followed
        failures = classgrader.autograde(course, assignment, jobs=1, out=io.StringIO(),
                                         summary=False)
        print(classgrader.warnings_of(course, assignment), end="")  # to the instructor
        results = results_of(course, assignment, failures.get(STUDENT))
    with open(root / "results" / "results.json", "w") as f:
        json.dump(results, f, indent=1)
    return results


def results_of(course, assignment, failure=None):
    """Gradescope's results: a test per graded cell (score, max_score, status, output)."""
    from nbgrader.api import Gradebook, MissingEntry

    said = feedback_of(course, assignment)
    tests = []
    with Gradebook(submissions.gradebook_url(course)) as gb:
        for notebook in gb.find_assignment(assignment).notebooks:
            for cell in notebook.grade_cells:
                try:
                    grade = gb.find_grade(cell.name, notebook.name, assignment, STUDENT)
                    score = grade.score if failure is None else 0.0
                except MissingEntry:
                    score = 0.0
                tests.append({"name": cell.name, "score": score, "max_score": cell.max_score,
                              "status": "passed" if score >= cell.max_score else "failed",
                              "output": f"NOT GRADED: {failure}" if failure
                              else said.get(cell.name, "")})
    order = submissions.graded_cells(course, assignment)  # the notebook's
    tests.sort(key=lambda test: order.index(test["name"]) if test["name"] in order else 0)
    output = f"NOT GRADED: {failure}" if failure else ""
    return {"score": sum(t["score"] for t in tests), "output": output, "tests": tests}


def feedback_of(course, assignment, student=STUDENT):
    """{grade_id: what the grader said in that cell} of the student's graded notebook, in
    its order (errors as 'name: message'; a passing cell says nothing)."""
    path = Path(course) / "autograded" / student / assignment / \
        submissions.notebook_name(assignment)
    if not path.exists():
        return {}
    said = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:  # nbgrader wrote it
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id:
            said[grade_id] = "\n".join(f"{o.get('ename')}: {o.get('evalue')}"
                                       for o in cell.get("outputs", [])
                                       if o.get("output_type") == "error")
    return said


def main(argv=None):
    """python -m rnn_solutions.engine.gradescope run [ROOT]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run"])
    parser.add_argument("root", nargs="?",
                        default=os.environ.get("RNN_AUTOGRADER_ROOT", "/autograder"))
    args = parser.parse_args(argv)
    try:
        run(args.root)
    except Exception as error:  # noqa: BLE001 -- the student sees a result, not a blank page
        failed = {"score": 0.0, "output": f"The autograder could not grade this hand-in "
                  f"({type(error).__name__}: {error}); your instructor has been told.",
                  "tests": []}
        (Path(args.root) / "results").mkdir(parents=True, exist_ok=True)
        with open(Path(args.root) / "results" / "results.json", "w") as f:
            json.dump(failed, f, indent=1)
        raise


if __name__ == "__main__":
    sys.exit(main())
