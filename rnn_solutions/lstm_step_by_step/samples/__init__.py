"""The LSTM's sample submissions under submitted/, made from the release notebook.

    perfect      -- the master notebook's solutions in the release notebook
    untouched    -- the release notebook as a student receives it
    no_carry     -- a realistic wrong student: every answer right but lstm_backward, which
                    carries nothing through time (the older published table's mistake;
                    no_carry.py holds that answer)

`write_samples(course)` rewrites them; `make release` calls it after nbgrader.
"""

import shutil
from pathlib import Path

import nbformat

from rnn_solutions.rnn_step_by_step.samples import fill_answers, master_answers

ASSIGNMENT = "lstm_step_by_step"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
NO_CARRY = Path(__file__).with_name("no_carry.py")


def write_samples(course):
    """Rewrite every LSTM sample submission under course/submitted from the release."""
    course = Path(course)
    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    master = master_answers(nbformat.read(course / "source" / ASSIGNMENT / NOTEBOOK, 4))
    samples = {
        "perfect": fill_answers(release, master),
        "untouched": release,
        "no_carry": fill_answers(release, {**master, "lstm_backward":
                                               NO_CARRY.read_text().rstrip("\n")}),
    }
    for student, nb in samples.items():
        folder = course / "submitted" / student / ASSIGNMENT
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)
    return sorted(samples)
