"""SanitizeSubmission's parts: what a student wrote stays content, never code, in the pages
grading makes of a notebook (the formgrader's and the feedback's)."""

import base64
import copy
import json
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import nbgrader
import pytest
from nbconvert.exporters import HTMLExporter
from nbformat import v4
from traitlets.config import Config

from rnn_solutions.engine import sanitize

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5"
       "ErkJggg==")  # a 1x1 PNG
FORMGRADE = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
# what a page may not hold that a student wrote: elements that run, load or restyle ...
ACTIVE_TAGS = {"script", "style", "iframe", "object", "embed", "base", "meta", "form", "svg",
               "math", "link", "frame", "frameset", "template", "noscript"}
# ... and attributes that do, or that reach the page's own styles and scripts
ACTIVE_ATTRIBUTES = {"style", "class", "id", "srcdoc", "srcset", "formaction", "action"}
SCRIPT_URLS = ("javascript:", "vbscript:")


def _url(value):
    """A URL as a browser reads its scheme: without blanks or control characters, in lower
    case."""
    return "".join(ch for ch in value or "" if ch > " ").lower()


class _Page(HTMLParser):
    """An HTML page or fragment as html.parser reads it: its tags, the text of its script
    elements, its event-handler attributes."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.scripts, self.handlers, self.text = [], [], [], []
        self._in_script = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self.handlers += [value or "" for name, value in attrs if name.startswith("on")]
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def urls(self):
        """Every attribute value a browser follows as a URL, as (tag, attribute, URL)."""
        return [(tag, name, _url(value)) for tag, attrs in self.tags for name, value in attrs
                if name in ("href", "src", "action", "formaction", "data", "xlink:href",
                            "background", "poster")]


def active(fragment):
    """What in an HTML fragment runs, loads or restyles, as html.parser reads it."""
    page, found = _Page(fragment), []
    for tag, attrs in page.tags:
        if tag in ACTIVE_TAGS:
            found.append(f"<{tag}>")
        found += [f"{tag} {name}=" for name, _ in attrs
                  if name.startswith("on") or name in ACTIVE_ATTRIBUTES]
    for tag, name, url in page.urls():
        if tag == "img" and name == "src":
            if not url.startswith("data:image/"):
                found.append(f"img src={url} (a request to elsewhere)")
        elif url.startswith(SCRIPT_URLS + ("data:",)):
            found.append(f"{tag} {name}={url}")
    return found


def text_of(fragment):
    """The text an HTML fragment shows, as html.parser reads it."""
    return "".join(_Page(fragment).text)


# --- clean_html: every kind of active HTML --------------------------------------------------

ACTIVE_HTML = {
    "script": "<script>alert(1)</script>",
    "img onerror": "<img src=x onerror=alert(1)>",
    "svg onload": "<svg onload=alert(1)>",
    "iframe srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "object": '<object data="evil.swf" type="application/x-shockwave-flash"></object>',
    "embed": '<embed src="evil.swf">',
    "style element": "<style>body { display: none }</style>",
    "style attribute": '<div style="position:fixed;top:0;left:0;width:100%">covers</div>',
    "base href": '<base href="http://evil.example/">',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=http://evil.example/">',
    "form": '<form action="http://evil.example/"><input name="q"><button>go</button></form>',
    "javascript link": '<a href="javascript:alert(1)">x</a>',
    "javascript link, mixed case and blanks": '<a href=" JaVaScRiPt:alert(1)">x</a>',
    "javascript link, tab inside": '<a href="java&#x09;script:alert(1)">x</a>',
    "data:text/html link": '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "mXSS noscript": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "mXSS svg style": "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "mXSS math": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "class and id": '<p class="navbar-fixed-top" id="notebook">text</p>',
    "img from elsewhere": '<img src="http://example.org/x.png">',
    "img relative": '<img src="x.png">',
    "img srcset": f'<img src="data:image/png;base64,{PNG}" srcset="http://example.org/x.png 2x">',
    "link stylesheet": '<link rel="stylesheet" href="http://evil.example/x.css">',
    "template": "<template><script>alert(1)</script></template>",
    "area javascript": '<map><area href="javascript:alert(1)"></map>',
}


@pytest.mark.parametrize("fragment", ACTIVE_HTML.values(), ids=ACTIVE_HTML.keys())
def test_active_html_is_cleaned(fragment):
    """Cleaned HTML holds no element, attribute or URL that runs, loads or restyles."""
    cleaned = sanitize.clean_html(fragment)
    assert active(cleaned) == [], f"{fragment!r} was cleaned to {cleaned!r}"


@pytest.mark.parametrize("fragment", ACTIVE_HTML.values(), ids=ACTIVE_HTML.keys())
def test_cleaning_is_stable(fragment):
    """Cleaning the cleaned HTML again changes nothing (no markup that a second parse
    reads differently from the first, as mutation XSS needs)."""
    cleaned = sanitize.clean_html(fragment)
    assert sanitize.clean_html(cleaned) == cleaned, f"{fragment!r} -> {cleaned!r}"


# --- clean_html: what survives --------------------------------------------------------------

DATAFRAME = ('<table border="1" class="dataframe">\n<thead>\n<tr style="text-align: right;">'
             "<th></th><th>loss</th></tr>\n</thead>\n<tbody>\n<tr><th>0</th><td>0.25</td></tr>"
             "\n</tbody>\n</table>")


@pytest.mark.parametrize(("fragment", "kept"), [
    ("plain text, nothing else", ["plain text, nothing else"]),
    ("<b>bold</b> and <i>italic</i>", ["<b>bold</b>", "<i>italic</i>"]),
    (DATAFRAME, ["<table>", "<thead>", "<tbody>", "<th>loss</th>", "<td>0.25</td>",
                 "</table>"]),
    (f'<img src="data:image/png;base64,{PNG}">', [f'src="data:image/png;base64,{PNG}"']),
    ('<a href="https://example.org">a link</a>', ['href="https://example.org"', "a link"]),
    ('<a href="mailto:ta@example.org">mail</a>', ['href="mailto:ta@example.org"']),
], ids=["text", "bold", "dataframe", "data image", "https link", "mailto link"])
def test_benign_html_survives(fragment, kept):
    """Text, emphasis, a pandas table, an inline image and a web link come out whole."""
    cleaned = sanitize.clean_html(fragment)
    assert all(part in cleaned for part in kept), f"{fragment!r} was cleaned to {cleaned!r}"


@pytest.mark.parametrize("fragment", [
    "before<script>alert(1)</script>after",
    "before<style>p {}</style>after",
    'before<iframe srcdoc="<b>x</b>"></iframe>after',
    "before<img src=x onerror=alert(1)>after",
    '<p>before</p><form action="http://evil.example/"></form><p>after</p>',
])
def test_the_neighbours_of_removed_elements_stay(fragment):
    """The text around an element that is removed is kept, in order."""
    cleaned = sanitize.clean_html(fragment)
    assert text_of(cleaned) == "beforeafter", f"{fragment!r} was cleaned to {cleaned!r}"


# --- markdown -------------------------------------------------------------------------------

MARKDOWN_PAYLOADS = [
    "Some text <script>alert(1)</script> and more",
    "<div>\n\n<img src=x onerror=alert(1)>\n\n</div>",
    "# Title\n\n<style>body { display: none }</style>\n\n<p style='position:fixed'>x</p>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "[x](javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x]: javascript:alert(1)\n\nsee [x]",
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "![a](http://example.org/track.png)",
]


@pytest.mark.parametrize("source", MARKDOWN_PAYLOADS)
def test_markdown_is_cleaned(source):
    """Markdown with raw HTML or script links becomes HTML with nothing active in it, as
    written and as rendered again."""
    cleaned = sanitize.clean_markdown(source)
    rendered = sanitize.render_markdown(cleaned)
    assert active(cleaned) == [] and active(rendered) == [], \
        f"{source!r} was cleaned to {cleaned!r}, rendered as {rendered!r}"


def test_a_markdown_javascript_link_keeps_its_text_only():
    """[x](javascript:...) keeps the link's text, with no javascript: URL."""
    cleaned = sanitize.clean_markdown("[click me](javascript:alert(1))")
    assert "javascript" not in cleaned.lower() and "click me" in cleaned, cleaned


