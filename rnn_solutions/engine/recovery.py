"""Recover what students really hand in: a notebook saved under another name, or one whose
nbgrader metadata was stripped or damaged, or whose graded cells were deleted, duplicated
or reordered.

`examine(folder, release)` reads a submission folder and answers None (grade it as it is),
a `Recovered` notebook with notes saying what was recovered and how, or raises
`UnrecoverableError` with what to tell the student. A damaged notebook is rebuilt from the
release notebook: every cell is the release's (so every test cell is the master's), and
each answer cell takes the student's code from the cell that is the same cell as far as
the evidence goes, in this order:

    grade id     -- the student's cell with the answer cell's nbgrader grade_id
    cell id      -- the student's cell with the answer cell's notebook cell id
    function     -- the student's last cell defining the function the answer cell defines
    position     -- the student's code cell where the answer cell sits, between the same
                    unchanged cells (the two notebooks' code cells aligned)

The student's files are never changed: the class grader grades the rebuilt notebook from a
copy of the submission (classgrader.py).
"""

import codecs
import collections
import copy
import difflib
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from rnn_solutions.engine.metadata import FastMetadataValidator

# how an answer cell's code is found, in the order tried, and how a comment says it
METHODS = {
    "grade id": "that has this answer cell's nbgrader grade id",
    "cell id": "that has this answer cell's id",
    "function name": "that defines {function}",
    "position": "at this answer cell's place in the notebook",
}


class UnrecoverableError(Exception):
    """A submission the grader cannot grade; the message says why and what to do."""


@dataclass
class Recovered:
    """A notebook to grade in place of the student's, and what was done to get it.

    notebook   -- the notebook to grade (nbformat v4)
    original   -- the file name the student's notebook had
    notes      -- what was recovered and how, one phrase each, for the instructor
    answers    -- {answer cell grade_id: how its code was found (a METHODS key) or None}
    """

    notebook: nbformat.NotebookNode
    original: str
    notes: list = field(default_factory=list)
    answers: dict = field(default_factory=dict)
    functions: dict = field(default_factory=dict)  # {answer grade_id: the function asked for}

    def summary(self):
        """The notes as one line."""
        return "; ".join(self.notes)

    def comments(self):
        """{answer grade_id: the comment its cell gets in the gradebook and the feedback},
        HTML-escaped (the feedback renders comments as Markdown; file names are the
        student's)."""
        comments = {}
        for grade_id, how in self.answers.items():
            found = "" if how is None else " This answer is the code of your cell " + \
                METHODS[how].format(function=self.functions.get(grade_id, "it")) + "."
            comments[grade_id] = html.escape(f"Recovered by the grader: {self.summary()}."
                                             f"{found}")
        return comments


def examine(folder, release):
    """None if the submission in `folder` can be graded as it is, else a `Recovered`
    notebook; `UnrecoverableError` if neither. `release` is the release notebook (nbformat v4),
    whose file name (metadata "name" aside) is the folder's name + .ipynb."""
    folder = Path(folder)
    name = f"{folder.name}.ipynb"
    path, notes = choose(folder, name, release)
    nb, read_notes = _read(path)
    notes += read_notes
    functions = {_grade_id(c): (_defines(c.source) or [_grade_id(c)])[0]
                 for c in release.cells if _is_answer(c)}
    damage = damages(nb, release)
    if not damage:
        answers = dict.fromkeys(_grade_id(c) for c in nb.cells if _is_answer(c))
        return Recovered(nb, path.name, notes, answers, functions) if notes else None
    rebuilt, answers, kept = rebuild(nb, release)
    if not answers:
        raise UnrecoverableError(
            f"{damage[0]}, and no cell of {path.name} holds an answer (none defines the "
            "functions asked for): nothing to recover; ask the student to paste their "
            "answers into a fresh copy of the release notebook")
    return Recovered(rebuilt, path.name, notes + damage + _how(answers, functions, kept),
                     answers, functions)


