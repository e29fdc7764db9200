"""What a student wrote stays content, never code, in every page grading makes of it.

nbgrader's formgrader renders each autograded notebook as a page on the instructor's own
Jupyter origin, and its feedback is a page the student opens; both render outputs and
markdown as they are. `SanitizeSubmission` runs last in autograde (nbgrader_config.py),
again in generate_feedback, and in the formgrader's page, and leaves in the notebook only:

- outputs of the four nbformat types, rebuilt field by field: text and images (PNG, JPEG)
  as they are, HTML and rendered markdown through nh3 (ammonia's allow-list: no script,
  style, iframe, object, embed, form, base, meta, SVG or MathML element, no event handler,
  class, id or style attribute, links only to http, https and mailto, images only as
  inline data), SVG as an image (a browser runs no script in one), every other type
  (JavaScript, widgets, PDF, ...) dropped with a line saying so;
- markdown the master notebook does not hold, rendered as nbconvert renders it, cleaned,
  and kept as that HTML on one line (so that rendering it again changes nothing);
- metadata nbconvert's templates read, checked: integers where they print numbers,
  nbgrader's keys of the right types, no widget state (it names code to load);
- in the autograded folder, the release's files and the notebooks only: a file handed in
  beside the notebook (an HTML page, an SVG) would be served from the instructor's origin.

What was removed goes into the judge's record for the summaries (execute.py), and the
notebook gets one markdown line saying so (`NOTICE`).
"""

import base64
import functools
import html
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import nh3
from nbconvert.filters.markdown_mistune import (
    InvalidNotebook,
    IPythonRenderer,
    MarkdownWithMath,
)
from nbconvert.preprocessors import Preprocessor
from nbformat.corpus.words import generate_corpus_id as random_cell_id
from nbformat.v4.nbbase import validate
from traitlets import Bool

NOTICE = ("**Note from the grader:** active content (scripts, styles, event handlers or "
          "executable outputs) was removed from this notebook's outputs and markdown; the "
          "rest is shown as written. Your score is what your code earned.")

KINDS = ("stream", "display_data", "execute_result", "error")  # nbformat's output types
# outputs shown as they are, once their data is text; HTML and markdown are cleaned first
PLAIN = ("text/plain", "text/latex", "image/png", "image/jpeg")
IMAGES = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*\Z")
# what stands where a kernel sent an output nbformat refuses
DROPPED = {"output_type": "stream", "name": "stderr",
           "text": "[the kernel sent an output that is not valid in a notebook: dropped]\n"}
# the media types nbformat's schema allows in a mime bundle, and those whose value may be
# any JSON (the others are text)
MIME = re.compile(r"[a-zA-Z0-9]+/[a-zA-Z0-9\-+.]+\Z")
JSON_MIME = re.compile(r"application/(.*\+)?json\Z")
GRADE_ID = re.compile(r"[A-Za-z0-9_-]+\Z")
# nbgrader's cell metadata, by type; not the score and comment its feedback adds from the
# gradebook (GetGrades, after this), which the feedback page renders as markdown
NBGRADER = {"grade": bool, "solution": bool, "locked": bool, "task": bool,
            "grade_id": str, "points": (int, float), "schema_version": int,
            "checksum": str, "cell_type": str}
# what the summary names when it finds it in a student's HTML
ACTIVE_TAGS = {"script", "style", "iframe", "object", "embed", "base", "meta", "link",
               "form", "svg", "math", "frame", "frameset", "template", "noscript"}


def _as_read(url):
    """A URL as a browser reads its scheme: without blanks or control characters, in lower
    case."""
    return re.sub(r"[\x00-\x20]", "", url).lower()


def _image_data_only(tag, attribute, value):
    """nh3's last word on an attribute: images only as inline data (no request to
    anyone), data URLs nowhere else."""
    if tag == "img" and attribute == "src":
        return value if IMAGES.match(value) else None
    return None if _as_read(value).startswith("data:") else value


CLEANER = nh3.Cleaner(url_schemes={"http", "https", "mailto", "data"}, url_relative="deny",
                      attribute_filter=_image_data_only)


def clean_html(text):
    """HTML with nothing left that runs, loads or restyles the page."""
    return CLEANER.clean(text)


def render_markdown(source, attachments=None):
    """Markdown as nbconvert's HTML exporter renders it (raw HTML and all); where nbconvert
    cannot (an image of a missing attachment), the text, escaped."""
    renderer = IPythonRenderer(escape=False, attachments=attachments or {})
    try:
        return MarkdownWithMath(renderer=renderer).render(source)
    except InvalidNotebook:
        return "<pre>" + html.escape(source) + "</pre>"


