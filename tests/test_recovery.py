"""Recovery of hand-ins: each kind of damage is rebuilt into the student's answers in the
release notebook, or refused with what to do; what is not damaged is graded as it is."""

import codecs
import copy
import json
import os
import time

import nbformat
import pytest
from conftest import ASSIGNMENTS, ROOT

from rnn_solutions.engine import handins, submissions
from rnn_solutions.engine.recovery import UnrecoverableError, examine


def release(assignment):
    return submissions.release_notebook(ROOT, assignment)


def perfect(assignment):
    """The perfect sample (the master's answers in the release notebook)."""
    return nbformat.read(ROOT / "submitted" / "perfect" / assignment / f"{assignment}.ipynb",
                         as_version=4)


def answers(nb):
    """{grade_id: source} of a notebook's answer cells."""
    return {c.metadata.nbgrader.grade_id: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def hand_in(tmp_path, assignment, nb, name=None):
    """A submission folder holding `nb` (a notebook or JSON text) as `name`."""
    folder = tmp_path / assignment
    folder.mkdir(exist_ok=True)
    path = folder / (name or f"{assignment}.ipynb")
    path.write_text(nb if isinstance(nb, str) else nbformat.writes(nb))
    return folder


def answer_index(nb, k):
    """The index in nb.cells of the k-th answer cell."""
    return [i for i, c in enumerate(nb.cells)
            if c.metadata.get("nbgrader", {}).get("solution")][k]


def assert_rebuilt_with_perfect_answers(recovered, assignment):
    """The rebuilt notebook is the release with the perfect answers, cell for cell."""
    ours, theirs = recovered.notebook, perfect(assignment)
    assert answers(ours) == answers(theirs), "answers differ from the student's"
    assert [c.source for c in ours.cells] == [c.source for c in theirs.cells]
    assert [c.metadata for c in ours.cells] == [c.metadata for c in release(assignment).cells]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
@pytest.mark.parametrize("variant", ["nbformat_4_4", "extra_metadata", "crlf_sources",
                                     "big_outputs"])
def test_editor_variants_are_graded_as_they_are(tmp_path, assignment, variant):
    """A notebook saved by another editor has nothing to recover: it is graded as it is."""
    nb = getattr(handins, variant)(json.loads(nbformat.writes(perfect(assignment))))
    text = json.dumps(nb)
    if variant == "crlf_sources":
        text = text.replace("\n", "\r\n")
    assert examine(hand_in(tmp_path, assignment, text), release(assignment)) is None


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_renamed_notebook_is_graded_under_the_assignments_name(tmp_path, assignment):
    """The only notebook of a folder, under another name, is graded as it is, and said so."""
    name = f"{assignment} (1).ipynb"
    recovered = examine(hand_in(tmp_path, assignment, perfect(assignment), name),
                        release(assignment))
    assert recovered.original == name
    assert recovered.summary() == f"graded {name!r} as {assignment}.ipynb (renamed)"
    assert recovered.notebook == perfect(assignment)
    assert all("renamed" in c for c in recovered.comments().values())


def _aged(folder, name, seconds):
    """Make a file of the folder `seconds` old (its modification time)."""
    os.utime(folder / name, (time.time() - seconds, time.time() - seconds))


def test_of_several_notebooks_the_newest_with_answers_is_graded_and_all_are_named(tmp_path):
    """Two notebooks, neither with the assignment's name, both with answers: the newest is
    graded, and the note names both and says why."""
    a = ASSIGNMENTS[0]
    folder = hand_in(tmp_path, a, perfect(a), "draft.ipynb")
    hand_in(tmp_path, a, perfect(a), "final.ipynb")
    _aged(folder, "draft.ipynb", 600)
    recovered = examine(folder, release(a))
    assert recovered.original == "final.ipynb"
    assert recovered.summary() == (f"graded 'final.ipynb' as {a}.ipynb, of the 2 notebooks "
                                   "handed in (draft.ipynb, final.ipynb): the newest holding "
                                   "answers")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_copy_with_answers_wins_over_the_untouched_release_notebook(tmp_path, assignment):
    """A student who worked in ASSIGNMENT-Copy1.ipynb and left the release notebook beside it
    untouched (newer, even) is graded on the copy, and the note says why."""
    copy_name = f"{assignment}-Copy1.ipynb"
    folder = hand_in(tmp_path, assignment, perfect(assignment), copy_name)
    hand_in(tmp_path, assignment, release(assignment))
    _aged(folder, copy_name, 600)
    recovered = examine(folder, release(assignment))
    assert recovered.original == copy_name
    assert recovered.notebook == perfect(assignment)
    assert recovered.summary().endswith(
        f"the only one holding answers; {assignment}.ipynb is the release notebook as "
        "handed out")


def test_the_assignments_notebook_with_answers_wins_and_the_others_are_named(tmp_path):
    """The notebook with the assignment's name, holding answers, is graded over a newer
    draft; the note names the draft."""
    a = ASSIGNMENTS[0]
    folder = hand_in(tmp_path, a, perfect(a))
    hand_in(tmp_path, a, perfect(a), "scratch.ipynb")
    _aged(folder, f"{a}.ipynb", 600)
    recovered = examine(folder, release(a))
    assert recovered.original == f"{a}.ipynb" and recovered.notebook == perfect(a)
    both = ", ".join(sorted([f"{a}.ipynb", "scratch.ipynb"]))
    assert recovered.summary() == (f"graded '{a}.ipynb', of the 2 notebooks handed in "
                                   f"({both}): its name is the assignment's")


@pytest.mark.parametrize("suffix", [".ipynb.txt", ".ipynb.json"])
def test_a_notebook_saved_with_an_extra_suffix_is_graded_as_renamed(tmp_path, suffix):
    """A browser's `ASSIGNMENT.ipynb.txt` is the student's notebook: graded, said so."""
    a = ASSIGNMENTS[0]
    name = f"{a}{suffix}"
    recovered = examine(hand_in(tmp_path, a, perfect(a), name), release(a))
    assert recovered.original == name and recovered.notebook == perfect(a)
    assert recovered.summary() == f"graded {name!r} as {a}.ipynb (renamed)"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_byte_order_mark_is_read_past(tmp_path, assignment):
    """A notebook saved with a UTF-8 byte-order mark before its JSON (some Windows editors)
    is read, graded as the student wrote it, and the note says so."""
    folder = tmp_path / assignment
    folder.mkdir()
    text = nbformat.writes(perfect(assignment))
    (folder / f"{assignment}.ipynb").write_bytes(codecs.BOM_UTF8 + text.encode())
    recovered = examine(folder, release(assignment))
    assert recovered.notebook == perfect(assignment)
    assert recovered.summary() == "a byte-order mark before its JSON read past"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_stripped_notebook_is_rebuilt_by_function_name(tmp_path, assignment):
    """Cells pasted into a new notebook (no nbgrader metadata, new ids) are matched to the
    answer cells by the function each defines."""
    nb = handins.stripped(json.loads(nbformat.writes(perfect(assignment))))
    recovered = examine(hand_in(tmp_path, assignment, nb), release(assignment))
    assert_rebuilt_with_perfect_answers(recovered, assignment)
    assert "none of its 12 graded cells has its nbgrader metadata" in recovered.summary()
    assert "4 answer cells matched by function name" in recovered.summary()
    first = answers(release(assignment)).popitem()[0]
    assert "the code of your cell that defines" in recovered.comments()[first]


def test_metadata_dropped_but_ids_kept_matches_by_cell_id(tmp_path):
    """A tool that drops unknown metadata keeps the cells' ids: matched by id first."""
    a = ASSIGNMENTS[0]
    nb = perfect(a)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    recovered = examine(hand_in(tmp_path, a, nb), release(a))
    assert_rebuilt_with_perfect_answers(recovered, a)
    assert "4 answer cells matched by cell id" in recovered.summary()


def test_answer_defining_another_name_is_matched_by_position(tmp_path):
    """An answer cell that defines a misspelt function, between unchanged cells, is
    matched by its place; the others by name."""
    a = ASSIGNMENTS[0]
    nb = handins.stripped(json.loads(nbformat.writes(perfect(a))))
    code = [c for c in nb.cells if c.cell_type == "code"]
    target = next(c for c in code if c.source.startswith("def lstm_forward")
                  or c.source.startswith("def rnn_forward"))
    target.source = target.source.replace("_forward(", "_fwd(", 1)
    recovered = examine(hand_in(tmp_path, a, nb), release(a))
    assert target.source in answers(recovered.notebook).values()
    assert "3 answer cells matched by function name; 1 answer cell matched by position" \
        in recovered.summary()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_deleted_test_cell_is_restored_from_the_release(tmp_path, assignment):
    """A test cell deleted by accident comes back from the release; answers by grade id."""
    nb = perfect(assignment)
    first_test = next(i for i, c in enumerate(nb.cells) if c.metadata.nbgrader.get("grade"))
    gone = nb.cells.pop(first_test).metadata.nbgrader.grade_id
    recovered = examine(hand_in(tmp_path, assignment, nb), release(assignment))
    assert_rebuilt_with_perfect_answers(recovered, assignment)
    assert f"1 graded cell missing ({gone})" in recovered.summary()
    assert "4 answer cells matched by grade id" in recovered.summary()


def test_duplicated_answer_cell_takes_the_last_copy(tmp_path):
    """Of two cells with one grade id, the later one is graded: what Run All leaves."""
    a = ASSIGNMENTS[0]
    nb = perfect(a)
    i = answer_index(nb, 1)
    draft = copy.deepcopy(nb.cells[i])
    draft.id, draft.source = "draft", draft.source + "\n# an older draft"
    nb.cells.insert(i, draft)
    recovered = examine(hand_in(tmp_path, a, nb), release(a))
    assert_rebuilt_with_perfect_answers(recovered, a)
    assert "graded cells duplicated" in recovered.summary()


def test_reordered_graded_cells_are_put_back_in_order(tmp_path):
    """Answer cells moved around (a backward answer first, say) are put back in place."""
    a = ASSIGNMENTS[0]
    nb = perfect(a)
    last = nb.cells.pop(answer_index(nb, 3))
    nb.cells.insert(1, last)
    recovered = examine(hand_in(tmp_path, a, nb), release(a))
    assert_rebuilt_with_perfect_answers(recovered, a)
    assert "graded cells reordered" in recovered.summary()


def test_a_graded_cell_the_release_does_not_have_is_dropped(tmp_path):
    """A copied answer cell given a new grade id (nbgrader would look for it in the
    gradebook and fail) is left out of the rebuilt notebook; the answers are kept."""
    a = ASSIGNMENTS[0]
    nb = perfect(a)
    extra = copy.deepcopy(nb.cells[answer_index(nb, 0)])
    extra.id, extra.metadata.nbgrader["grade_id"] = "mine", "my_scratch_cell"
    extra.source = "x = 1"
    nb.cells.append(extra)
    recovered = examine(hand_in(tmp_path, a, nb), release(a))
    assert_rebuilt_with_perfect_answers(recovered, a)
    assert "graded cells the release does not have (my_scratch_cell)" in recovered.summary()


@pytest.mark.parametrize("damage", ["schema_version", "points", "grade_type"])
def test_damaged_metadata_is_rebuilt(tmp_path, damage):
    """Metadata nbgrader would refuse (a schema from elsewhere, a field of the wrong type)
    is replaced by the release's; the answers are kept."""
    a = ASSIGNMENTS[0]
    nb = perfect(a)
    meta = nb.cells[answer_index(nb, 0)].metadata.nbgrader
    if damage == "schema_version":
        meta["schema_version"] = 99
    elif damage == "points":
        meta["points"] = "five"
    else:
        meta["grade"] = "yes"
    recovered = examine(hand_in(tmp_path, a, nb), release(a))
    assert_rebuilt_with_perfect_answers(recovered, a)
    assert recovered.summary().startswith("its nbgrader metadata is damaged")


def test_notebook_without_any_answer_is_refused(tmp_path):
    """Graded cells deleted and no cell defining an asked-for function: nothing to grade."""
    a = ASSIGNMENTS[0]
    nb = perfect(a)
    nb.cells = [c for c in nb.cells if not (c.metadata.nbgrader.get("grade")
                                            or c.metadata.nbgrader.get("solution"))]
    with pytest.raises(UnrecoverableError, match="nothing to recover; ask the student"):
        examine(hand_in(tmp_path, a, nb), release(a))


@pytest.mark.parametrize(("text", "words"), [
    ('{"cells": [', "is not valid JSON"),
    ('{"cells": "none"}', "is JSON but not a notebook"),
])
def test_unreadable_notebook_is_refused(tmp_path, text, words):
    """A file that is no notebook is refused by name, saying what is wrong."""
    a = ASSIGNMENTS[0]
    with pytest.raises(UnrecoverableError, match=words):
        examine(hand_in(tmp_path, a, text), release(a))


def graded(nb):
    """[(grade_id, source)] of a notebook's answer and test cells."""
    return [(c.metadata.nbgrader.grade_id, c.source) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")
            or c.metadata.get("nbgrader", {}).get("solution")]


def test_test_cells_always_come_from_the_release(tmp_path):
    """A student's edit of a test cell in a stripped notebook is no graded cell: every test
    cell of the rebuilt notebook is the release's."""
    a = ASSIGNMENTS[0]
    nb = handins.stripped(json.loads(nbformat.writes(perfect(a))))
    test = next(c for c in nb.cells if c.source.startswith('"""') and "self_check" in c.source)
    test.source = "pass  # checks removed"
    recovered = examine(hand_in(tmp_path, a, nb), release(a))
    assert graded(recovered.notebook) == graded(perfect(a))


def test_the_students_other_code_cells_are_kept_after_their_answer(tmp_path):
    """A helper function in a cell of its own, after an answer, is kept right after that
    answer cell, so the answers that use it still run; copies of the release's cells are
    not added twice."""
    a = ASSIGNMENTS[0]
    nb = handins.stripped(json.loads(nbformat.writes(perfect(a))))
    first = next(i for i, c in enumerate(nb.cells) if c.source.startswith("def "))
    nb.cells.insert(first + 1, nbformat.v4.new_code_cell("def my_helper(z):\n    return z"))
    recovered = examine(hand_in(tmp_path, a, nb), release(a))
    sources = [c.source for c in recovered.notebook.cells]
    at = answer_index(recovered.notebook, 0)
    assert sources[at + 1] == "def my_helper(z):\n    return z"
    assert len(sources) == len(release(a).cells) + 1
    assert "1 other code cell of the student's kept" in recovered.summary()
    assert graded(recovered.notebook) == graded(perfect(a))


def test_a_cell_defining_two_answers_fills_both(tmp_path):
    """Two asked-for functions pasted into one cell: both answer cells get that code."""
    a = ASSIGNMENTS[0]
    nb = handins.stripped(json.loads(nbformat.writes(perfect(a))))
    code = [i for i, c in enumerate(nb.cells) if c.source.startswith("def ")]
    both = nb.cells[code[0]].source + "\n\n\n" + nb.cells[code[1]].source
    nb.cells[code[0]].source = both
    del nb.cells[code[1]]
    recovered = examine(hand_in(tmp_path, a, nb), release(a))
    firsts = list(answers(recovered.notebook).values())[:2]
    assert firsts == [both, both]
    assert "no code found" not in recovered.summary()