FIXED_POINT_SOURCES = [
    "plain text",
    "# Heading\n\nSome *emphasis* and **strong** text.\n\n## Sub-heading\n",
    "- one\n- two\n  - nested\n\n1. first\n2. second\n",
    "The state $x_t$ and $a^{<t>}$ and\n\n$$\\hat{y}^{\\langle t \\rangle} = "
    "\\text{softmax}(W_{ya} a^{\\langle t \\rangle} + b_y)$$\n",
    "<div>\n\nblank lines inside an HTML block\n\n\n<p>and a paragraph</p>\n</div>",
    "<pre>\na < b\n\n    indented after a blank line\n</pre>",
    "```python\nx = '<script>'\n\ny = 2\n```",
    "| a | b |\n|---|---|\n| 1 | 2 |\n",
    "> a quote\n\n---\n\ntext with & and < and >",
    "<details><summary>hint</summary>\n\nhidden *text*\n\n</details>",
    "line one\r\nline two\r\n",
    "<!-- a comment <script>alert(1)</script> -->visible",
    "Some text <script>alert(1)</script>\n\n<p style='x'>styled</p>",
    "",
]


@pytest.mark.parametrize("source", FIXED_POINT_SOURCES)
def test_cleaned_markdown_renders_as_itself(source):
    """Rendering the cleaned markdown gives back the cleaned text (a fixed point), so the
    page shows exactly the cleaned HTML."""
    cleaned = sanitize.clean_markdown(source)
    rendered = sanitize.render_markdown(cleaned)
    assert rendered.strip() == cleaned, f"{source!r}: {cleaned!r} rendered as {rendered!r}"