def clean_markdown(source, attachments=None, rendered=None):
    """Markdown source that renders as the cleaned HTML of `source`: one raw HTML block on
    one line (newlines as character references), which markdown leaves alone; if
    rendering it again would change it, the text itself, escaped. Cleaned markdown is
    left as it is. rendered -- render_markdown(source, attachments), if the caller has it."""
    if rendered is None:
        rendered = render_markdown(source, attachments)
    plain = render_markdown(source) if attachments else rendered
    if "\n" not in source and plain.strip() == source == clean_html(source):
        return source
    cleaned = clean_html(rendered).strip()
    block = "<div>" + cleaned.replace("\r", "&#13;").replace("\n", "&#10;") + "</div>"
    if render_markdown(block).strip() == block:
        return block
    return "<pre>" + html.escape(source).replace("\n", "&#10;") + "</pre>"


class _Scan(HTMLParser):
    """What an HTML fragment holds that the cleaning takes away, for the summary (not for
    safety: the browser's parser is the one that counts, and nh3 is built on it)."""

    def __init__(self):
        super().__init__()
        self.found = set()

    def handle_starttag(self, tag, attrs):
        if tag in ACTIVE_TAGS:
            self.found.add(f"<{tag}>")
        for name, value in attrs:
            value = _as_read(value or "")
            if name.startswith("on"):
                self.found.add("event handlers")
            elif name == "style":
                self.found.add("style attributes")
            elif value.startswith(("javascript:", "vbscript:")):
                self.found.add("javascript: URLs")
            elif value.startswith("data:") and not (name == "src" and IMAGES.match(value)):
                self.found.add("data: URLs")
            elif name in ("src", "srcdoc", "srcset", "background", "poster") and \
                    not IMAGES.match(value):
                self.found.add(f"{name} loading from elsewhere")


def active_parts(text):
    """The kinds of active content an HTML fragment holds (see _Scan)."""
    scan = _Scan()
    scan.feed(text)
    scan.close()
    markdown_links = re.findall(r"\]\(\s*<?\s*(javascript|vbscript)\s*:", text, re.I)
    return scan.found | ({"javascript: URLs"} if markdown_links else set())


def _text(value):
    """A mime bundle's value as text (nbformat allows a list of lines), else None."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value if isinstance(value, str) else None


def _size(value):
    """A width or height nbconvert may print into a tag: a positive number, else None."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e5
    return value if ok else None


def clean_output(output):
    """(the output rebuilt from what is safe to render, the kinds of things removed)."""
    kind, removed = output.get("output_type"), set()
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        text = _text(output.get("text")) or ""
        if text == DROPPED["text"]:  # make_valid's
            removed.add("outputs the kernel sent that are not valid in a notebook")
        return _node(output_type="stream", name=name, text=text), removed
    if kind == "error":
        lines = output.get("traceback")
        lines = [str(line) for line in lines] if isinstance(lines, list) else []
        return _node(output_type="error", ename=str(output.get("ename", "")),
                     evalue=str(output.get("evalue", "")), traceback=lines), removed
    if kind not in ("display_data", "execute_result"):
        return _removed_line(f"an output of type {str(kind)[:40]!r}"), {"unknown outputs"}
    data, meta = {}, {}
    bundle = output.get("data") if isinstance(output.get("data"), dict) else {}
    options = output.get("metadata") if isinstance(output.get("metadata"), dict) else {}
    for mime, value in bundle.items():
        text = _text(value)
        if mime in PLAIN and text is not None:
            data[mime] = text
            size = options.get(mime)
            if mime.startswith("image/") and isinstance(size, dict):
                sizes = {k: _size(size.get(k)) for k in ("width", "height") if k in size}
                meta[mime] = {k: v for k, v in sizes.items() if v is not None}
                if len(meta[mime]) < len(sizes):
                    removed.add("image sizes that are not numbers")
        elif mime in ("text/html", "text/markdown") and text is not None:
            source = render_markdown(text) if mime == "text/markdown" else text
            removed |= active_parts(source)
            isolated = options.get(mime)
            if isinstance(isolated, dict) and isolated.get("isolated"):
                removed.add("an isolated frame")
            data.setdefault("text/html", "")
            data["text/html"] += clean_html(source)
        elif mime == "image/svg+xml" and text is not None:
            found = active_parts(text) - {"<svg>"}
            if found:
                removed.add(f"an SVG with {', '.join(sorted(found))} (shown as an image)")
            encoded = base64.b64encode(text.encode()).decode()
            data.setdefault("text/html", f'<img src="data:image/svg+xml;base64,{encoded}">')
        else:
            removed.add(f"{mime[:60]} outputs")
    if not data:
        return _removed_line("this output"), removed | {"empty outputs"}
    clean = _node(output_type=kind, data=data, metadata=meta)
    if kind == "execute_result":
        clean.execution_count = _count(output.get("execution_count"))
    return clean, removed