def choose(folder, name, release):
    """(the notebook of the folder to grade, notes saying which and why when it is not
    simply `name`). Notebooks are `*.ipynb`, and `*.ipynb.txt` or `.ipynb.json` as
    browsers save them. `name` is graded if it holds answers or no other notebook does;
    else the notebook holding answers (the newest, of several): a release notebook
    handed in untouched never wins over a copy the student worked in."""
    found = sorted(p.name for p in folder.iterdir() if p.is_file() and
                   re.fullmatch(r".+\.ipynb(\.txt|\.json)?", p.name))
    if not found:
        raise UnrecoverableError(f"no {name} in the submission")
    if found == [name]:
        return folder / name, []
    worked = [n for n in found if _holds_answers(folder / n, release)]
    if name in found and (name in worked or not worked):
        chosen, why = name, "its name is the assignment's"
    else:
        pool = worked or found
        chosen = max(pool, key=lambda n: ((folder / n).stat().st_mtime, n))
        why = ("the only one" if len(pool) == 1 else "the newest") + \
            (" holding answers" if worked else "")
        if name in found:
            why += f"; {name} is the release notebook as handed out"
    if len(found) == 1:
        return folder / chosen, [f"graded {chosen!r} as {name} (renamed)"]
    graded = f"graded {chosen!r}" + (f" as {name}" if chosen != name else "")
    return folder / chosen, [f"{graded}, of the {len(found)} notebooks handed in "
                             f"({', '.join(found)}): {why}"]


def _holds_answers(path, release):
    """Whether a notebook has code the release does not (an unreadable one has not)."""
    try:
        nb, _ = _read(path)
    except UnrecoverableError:
        return False
    ours = {c.source.strip() for c in release.cells if c.cell_type == "code"}
    return any(c.source.strip() not in ours for c in nb.cells
               if c.cell_type == "code" and c.source.strip())


def _how(answers, functions, kept):
    """Notes on how a notebook was rebuilt: answers found by each method, answers not
    found, other code cells of the student's kept."""
    counts = collections.Counter(answers.values())
    notes = ["rebuilt from the release notebook"]
    notes += [f"{counts[how]} answer cell{'s' * (counts[how] > 1)} matched by {how}"
              for how in METHODS if counts[how]]
    unanswered = [name for grade_id, name in functions.items() if grade_id not in answers]
    if unanswered:
        notes.append(f"no code found for {', '.join(unanswered)}: graded as not answered")
    if kept:
        notes.append(f"{kept} other code cell{'s' * (kept > 1)} of the student's kept")
    return notes


def _read(path):
    """(the notebook at `path`, notes on what was read past: a byte-order mark);
    UnrecoverableError when it is no readable notebook."""
    data, notes = path.read_bytes(), []
    if data.startswith(codecs.BOM_UTF8):
        data, notes = data[len(codecs.BOM_UTF8):], ["a byte-order mark before its JSON read past"]
    try:
        text = data.decode("utf-8")
        json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnrecoverableError(f"{path.name} is not valid JSON ({exc}); the file is damaged: "
                            "ask the student to resubmit it") from None
    try:
        return nbformat.reads(text, as_version=4), notes
    except Exception as exc:  # nbformat raises several types for a JSON file that is no notebook
        raise UnrecoverableError(f"{path.name} is JSON but not a notebook ({type(exc).__name__}: "
                            f"{exc})") from None


def damages(nb, release):
    """What keeps nbgrader from grading `nb` as the release's notebook, in words (empty
    when nothing does): damaged metadata, graded cells missing, duplicated or reordered."""
    required = [_grade_id(c) for c in release.cells if _is_graded(c)]
    kinds = {_grade_id(c): c.cell_type for c in release.cells if _is_graded(c)}
    found = [_grade_id(c) for c in nb.cells if _is_graded(c)]
    if not found:
        return [f"none of its {len(required)} graded cells has its nbgrader metadata (copied "
                "into a new notebook, or deleted)"]
    out = []
    try:
        FastMetadataValidator().validate_nb(nb)
    except Exception as exc:  # nbgrader's, jsonschema's or a KeyError for a missing field
        said = str(getattr(exc, "message", exc)).splitlines()[0][:120] if str(exc) else ""
        out.append(f"its nbgrader metadata is damaged ({type(exc).__name__}: {said})")
    missing = [g for g in required if g not in found]
    if missing:
        out.append(f"{len(missing)} graded cell{'s' * (len(missing) > 1)} missing "
                   f"({', '.join(missing)})")
    doubled = sorted({g for g in found if found.count(g) > 1})
    if doubled:
        out.append(f"graded cells duplicated ({', '.join(doubled)})")
    if not missing and not doubled and [g for g in found if g in kinds] != required:
        out.append("graded cells reordered")
    unknown = [g for g in found if g not in kinds]
    if unknown:
        out.append(f"graded cells the release does not have ({', '.join(map(str, unknown))})")
    retyped = [_grade_id(c) for c in nb.cells
               if _is_graded(c) and kinds.get(_grade_id(c), c.cell_type) != c.cell_type]
    if retyped:
        out.append(f"graded cells changed type ({', '.join(retyped)})")
    return out