@pytest.mark.parametrize("source", FIXED_POINT_SOURCES)
def test_nbconverts_markdown_filter_renders_cleaned_markdown_as_itself(source):
    """The HTML exporter's own markdown filter renders the cleaned markdown as the cleaned
    text too."""
    cleaned = sanitize.clean_markdown(source)
    rendered = HTMLExporter().markdown2html({"cell": {}}, cleaned)
    assert rendered.strip() == cleaned, f"{source!r}: {cleaned!r} rendered as {rendered!r}"


@pytest.mark.parametrize(("source", "kept"), [
    ("The state $x_t$ at time $t$", ["$x_t$", "$t$"]),
    ("$$a_t = b_t * c_t$$", ["$$a_t = b_t * c_t$$"]),
    ("# Heading\n\ntext", ["<h1>Heading", "<p>text</p>"]),
    ("- one\n- two", ["<ul>", "<li>one</li>", "<li>two</li>"]),
    ("<pre>\na < b\n\n  indented\n</pre>", ["<pre>", "a &lt; b&#10;&#10;  indented"]),
    ("**bold** and [a link](https://example.org)", ["<strong>bold</strong>",
                                                    'href="https://example.org"']),
], ids=["inline math", "display math", "heading", "list", "pre", "bold and link"])
def test_benign_markdown_survives(source, kept):
    """Math (left for MathJax), headings, lists, pre blocks and links survive cleaning."""
    cleaned = sanitize.clean_markdown(source)
    assert all(part in cleaned for part in kept), f"{source!r} was cleaned to {cleaned!r}"


def test_an_attachment_image_becomes_inline_data():
    """An attachment image in markdown ends up as a data: image."""
    cleaned = sanitize.clean_markdown("![a](attachment:p.png)", {"p.png": {"image/png": PNG}})
    assert f'src="data:image/png;base64,{PNG}"' in cleaned, cleaned


# --- active_parts ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "name"), [
    ("<script>alert(1)</script>", "<script>"),
    ("<style>p {}</style>", "<style>"),
    ('<iframe srcdoc="x"></iframe>', "<iframe>"),
    ("<svg onload=alert(1)>", "<svg>"),
    ("<img src=x onerror=alert(1)>", "event handlers"),
    ('<a href="javascript:alert(1)">x</a>', "javascript: URLs"),
    ("[x](javascript:alert(1))", "javascript: URLs"),
    ('<p style="position:fixed">x</p>', "style attributes"),
    ('<img src="http://example.org/x.png">', "src loading from elsewhere"),
])
def test_active_parts_names_what_it_finds(text, name):
    """active_parts names each kind of active content it finds."""
    found = sanitize.active_parts(text)
    assert name in found, f"{text!r}: found {found}"


@pytest.mark.parametrize("text", [
    "plain text with $x_t$ and **markdown**",
    "# Heading\n\n- one\n- two\n\n[a link](https://example.org)",
    "<b>bold</b> <i>italic</i>",
    DATAFRAME.replace(' style="text-align: right;"', ""),
    f'<img src="data:image/png;base64,{PNG}">',
    '<a href="https://example.org">a link</a>',
])
def test_active_parts_finds_nothing_in_benign_text(text):
    """Benign HTML and markdown hold no active parts."""
    assert sanitize.active_parts(text) == set()


# --- clean_output ---------------------------------------------------------------------------

def _display(data, metadata=None, kind="display_data"):
    """An output of a kernel, as a plain dict (as read from JSON)."""
    output = {"output_type": kind, "data": data, "metadata": metadata or {}}
    if kind == "execute_result":
        output["execution_count"] = 1
    return output


@pytest.mark.parametrize("output", [
    {"output_type": "stream", "name": "stdout", "text": "hello <script>\n"},
    {"output_type": "stream", "name": "stderr", "text": "warning\n"},
    {"output_type": "error", "ename": "ValueError", "evalue": "shapes (3,) and (4,)",
     "traceback": ["\x1b[0;31mValueError\x1b[0m", "line 2"]},
], ids=["stdout", "stderr", "error"])
def test_streams_and_errors_are_kept(output):
    """A stream's text and an error's name, value and traceback are kept as they are."""
    clean, removed = sanitize.clean_output(output)
    assert dict(clean) == output and removed == set(), f"{output} -> {clean}, {removed}"


@pytest.mark.parametrize("mime", ["application/javascript",
                                  "application/vnd.jupyter.widget-view+json",
                                  "application/x-unknown", "application/pdf"])