def _removed_line(what):
    """The text output that stands where an output was removed whole."""
    return _node(output_type="stream", name="stdout",
                 text=f"[{what} was removed by the grader: it could run code in the page]\n")


def _node(**fields):
    """A notebook node made of fields this module checked (nbformat's constructors
    validate each against the schema, which cost most of the cleaning's time)."""
    return nbformat.from_dict(fields)


def _cell(kind, source, **fields):
    """A new cell of `kind` ("markdown" or "code") holding `source`."""
    return _node(cell_type=kind, id=random_cell_id(), metadata={}, source=source, **fields)


def _count(value):
    """An execution count as nbformat allows it: a positive integer or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def make_valid(nb):
    """Make what a kernel put in a notebook valid nbformat, in place: execution counts
    integers or None, each output one nbformat accepts (else `DROPPED`, which clean_output
    reports). A kernel can send any JSON; nbconvert refuses a notebook that is not valid.
    Returns how many outputs were dropped."""
    dropped = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        cell.execution_count = _count(cell.get("execution_count"))
        for index, output in enumerate(cell.get("outputs") or []):
            if "execution_count" in output:
                output.execution_count = _count(output.get("execution_count"))
            if not _valid(output):
                cell.outputs[index] = nbformat.from_dict(DROPPED)
                dropped += 1
    return dropped


def _valid(output):
    """Whether nbformat accepts an output: first a check that accepts only what its schema
    accepts and is quick, for what kernels send every time; the schema itself otherwise."""
    kind, keys = output.get("output_type"), set(output)
    if kind == "stream" and keys == {"output_type", "name", "text"}:
        plain = output["name"] in ("stdout", "stderr") and isinstance(output["text"], str)
    elif kind == "error" and keys == {"output_type", "ename", "evalue", "traceback"}:
        plain = isinstance(output["ename"], str) and isinstance(output["evalue"], str) and \
            isinstance(output["traceback"], list) and \
            all(isinstance(line, str) for line in output["traceback"])
    elif kind in ("display_data", "execute_result") and isinstance(output.get("data"), dict):
        plain = keys <= {"output_type", "data", "metadata", "execution_count"} and \
            isinstance(output.get("metadata"), dict) and \
            (kind == "execute_result") == ("execution_count" in keys) and \
            all(isinstance(k, str) and MIME.match(k) and
                (isinstance(v, str) or JSON_MIME.match(k)) for k, v in output.data.items())
    else:
        plain = False
    if plain:
        return True
    try:
        validate(output, kind if kind in KINDS else "output")
        return kind in KINDS
    except nbformat.ValidationError:
        return False


def _nbgrader(meta):
    """A cell's nbgrader metadata with only its known keys, of their types, else None."""
    if not isinstance(meta, dict):
        return None
    kept = {k: v for k, v in meta.items() if k in NBGRADER and isinstance(v, NBGRADER[k])
            and not (isinstance(v, bool) and NBGRADER[k] in ((int, float), int))}
    if "grade_id" in kept and not GRADE_ID.match(kept["grade_id"]):
        return None
    return kept