def rebuild(nb, release):
    """(the release notebook with each answer cell holding the student's code, {answer
    grade_id: how it was found}, how many other code cells of the student's were kept);
    an answer found nowhere keeps the release's code. The student's other code cells
    (helpers, say; not copies of the release's cells, not graded cells) are kept after
    the answer cell they followed."""
    rebuilt = copy.deepcopy(release)
    theirs = [c for c in nb.cells if c.cell_type == "code"]
    ours = [c for c in rebuilt.cells if c.cell_type == "code"]
    aligned = _aligned(ours, theirs)
    matched, answers = {}, {}  # {index in theirs: the answer cell it fills}
    for index, cell in enumerate(ours):
        if not _is_answer(cell):
            continue
        for how in METHODS:
            match = _find(how, index, cell, theirs, aligned, set(matched))
            if match is not None:
                cell.source = theirs[match].source
                matched[match] = cell
                answers[_grade_id(cell)] = how
                break
    kept = _keep_others(rebuilt, theirs, matched, {c.source for c in ours})
    return rebuilt, answers, kept


def _keep_others(rebuilt, theirs, matched, released):
    """Insert the student's other code cells into `rebuilt`, each after the answer cell
    that came before it in their notebook (before the first answer if none did); their
    number."""
    answers = [c for c in rebuilt.cells if _is_answer(c)]
    after, last = {}, None  # {id of an answer cell: the student's cells that follow it}
    for j, cell in enumerate(theirs):
        if j in matched:
            last = matched[j]
        elif cell.source.strip() and cell.source not in released and not _is_graded(cell):
            after.setdefault(id(last), []).append(nbformat.v4.new_code_cell(
                cell.source, id=f"student-{j}"))
    if not answers or not after:
        return 0
    cells = []
    for cell in rebuilt.cells:
        if cell is answers[0]:
            cells += after.get(id(None), [])
        cells.append(cell)
        cells += after.get(id(cell), [])
    rebuilt.cells = cells
    return sum(map(len, after.values()))


def _find(how, index, cell, theirs, aligned, used):
    """The index in `theirs` of the student's cell for answer `cell` (the `index`-th code
    cell of the release) found by method `how`, or None; a cell defining several asked-for
    functions may fill several answer cells, otherwise a cell fills one."""
    free = [j for j in range(len(theirs)) if j not in used]
    if how == "grade id":
        hits = [j for j in free if _grade_id(theirs[j]) == _grade_id(cell)]
    elif how == "cell id":
        hits = [j for j in free if cell.get("id") and theirs[j].get("id") == cell.get("id")]
    elif how == "function name":
        wanted = set(_defines(cell.source))
        hits = [j for j in range(len(theirs)) if wanted & set(_defines(theirs[j].source))]
    else:
        hits = [aligned[index]] if aligned.get(index) in free else []
    return hits[-1] if hits else None  # the last one: what running the notebook leaves


def _aligned(ours, theirs):
    """{index in ours: index in theirs} for code cells at the same place: equal cells, and
    cells paired one to one between equal neighbours."""
    matcher = difflib.SequenceMatcher(None, [c.source for c in ours],
                                      [c.source for c in theirs], autojunk=False)
    pairs = {}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("equal", "replace") and i2 - i1 == j2 - j1:
            pairs.update(zip(range(i1, i2), range(j1, j2), strict=True))
    return pairs


def _defines(source):
    """Names of the functions a cell defines at its top level."""
    return re.findall(r"^def\s+(\w+)\s*\(", source, flags=re.MULTILINE)


def _meta(cell):
    """A cell's nbgrader metadata; {} when it has none, or none that is a dict."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell):
    """A cell's nbgrader grade_id, or None."""
    return _meta(cell).get("grade_id")


def _is_graded(cell):
    """Whether a cell is an answer or test cell (what autograde needs)."""
    return bool(_meta(cell).get("solution") or _meta(cell).get("grade"))


def _is_answer(cell):
    """Whether a cell is an answer (solution) code cell."""
    return cell.cell_type == "code" and bool(_meta(cell).get("solution"))