def test_active_and_unknown_mime_types_are_removed_and_reported(mime):
    """JavaScript, widget views and unknown types are removed from an output and named."""
    value = {"model_id": "abc"} if mime.endswith("json") else "alert(1)"
    clean, removed = sanitize.clean_output(_display({mime: value, "text/plain": "shown"}))
    assert mime not in clean.data and clean.data == {"text/plain": "shown"}, clean
    assert f"{mime} outputs" in removed, removed


def test_an_output_left_with_no_data_becomes_a_stream_saying_so():
    """An output whose every type is removed becomes a stream saying it was removed."""
    clean, removed = sanitize.clean_output(_display({"application/javascript": "alert(1)"}))
    assert clean.output_type == "stream" and "removed" in clean.text, clean
    assert "empty outputs" in removed, removed


def test_markdown_output_becomes_cleaned_html():
    """A text/markdown output becomes text/html, rendered and cleaned."""
    clean, removed = sanitize.clean_output(
        _display({"text/markdown": "**bold** <script>alert(1)</script>"}))
    html = clean.data.get("text/html", "")
    assert "text/markdown" not in clean.data and "<strong>bold</strong>" in html, clean
    assert active(html) == [] and "<script>" in removed, (html, removed)


def test_html_output_is_cleaned():
    """A text/html output keeps its table and loses its script."""
    payload = DATAFRAME + "<script>alert(1)</script>"
    clean, removed = sanitize.clean_output(_display({"text/html": payload}))
    html = clean.data["text/html"]
    assert "<td>0.25</td>" in html and active(html) == [], html
    assert "<script>" in removed, removed


def test_svg_output_becomes_an_image():
    """An image/svg+xml output becomes an <img> of the SVG as inline data in text/html."""
    svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="1"/></svg>'
    clean, _ = sanitize.clean_output(_display({"image/svg+xml": svg}))
    encoded = base64.b64encode(svg.encode()).decode()
    assert "image/svg+xml" not in clean.data, clean
    assert clean.data["text/html"] == f'<img src="data:image/svg+xml;base64,{encoded}">', clean


@pytest.mark.parametrize(("size", "kept"), [
    ({"width": "1 onerror=alert(1)", "height": 30}, {"height": 30}),
    ({"width": 200, "height": 100.5}, {"width": 200, "height": 100.5}),
    ({"width": True, "height": [1]}, {}),
    ({"width": -5}, {}),
])
def test_image_sizes_that_are_not_numbers_are_dropped(size, kept):
    """An image's width and height are kept if they are positive numbers, else dropped."""
    clean, removed = sanitize.clean_output(
        _display({"image/png": PNG}, {"image/png": size}))
    assert clean.data["image/png"] == PNG and clean.metadata["image/png"] == kept, clean
    assert ("image sizes that are not numbers" in removed) == (kept != size), removed


def test_non_string_data_is_dropped():
    """A mime bundle value that is not text (a dict as text/html) is dropped."""
    clean, removed = sanitize.clean_output(
        _display({"text/html": {"a": "<script>alert(1)</script>"}, "text/plain": "p"}))
    assert clean.data == {"text/plain": "p"} and "text/html outputs" in removed, clean


@pytest.mark.parametrize(("count", "kept"), [("3", None), (2.5, None), (True, None), (-1, None),
                                             (7, 7)])
def test_an_execute_results_count_is_an_integer_or_none(count, kept):
    """An execute_result's execution_count that is not a positive integer becomes None."""
    output = {**_display({"text/plain": "1"}, kind="execute_result"), "execution_count": count}
    clean, _ = sanitize.clean_output(output)
    assert clean.execution_count == kept, clean


def test_html_output_with_metadata_that_is_not_a_dict_is_cleaned():
    """A valid output whose text/html metadata is a string (nbformat allows it; a student
    can display one) is cleaned, not a crash."""
    output = v4.new_output("display_data", data={"text/html": "<b>x</b>"},
                           metadata={"text/html": "isolated"})
    nbformat.validate(v4.new_notebook(cells=[v4.new_code_cell(outputs=[output])]))
    clean, _ = sanitize.clean_output(output)
    assert clean.data["text/html"] == "<b>x</b>", clean


# --- make_valid -----------------------------------------------------------------------------

def test_make_valid_makes_a_notebook_valid_and_counts_what_it_dropped():
    """A notebook with a string execution count and an output whose data is a dict is
    valid afterwards, and make_valid returns how many outputs it dropped."""
    cell = v4.new_code_cell("x")
    cell.outputs = [
        nbformat.from_dict(_display({"text/html": {"a": 1}})),
        nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": "kept\n"}),
        nbformat.from_dict({**_display({"text/plain": "1"}, kind="execute_result"),
                            "execution_count": "2"}),
    ]
    cell.execution_count = "7"
    nb = v4.new_notebook()
    nb.cells = [cell]
    with pytest.raises(nbformat.ValidationError):
        nbformat.validate(nb)
    assert sanitize.make_valid(nb) == 1
    nbformat.validate(nb)
    assert cell.execution_count is None and cell.outputs[1].text == "kept\n", cell