def clean_notebook(nb, trusted=()):
    """Clean a notebook in place; trusted -- markdown sources left as they are (the
    master's). Returns {what was cleaned: the kinds of things removed}."""
    report = {}
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") == "markdown":
            source = _text(cell.get("source")) or ""
            attachments = cell.get("attachments")
            if source not in trusted or attachments:
                rendered = render_markdown(source, attachments)
                found = active_parts(rendered)
                if found:
                    report[f"markdown cell {index + 1}"] = found
                new = _cell("markdown", clean_markdown(source, attachments, rendered))
            else:
                new = _cell("markdown", source)
        elif cell.get("cell_type") == "code":
            new = _cell("code", _text(cell.get("source")) or "", outputs=[],
                        execution_count=_count(cell.get("execution_count")))
            for output in cell.get("outputs") or []:
                clean, found = clean_output(output if isinstance(output, dict) else {})
                new.outputs.append(clean)
                if found:
                    report.setdefault(f"outputs of cell {index + 1}", set()).update(found)
        else:  # raw cells and unknown ones: their text, shown as text
            new = _cell("markdown", clean_markdown(
                "```\n" + (_text(cell.get("source")) or "").replace("`", "'") + "\n```"))
        grading = _nbgrader((cell.get("metadata") or {}).get("nbgrader"))
        if grading is not None:
            new.metadata["nbgrader"] = grading
        identity = cell.get("id")
        if isinstance(identity, str) and GRADE_ID.match(identity):
            new.id = identity
        cells.append(new)
    if report and not (cells and cells[0].cell_type == "markdown" and cells[0].source == NOTICE):
        cells.insert(0, _cell("markdown", NOTICE))
    nb.cells = cells
    if _widget_models(nb.metadata):  # state that names widget code (an empty one is dropped)
        report["notebook metadata"] = {"widget state naming code to load"}
    nb.metadata = nbformat.from_dict({k: nb.metadata[k] for k in ("kernelspec", "language_info")
                                      if isinstance(nb.metadata.get(k), dict)})
    if nb.get("nbformat_minor", 5) < 5:
        for cell in nb.cells:
            cell.pop("id", None)
    return report


def _widget_models(metadata):
    """The widget models a notebook's saved widget state names, if any."""
    widgets = metadata.get("widgets")
    states = widgets.values() if isinstance(widgets, dict) else []
    return [model for state in states if isinstance(state, dict)
            for model in (state.get("state") or {} if isinstance(state.get("state"), dict)
                          else {})]


def master_markdown(source_notebook):
    """The markdown sources of the master notebook (the instructor's: trusted); read once
    per version of the file in a grading process, not once per submission."""
    try:
        return _markdown_of(str(source_notebook), os.stat(source_notebook).st_mtime_ns)
    except OSError:
        return set()


@functools.lru_cache(maxsize=16)
def _markdown_of(path, version):
    """master_markdown's reading, for one version (modification time) of the file."""
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return frozenset()
    return frozenset({c.source for c in nb.cells if c.cell_type == "markdown"} | {NOTICE})


# what nbgrader's exchange puts beside a hand-in: its release_feedback reads both (plain
# text, shown in no page)
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")


def keep_out(folder, source_folder, ignore):
    """Remove from an autograded folder every file the release does not have (the
    notebooks and nbgrader's own files excepted); return their paths, relative to the
    folder."""
    from nbgrader.utils import find_all_files  # what autograde copies from the source

    folder, source_folder = Path(folder), Path(source_folder)
    kept = {Path(p).relative_to(source_folder)
            for p in find_all_files(str(source_folder), list(ignore))}
    removed = []
    for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
        rel = path.relative_to(folder)
        if rel in kept or len(rel.parts) == 1 and (path.suffix == ".ipynb" or
                                                   path.name in NBGRADER_FILES):
            continue
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
            continue
        path.unlink()
        removed.append(str(rel))
    return sorted(removed)


class SanitizeSubmission(Preprocessor):
    """Leave nothing that runs in a page in a graded notebook and its folder (module
    docstring); record what was removed for the instructor's summaries."""

    enabled = Bool(True, help="Clean outputs, markdown and metadata of a submission "
                              "before it is saved or rendered").tag(config=True)
    keep_out_files = Bool(True, help="Remove from the autograded folder the files the "
                                     "release does not have").tag(config=True)

    def preprocess(self, nb, resources):
        from nbgrader.coursedir import CourseDirectory

        from rnn_solutions.engine.execute import add_to_record

        resources = resources if resources is not None else {}
        meta = resources.get("nbgrader") or {}
        # autograde and feedback name the notebook in resources["nbgrader"]; the
        # formgrader's page, in resources itself
        assignment = meta.get("assignment") or resources.get("assignment_id")
        notebook = meta.get("notebook") or resources.get("notebook_id")
        coursedir = CourseDirectory(config=self.config)
        if assignment and notebook:
            source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
            trusted = master_markdown(source / f"{notebook}.ipynb")
        else:
            source, trusted = None, {NOTICE}
        report = clean_notebook(nb, trusted)
        if os.environ.get("NBGRADER_EXECUTION") != "autograde":
            return nb, resources  # feedback and the formgrader: nothing to record
        folder = (resources.get("metadata") or {}).get("path")
        kept_out = keep_out(folder, source, coursedir.ignore) if self.keep_out_files and \
            folder and source is not None and source.is_dir() else []
        add_to_record(resources, removed=[f"{where} ({', '.join(sorted(kinds))})"
                                          for where, kinds in report.items()],
                      kept_out=kept_out)
        return nb, resources
