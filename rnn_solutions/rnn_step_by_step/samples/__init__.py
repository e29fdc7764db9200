"""The sample submissions under submitted/, made from the release notebook.

    perfect      -- the master notebook's solutions in the release notebook
    untouched    -- the release notebook as a student receives it
    seed_student -- the seed student's own answers (seed_student.py)
    broken_json  -- a notebook file cut off half-way: not valid JSON
    lost_cells   -- a notebook whose answer and test cells were deleted

`write_samples(course)` rewrites them all; `make release` calls it after nbgrader.
"""

import shutil
from pathlib import Path

import nbformat

ASSIGNMENT = "rnn_step_by_step"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SEED_ANSWERS = Path(__file__).with_name("seed_student.py")


def strip_solution_markers(source):
    """The solution code of a master cell, without its BEGIN/END SOLUTION lines."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def seed_answers():
    """The seed student's answer cells, keyed by function name."""
    cells = SEED_ANSWERS.read_text().split("# %%\n")[1:]
    return {_defined_function(cell): cell.rstrip("\n") for cell in cells}


def _defined_function(source):
    """The name of the function a cell defines."""
    line = next(line for line in source.splitlines() if line.startswith("def "))
    return line[len("def "):line.index("(")]


def fill_answers(release_nb, answers):
    """A copy of the release notebook with its answer cells replaced by `answers`."""
    nb = nbformat.from_dict(release_nb)
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # a deep copy
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
    return nb


def master_answers(master_nb):
    """The master notebook's answers, keyed by grade_id, markers removed."""
    return {cell.metadata["nbgrader"]["grade_id"]: strip_solution_markers(cell.source)
            for cell in master_nb.cells
            if cell.metadata.get("nbgrader", {}).get("solution")}


def write_samples(course):
    """Rewrite every sample submission under course/submitted from the release."""
    course = Path(course)
    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    master = nbformat.read(course / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    lost = fill_answers(release, {})
    lost.cells = [c for c in lost.cells
                  if not (c.metadata.get("nbgrader", {}).get("grade")
                          or c.metadata.get("nbgrader", {}).get("solution"))]
    samples = {
        "perfect": nbformat.writes(fill_answers(release, master_answers(master))),
        "untouched": nbformat.writes(release),
        "seed_student": nbformat.writes(fill_answers(release, seed_answers())),
        "lost_cells": nbformat.writes(lost),
    }
    samples["broken_json"] = samples["untouched"][: len(samples["untouched"]) // 2]
    for student, text in samples.items():
        folder = course / "submitted" / student / ASSIGNMENT
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_text(text)
    return sorted(samples)