# --- clean_notebook -------------------------------------------------------------------------

MASTER_MARKDOWN = "# The master's own markdown\n\n<span style='color: red'>kept as is</span>\n"


def _notebook(*cells, **metadata):
    """A notebook of cells, with a kernelspec and language_info and any other metadata."""
    nb = v4.new_notebook()
    nb.cells = list(cells)  # unchecked: some tests hand in invalid parts
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"},
                   "language_info": {"name": "python"}, **metadata}
    return nb


def test_trusted_markdown_is_kept_byte_for_byte():
    """A markdown cell whose source the master holds is left exactly as it is."""
    nb = _notebook(v4.new_markdown_cell(MASTER_MARKDOWN))
    sanitize.clean_notebook(nb, trusted={MASTER_MARKDOWN})
    assert [c.source for c in nb.cells] == [MASTER_MARKDOWN], nb.cells


def test_other_markdown_is_cleaned_and_reported():
    """A markdown cell the master does not hold is cleaned, and what it lost is reported."""
    nb = _notebook(v4.new_markdown_cell("answer <img src=x onerror=alert(1)>"))
    report = sanitize.clean_notebook(nb, trusted={MASTER_MARKDOWN})
    source = nb.cells[-1].source
    assert active(sanitize.render_markdown(source)) == [] and "answer" in source, source
    assert "event handlers" in report.get("markdown cell 1", set()), report


def test_a_raw_cell_becomes_markdown_showing_its_text():
    """A raw cell becomes a markdown cell that shows its text as text."""
    nb = _notebook(v4.new_raw_cell("<script>alert(1)</script>\nline two"))
    sanitize.clean_notebook(nb)
    cell = nb.cells[-1]
    rendered = sanitize.render_markdown(cell.source)
    assert cell.cell_type == "markdown" and active(rendered) == [], cell
    assert text_of(rendered).strip() == "<script>alert(1)</script>\nline two", rendered


GRADED = {"grade": True, "solution": False, "locked": True, "grade_id": "rnn_forward-1",
          "points": 3, "schema_version": 3, "checksum": "abc"}


def test_nbgrader_metadata_of_valid_types_is_kept():
    """A cell's nbgrader metadata of the right types is kept as it is."""
    nb = _notebook(v4.new_code_cell("x", metadata={"nbgrader": dict(GRADED)}))
    sanitize.clean_notebook(nb)
    assert nb.cells[-1].metadata == {"nbgrader": GRADED}, nb.cells[-1].metadata


@pytest.mark.parametrize(("change", "left"), [
    ({"points": "3"}, {k: v for k, v in GRADED.items() if k != "points"}),
    ({"grade": "yes"}, {k: v for k, v in GRADED.items() if k != "grade"}),
    ({"points": True}, {k: v for k, v in GRADED.items() if k != "points"}),
    ({"evil": "<script>"}, GRADED),
], ids=["points as text", "grade as text", "points as a bool", "unknown key"])
def test_nbgrader_metadata_of_other_types_is_dropped(change, left):
    """nbgrader keys of the wrong type, and unknown keys, are dropped; the rest stay."""
    nb = _notebook(v4.new_code_cell("x", metadata={"nbgrader": {**GRADED, **change}}))
    sanitize.clean_notebook(nb)
    assert nb.cells[-1].metadata == {"nbgrader": left}, nb.cells[-1].metadata


@pytest.mark.parametrize("grade_id", ['x"><script>alert(1)</script>', "has space", "dot.id", ""])
def test_nbgrader_metadata_with_a_bad_grade_id_is_dropped(grade_id):
    """nbgrader metadata whose grade_id has characters outside [A-Za-z0-9_-] is dropped."""
    nb = _notebook(v4.new_code_cell("x", metadata={"nbgrader": {**GRADED, "grade_id": grade_id}}))
    sanitize.clean_notebook(nb)
    assert "nbgrader" not in nb.cells[-1].metadata, nb.cells[-1].metadata


def test_other_cell_metadata_is_dropped():
    """Tags and any other cell metadata are dropped."""
    nb = _notebook(v4.new_code_cell("x", metadata={"tags": ["a"], "jupyter": {}, "foo": 1}),
                   v4.new_markdown_cell(MASTER_MARKDOWN, metadata={"tags": ["b"]}))
    sanitize.clean_notebook(nb, trusted={MASTER_MARKDOWN})
    assert [dict(c.metadata) for c in nb.cells] == [{}, {}], nb.cells


