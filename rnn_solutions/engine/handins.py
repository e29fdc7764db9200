"""Sample hand-ins: the perfect answers handed in the ways students really hand them in.

`make release` writes them under submitted/ for every assignment with a `perfect` sample;
each must earn the perfect sample's points (`make demo`, tests/test_autograde.py).

    renamed            -- saved as "ASSIGNMENT (1).ipynb" (a browser's second download)
    stripped           -- the cells copied into a new notebook: no nbgrader metadata, new ids
    deleted_test_cell  -- one graded test cell deleted by accident
    nbformat_4_4       -- saved by an older editor: nbformat 4.4, no cell ids
    extra_metadata     -- unknown notebook and cell metadata (VS Code, Colab, JupyterLab)
    crlf               -- Windows line endings, in the file and in the cells
    big_outputs        -- run before handing in: execution counts and several MB of outputs
    byte_order_mark    -- saved with a UTF-8 byte-order mark before the JSON (Windows editors)
    saved_as_txt       -- downloaded by a browser as "ASSIGNMENT.ipynb.txt"
    copy_beside_release -- worked in "ASSIGNMENT-Copy1.ipynb", the release notebook left
                          untouched beside it

(The perfect sample itself is the remaining editor case: execution counts null, no outputs.)
"""

import json
import shutil
from pathlib import Path

import nbformat

NAMES = ("renamed", "stripped", "deleted_test_cell", "nbformat_4_4", "extra_metadata", "crlf",
         "big_outputs", "byte_order_mark", "saved_as_txt", "copy_beside_release")
BIG_OUTPUT = 3 * 2**20  # characters of printed output in big_outputs


def write_samples(course, assignment):
    """Write the hand-in samples of `assignment` from submitted/perfect; their names (none
    when the assignment has no perfect sample)."""
    name = f"{assignment}.ipynb"
    perfect = Path(course) / "submitted" / "perfect" / assignment / name
    if not perfect.exists():
        return []
    nb = json.loads(perfect.read_text())
    release = (Path(course) / "release" / assignment / name).read_text()
    samples = {  # {student: {file name: text}}
        "renamed": {f"{assignment} (1).ipynb": _dumps(nb)},
        "stripped": {name: nbformat.writes(stripped(nb))},
        "deleted_test_cell": {name: _dumps(deleted_test_cell(nb))},
        "nbformat_4_4": {name: _dumps(nbformat_4_4(nb))},
        "extra_metadata": {name: _dumps(extra_metadata(nb))},
        "crlf": {name: _dumps(crlf_sources(nb)).replace("\n", "\r\n")},
        "big_outputs": {name: _dumps(big_outputs(nb))},
        "byte_order_mark": {name: "\ufeff" + _dumps(nb)},
        "saved_as_txt": {f"{name}.txt": _dumps(nb)},
        "copy_beside_release": {f"{assignment}-Copy1.ipynb": _dumps(nb), name: release},
    }
    assert tuple(samples) == NAMES
    for student, files in samples.items():
        folder = Path(course) / "submitted" / student / assignment
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for filename, text in files.items():
            (folder / filename).write_bytes(text.encode())
    return sorted(samples)


def _dumps(nb):
    """A notebook's JSON text as nbformat writes it (one-space indent, a final newline)."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _copy(nb):
    """A deep copy of a notebook's JSON tree."""
    return json.loads(json.dumps(nb))


def stripped(nb):
    """The cells' sources pasted into a new notebook, one by one (new ids, made
    reproducible here)."""
    new = nbformat.v4.new_notebook()
    for i, cell in enumerate(nb["cells"]):
        make = nbformat.v4.new_code_cell if cell["cell_type"] == "code" else \
            nbformat.v4.new_markdown_cell
        new.cells.append(make("".join(cell["source"]), id=f"pasted-{i}"))
    return new


def deleted_test_cell(nb):
    """Without the first graded test cell."""
    nb = _copy(nb)
    first = next(i for i, cell in enumerate(nb["cells"])
                 if cell["metadata"].get("nbgrader", {}).get("grade"))
    del nb["cells"][first]
    return nb


def nbformat_4_4(nb):
    """As nbformat 4.4 saves it: no cell ids."""
    nb = _copy(nb)
    nb["nbformat_minor"] = 4
    for cell in nb["cells"]:
        cell.pop("id", None)
    return nb


def extra_metadata(nb):
    """With metadata other editors add, on the notebook and on every cell."""
    nb = _copy(nb)
    nb["metadata"].update({"vscode": {"interpreter": {"hash": "0" * 64}},
                           "colab": {"provenance": [], "toc_visible": True},
                           "widgets": {"application/vnd.jupyter.widget-state+json": {
                               "state": {}, "version_major": 2, "version_minor": 0}}})
    for cell in nb["cells"]:
        cell["metadata"].update({"collapsed": False, "tags": ["student"],
                                 "jupyter": {"source_hidden": False},
                                 "ExecuteTime": {"end_time": "2026-11-30T12:00:00.000Z"}})
        if cell["cell_type"] != "code":
            cell["metadata"].pop("collapsed")
    return nb


def crlf_sources(nb):
    """With Windows line endings inside every cell."""
    nb = _copy(nb)
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        cell["source"] = source.replace("\n", "\r\n")
    return nb


def big_outputs(nb):
    """As run before handing in: every code cell numbered, the first one printing a few MB."""
    nb = _copy(nb)
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    for count, cell in enumerate(code, start=1):
        cell["execution_count"] = count
        cell["outputs"] = [{"output_type": "stream", "name": "stdout",
                            "text": f"cell {count} ran\n"}]
    line = "0.123456789 " * 8 + "\n"
    code[0]["outputs"].append({"output_type": "stream", "name": "stdout",
                               "text": line * (BIG_OUTPUT // len(line))})
    return nb