@pytest.mark.parametrize(("state", "reported"), [
    ({"m1": {"model_module": "evil-widgets", "model_name": "EvilModel", "state": {}}},
     {"notebook metadata": {"widget state naming code to load"}}),
    ({}, {}),  # what editors save for a notebook without widgets: dropped, not reported
])
def test_notebook_metadata_keeps_kernelspec_and_language_info_only(state, reported):
    """Notebook metadata keeps only kernelspec and language_info; widget state is dropped,
    and reported when it names widget code to load."""
    widgets = {"application/vnd.jupyter.widget-state+json": {"state": state}}
    nb = _notebook(v4.new_code_cell("x"), widgets=widgets, title="<script>", authors=[])
    report = sanitize.clean_notebook(nb)
    assert set(nb.metadata) == {"kernelspec", "language_info"}, nb.metadata
    assert report == reported


def _dirty():
    """A notebook with active content in a markdown cell and an output."""
    return _notebook(
        v4.new_markdown_cell(MASTER_MARKDOWN),
        v4.new_markdown_cell("answer <script>alert(1)</script>"),
        v4.new_code_cell("x", outputs=[v4.new_output("display_data",
                                                     data={"application/javascript": "1"})]))


def test_the_notice_is_added_at_the_top_once_when_something_was_removed():
    """A notebook that lost something starts with the NOTICE cell, once."""
    nb = _dirty()
    report = sanitize.clean_notebook(nb, trusted={MASTER_MARKDOWN, sanitize.NOTICE})
    sources = [c.source for c in nb.cells]
    assert report and sources[0] == sanitize.NOTICE and sources.count(sanitize.NOTICE) == 1, \
        sources


def test_a_clean_notebook_is_left_with_the_same_cells():
    """A notebook with nothing to remove gets no NOTICE and keeps its cells."""
    nb = _notebook(v4.new_markdown_cell(MASTER_MARKDOWN),
                   v4.new_code_cell("x = 1", execution_count=1, outputs=[
                       v4.new_output("stream", name="stdout", text="1\n"),
                       v4.new_output("execute_result", data={"text/plain": "1"},
                                     execution_count=1)]))
    before = copy.deepcopy(nb)
    report = sanitize.clean_notebook(nb, trusted={MASTER_MARKDOWN, sanitize.NOTICE})
    assert report == {} and nb.cells == before.cells, nb.cells


def test_cleaning_twice_adds_the_notice_once():
    """Cleaning a notebook twice leaves one NOTICE, at the top."""
    nb = _dirty()
    trusted = {MASTER_MARKDOWN, sanitize.NOTICE}
    sanitize.clean_notebook(nb, trusted=trusted)
    sanitize.clean_notebook(nb, trusted=trusted)
    sources = [c.source for c in nb.cells]
    assert sources[0] == sanitize.NOTICE and sources.count(sanitize.NOTICE) == 1, sources


def test_cleaning_a_cleaned_notebook_reports_and_changes_nothing():
    """Cleaning is idempotent: an already cleaned notebook is reported clean and left
    exactly as it was."""
    nb = _dirty()
    trusted = {MASTER_MARKDOWN, sanitize.NOTICE}
    sanitize.clean_notebook(nb, trusted=trusted)
    once = copy.deepcopy(nb)
    report = sanitize.clean_notebook(nb, trusted=trusted)
    changed = [(a.source, b.source) for a, b in zip(once.cells, nb.cells, strict=True)
               if a != b]
    assert report == {} and changed == [] and nb == once, (report, changed)


def test_a_cleaned_notebook_is_valid():
    """What clean_notebook leaves is a valid notebook, even from invalid parts."""
    cell = v4.new_code_cell("x")
    cell.outputs = [nbformat.from_dict(_display({"text/html": {"a": 1}})),
                    nbformat.from_dict({"output_type": "bogus"})]
    cell.execution_count = "3"
    nb = _notebook(cell, v4.new_raw_cell("raw"), _dirty().cells[1])
    sanitize.clean_notebook(nb)
    nbformat.validate(nb)


def test_a_markdown_cell_with_a_missing_attachment_is_cleaned():
    """A markdown cell naming an attachment it does not have (its text copied from
    elsewhere) is cleaned, not a crash that stops the notebook being graded."""
    nb = _notebook(v4.new_markdown_cell("see ![plot](attachment:missing.png)"))
    sanitize.clean_notebook(nb)
    assert "see" in nb.cells[-1].source, nb.cells[-1].source


# --- master_markdown ------------------------------------------------------------------------

def test_master_markdown_is_the_masters_markdown_and_the_notice(tmp_path):
    """master_markdown reads the master's markdown sources, plus the NOTICE; nothing from a
    notebook it cannot read."""
    path = tmp_path / "nb.ipynb"
    nbformat.write(_notebook(v4.new_markdown_cell(MASTER_MARKDOWN), v4.new_code_cell("x")),
                   path)
    assert sanitize.master_markdown(path) == {MASTER_MARKDOWN, sanitize.NOTICE}
    assert sanitize.master_markdown(tmp_path / "missing.ipynb") == set()


# --- keep_out -------------------------------------------------------------------------------

IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
RELEASE = ["nb.ipynb", "helper.py", "images/a.png"]


def _lay_out(folder, files):
    """Write each file (a path relative to folder) with some text."""
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"contents of {name}")


@pytest.fixture
def submission(tmp_path):
    """(an autograded folder with the release's files and files handed in beside them, the
    source folder)."""
    source, folder = tmp_path / "source" / "ps1", tmp_path / "autograded" / "st" / "ps1"
    _lay_out(source, RELEASE + ["__pycache__/helper.cpython-311.pyc"])
    _lay_out(folder, RELEASE + ["evil.html", "figure.svg", "sub/page.xml", "other.ipynb",
                                "sub/nested.ipynb", "__pycache__/helper.cpython-311.pyc"])
    return folder, source


def test_keep_out_keeps_the_releases_files_and_top_level_notebooks(submission):
    """Only the release's files and the top-level notebooks stay in the autograded folder."""
    folder, source = submission
    sanitize.keep_out(folder, source, IGNORE)
    left = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert left == sorted(RELEASE + ["other.ipynb"]), left


def test_keep_out_keeps_nbgraders_own_files(submission):
    """The exchange's timestamp.txt and submission_secret.txt stay beside the notebook
    (release_feedback reads them), not in a subfolder."""
    folder, source = submission
    _lay_out(folder, ["timestamp.txt", "submission_secret.txt", "sub/timestamp.txt"])
    assert "sub/timestamp.txt" in sanitize.keep_out(folder, source, IGNORE)
    assert (folder / "timestamp.txt").exists() and (folder / "submission_secret.txt").exists()


def test_keep_out_returns_the_removed_paths_sorted(submission):
    """keep_out returns the relative paths it removed, sorted."""
    removed = sanitize.keep_out(*submission, IGNORE)
    assert removed == ["__pycache__/helper.cpython-311.pyc", "evil.html", "figure.svg",
                       "sub/nested.ipynb", "sub/page.xml"], removed


def test_keep_out_removes_the_folders_it_emptied(submission):
    """Folders keep_out emptied are removed; the release's folders stay."""
    folder, source = submission
    sanitize.keep_out(folder, source, IGNORE)
    folders = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_dir())
    assert folders == ["images"], folders


def test_keep_out_removes_a_symlink_without_following_it(submission, tmp_path):
    """A symlink handed in is removed itself; what it points to is left alone."""
    folder, source = submission
    outside = tmp_path / "outside"
    _lay_out(outside, ["precious.txt"])
    (folder / "link").symlink_to(outside, target_is_directory=True)
    removed = sanitize.keep_out(folder, source, IGNORE)
    assert "link" in removed and not (folder / "link").is_symlink(), removed
    assert (outside / "precious.txt").exists()


# --- SanitizeSubmission ---------------------------------------------------------------------

def test_the_preprocessor_cleans_and_records_in_autograde(tmp_path, monkeypatch):
    """In autograde, SanitizeSubmission trusts the master's markdown, cleans the rest,
    keeps out the files handed in, and records what it removed."""
    source, folder = tmp_path / "source" / "ps1", tmp_path / "autograded" / "st" / "ps1"
    _lay_out(folder, ["evil.html"])
    source.mkdir(parents=True)
    nbformat.write(_notebook(v4.new_markdown_cell(MASTER_MARKDOWN)), source / "nb.ipynb")
    nb = _dirty()
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    resources = {"nbgrader": {"assignment": "ps1", "notebook": "nb", "student": "st"},
                 "metadata": {"path": str(folder)}}
    nb, _ = sanitize.SanitizeSubmission(config=config).preprocess(nb, resources)
    record = json.loads((tmp_path / "autograded" / ".judge" / "ps1" / "st.json").read_text())
    assert [c.source for c in nb.cells[:2]] == [sanitize.NOTICE, MASTER_MARKDOWN], nb.cells
    assert not (folder / "evil.html").exists(), sorted(folder.iterdir())
    assert any("markdown cell 2" in line for line in record["removed"]), record
    assert record["kept_out"] == ["evil.html"], record


# --- the pages nbconvert renders ------------------------------------------------------------

MARKER = "PWNED"


def _payloads():
    """A notebook with the marker in every active place a student can put it."""
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{MARKER}()"></svg>'
    outputs = [
        v4.new_output("display_data", data={"application/javascript": f"{MARKER}()"}),
        v4.new_output("display_data", data={"text/html": f"<script>{MARKER}()</script>"}),
        v4.new_output("display_data", data={"text/html": f"<img src=x onerror={MARKER}()>"}),
        v4.new_output("display_data", data={"text/markdown": f"[x](javascript:{MARKER}())"}),
        v4.new_output("display_data", data={"image/svg+xml": svg}),
        v4.new_output("display_data", data={"image/png": PNG},
                      metadata={"image/png": {"width": f"1 onerror={MARKER}()"}}),
        v4.new_output("display_data", data={"text/html": "<b>x</b>"},
                      metadata={"text/html": {"isolated": True}}),
        v4.new_output("execute_result", execution_count=1,
                      data={"text/html": f'<a href="javascript:{MARKER}()">x</a>'}),
        v4.new_output("stream", name="stdout", text=f"<script>{MARKER}()</script>"),
        v4.new_output("error", ename=f"<script>{MARKER}()</script>", evalue="x",
                      traceback=[f"<img src=x onerror={MARKER}()>"]),
    ]
    grading = {"grade": True, "solution": True, "points": 1, "schema_version": 3,
               "grade_id": f'x"><script>{MARKER}()</script>'}
    return _notebook(
        v4.new_markdown_cell(f"answer <script>{MARKER}()</script>"),
        v4.new_markdown_cell(f"<div>\n\n<img src=x onerror={MARKER}()>\n\n</div>"),
        v4.new_markdown_cell(f"[click](javascript:{MARKER}())"),
        v4.new_raw_cell(f"<script>{MARKER}()</script>"),
        v4.new_code_cell(f"print('{MARKER}')", execution_count=1, outputs=outputs,
                         metadata={"nbgrader": grading}),
        widgets={"application/vnd.jupyter.widget-state+json": {"state": {MARKER: {}}}})


def _render(nb, template):
    """The page nbconvert's HTMLExporter makes of nb with a template: classic, or the
    formgrader's formgrade (as formgrader.py configures it)."""
    if template == "classic":
        return HTMLExporter(template_name="classic").from_notebook_node(nb)[0]
    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [str(FORMGRADE)]
    resources = {"assignment_id": "ps1", "notebook_id": "nb", "submission_id": "s1",
                 "index": 0, "total": 1, "base_url": "", "student": "st", "last_name": None,
                 "first_name": None, "notebook_path": "autograded/st/ps1/nb.ipynb"}
    return HTMLExporter(config=config).from_notebook_node(nb, resources=resources)[0]


def active_marker(page):
    """Where the marker is active in a page: in a script element, an event handler, a
    javascript: URL, or a frame's document."""
    parsed, found = _Page(page), []
    found += [f"<script>{s.strip()[:80]}" for s in parsed.scripts if MARKER in s]
    found += [f"handler {h[:80]}" for h in parsed.handlers if MARKER in h]
    found += [f"{tag} {name}={url[:80]}" for tag, name, url in parsed.urls()
              if url.startswith(SCRIPT_URLS) and MARKER.lower() in url]
    found += [f"{tag} {name}=" for tag, attrs in parsed.tags for name, value in attrs
              if name == "srcdoc" or (tag in ("iframe", "object", "embed") and name in
                                      ("src", "data") and _url(value).startswith("data:"))]
    return found


@pytest.mark.parametrize("template", ["classic", "formgrade"])
def test_the_check_finds_the_payloads_in_an_uncleaned_page(template):
    """Without cleaning, the page holds the marker in scripts, handlers and URLs (so the
    check below can fail)."""
    found = active_marker(_render(_payloads(), template))
    assert any(f.startswith("<script>") for f in found), found
    assert any(f.startswith("handler") for f in found), found
    assert any("javascript:" in f for f in found), found


@pytest.mark.parametrize("template", ["classic", "formgrade"])
def test_a_cleaned_notebooks_page_runs_nothing_of_the_students(template):
    """The page nbconvert renders of a cleaned notebook has the marker in no script
    element, event handler or javascript: URL (the template's own scripts are allowed)."""
    nb = _payloads()
    report = sanitize.clean_notebook(nb, trusted={sanitize.NOTICE})
    page = _render(nb, template)
    assert report and active_marker(page) == [], active_marker(page)
    assert sanitize.NOTICE.split("**")[1] in page


def test_scores_and_comments_in_a_students_metadata_are_dropped():
    """nbgrader's feedback renders a cell's metadata comment as markdown and prints its
    score: a student's own are dropped (the gradebook's are added after the cleaning)."""
    cell = v4.new_markdown_cell("notes")
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "my_notes",
                                 "comment": "<img src=x onerror=alert(1)>", "score": 99}
    nb = _notebook(cell)
    sanitize.clean_notebook(nb)
    assert nb.cells[-1].metadata["nbgrader"] == {"solution": True, "grade": False,
                                                 "grade_id": "my_notes"}
