"""The pages an instructor and a student open, opened in a real browser: nothing a student
wrote runs there (sanitize.py).

The corpus's active entries (corpus.ACTIVE: right answers plus scripts, event handlers,
JavaScript and SVG outputs, raw HTML in markdown, CSS, widget state, files beside the
notebook) and one plain right submission are graded by the course command's steps (the
class grader, then nbgrader's feedback). Then nbgrader's formgrader runs in a real
`jupyter server` of the course, logged in as the instructor, and headless Chromium (Debian's
`chromium` and `chromium-driver`) opens each submission's Manual Grading page and each
feedback page. Every payload would push to `window.PWNED` and open a terminal on the
server through its REST API, as a student's script on the instructor's origin can.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, missing
from corpus import ACTIVE, Entry
from test_corpus import corpus_course

from rnn_solutions.engine import classgrader, course, submissions
from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT, NOTEBOOK

pytestmark = pytest.mark.slow
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PLAIN = Entry("plain_answers", "valid", {})  # the page every other page is compared with
TOKEN = "browser-test-token"


def _browser_or_skip():
    """Skip where Debian's Chromium is missing (fail in CI, which installs it)."""
    absent = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists()]
    if absent:
        missing(", ".join(absent), "apt-get install chromium chromium-driver (.ci/run does)")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course with the active entries and a plain one, autograded, with feedback."""
    _browser_or_skip()
    root = corpus_course(tmp_path_factory.mktemp("browser") / "course", ACTIVE + [PLAIN])
    with open(os.devnull, "w") as quiet:
        assert classgrader.autograde(root, ASSIGNMENT, jobs=4, out=quiet) == {}
    assert course.feedback(root, ASSIGNMENT) == []
    return root


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(graded):
    """The instructor's Jupyter server with the formgrader, in the course directory; its
    base URL."""
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(graded / ".jupyter-config"),
           "JUPYTER_RUNTIME_DIR": str(graded / ".jupyter-runtime")}
    log = open(graded / "server.log", "w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "server", "--no-browser",
         "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={graded}"],
        cwd=graded, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            _api(url, "/api/status")
            break
        except OSError:
            assert process.poll() is None, (graded / "server.log").read_text()
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(10)
    log.close()


def _api(url, path, method="GET"):
    """A request to the server's REST API as the instructor; the decoded JSON."""
    request = urllib.request.Request(url + path, method=method,
                                      headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read() or b"null")


@pytest.fixture(scope="module")
def browser(graded):
    """Headless Chromium, recording every request its pages make."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={graded / '.chromium'}", "--window-size=1200,3000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(graded / ".chromium", ignore_errors=True)


def _open(browser, url):
    """Open a page, let its scripts run, and return the URLs it requested (the submission's
    id and query left out, so that two students' pages compare; inline data: images, which
    reach nobody, left out)."""
    browser.get_log("performance")  # what earlier pages requested
    browser.get(url)
    time.sleep(1.5)  # handlers on load, timers, the formgrader's own API calls
    requests = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested = message["params"]["request"]["url"].split("?")[0]
            if requested.startswith("data:"):
                continue
            requests.add(re.sub(r"/submissions/[0-9a-f]+", "/submissions/ID",
                                re.sub(r"/feedback/[^/]+/", "/feedback/STUDENT/", requested)))
    return requests


def _submission_id(root, student):
    from nbgrader.api import Gradebook

    with Gradebook(submissions.gradebook_url(root)) as gb:
        return gb.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT,
                                           student).id


def _formgrader_page(root, url, student):
    return f"{url}/formgrader/submissions/{_submission_id(root, student)}/?index=0"


def _feedback_page(root, student):
    return (root / "feedback" / student / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")
            ).as_uri()


FIGURES = sorted(p.name for p in (ROOT / "release" / ASSIGNMENT / "images").iterdir())


def _figures_shown(browser):
    """The master notebook's figures the page shows, loaded (its markdown is the
    instructor's, rendered as written)."""
    return sorted(browser.execute_script(
        "return [...document.images].filter(i => i.complete && i.naturalWidth > 0)"
        ".map(i => i.src.split('/').pop())"
        ".filter(name => name.endsWith('.svg') && !name.startsWith('data:'))"))


def _ran(browser):
    """Whether any student's code ran in the page: the marker every payload sets."""
    return browser.execute_script("return window.PWNED === undefined ? null : window.PWNED")


@pytest.fixture(scope="module")
def plain_requests(graded, server, browser):
    """What the plain submission's formgrader and feedback pages request."""
    browser.get(f"{server}/?token={TOKEN}")  # logged in: the session cookie and _xsrf
    return {"formgrader": _open(browser, _formgrader_page(graded, server, PLAIN.name)),
            "feedback": _open(browser, _feedback_page(graded, PLAIN.name))}


@pytest.mark.parametrize("entry", ACTIVE, ids=[e.name for e in ACTIVE])
def test_formgrader_page_runs_none_of_the_students_code(graded, server, browser,
                                                        plain_requests, entry):
    """The submission's Manual Grading page runs no payload, makes no request the plain
    submission's page does not make, and shows a score box for every graded cell."""
    requests = _open(browser, _formgrader_page(graded, server, entry.name))
    assert _ran(browser) is None
    assert requests <= plain_requests["formgrader"], requests - plain_requests["formgrader"]
    from selenium.webdriver.common.by import By

    boxes = browser.find_elements(By.CSS_SELECTOR, "input.score")
    assert len(boxes) == 8 and all(box.is_displayed() for box in boxes)
    assert _figures_shown(browser) == FIGURES


@pytest.mark.parametrize("entry", ACTIVE, ids=[e.name for e in ACTIVE])
def test_feedback_page_runs_none_of_the_students_code(graded, browser, plain_requests,
                                                      entry):
    """The student's feedback page runs no payload, makes no request the plain
    submission's feedback does not make, shows the full score and says what was removed."""
    requests = _open(browser, _feedback_page(graded, entry.name))
    assert _ran(browser) is None
    assert requests <= plain_requests["feedback"], requests - plain_requests["feedback"]
    from selenium.webdriver.common.by import By

    text = browser.find_element(By.TAG_NAME, "body").text
    assert "(Score: 22.0 / 22.0)" in text
    assert "active content" in text and "was removed" in text
    assert _figures_shown(browser) == FIGURES


def test_no_terminal_was_opened(graded, server, browser, plain_requests):
    """After every page was opened, the server has no terminal: no payload reached its
    API with the instructor's session (the attack the issue reported)."""
    for entry in ACTIVE:
        _open(browser, _formgrader_page(graded, server, entry.name))
    assert _api(server, "/api/terminals") == []


def test_files_handed_in_beside_the_notebook_are_not_served(graded, server):
    """The formgrader serves the release's files of a submission, not the HTML and SVG
    the student handed in beside the notebook."""
    base = f"{server}/formgrader/submissions/" + \
        f"{_submission_id(graded, 'files_beside_the_notebook')}/"
    headers = {"Authorization": f"token {TOKEN}"}
    for name in ("derivation.html", "figure.svg", "notes/page.xml"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(base + name, headers=headers))
        assert refused.value.code == 404, name
    with urllib.request.urlopen(urllib.request.Request(base + "rnncheck/checker.py",
                                                       headers=headers)) as reply:
        shipped = ROOT / "release" / ASSIGNMENT / "rnncheck" / "checker.py"
        assert reply.read() == shipped.read_bytes()


@pytest.mark.parametrize("student", ["raw_html_in_markdown_cell", "forged_kernel_messages"])
def test_plain_nbgrader_autograde_cleans_as_the_class_grader_does(graded, server, browser,
                                                                  plain_requests, student):
    """`nbgrader autograde` run by hand with the course's configuration cleans the same way:
    regraded so, the hand-in keeps its full score, its notebook starts with the notice, and
    its page runs nothing."""
    import nbformat

    from rnn_solutions.engine.sanitize import NOTICE

    code, log = course.nbgrader(graded, "autograde", ASSIGNMENT, "--student", student,
                                "--force")
    assert code == 0, log
    assert sum(course.scores(graded, ASSIGNMENT)[student].values()) == 22
    nb = nbformat.read(graded / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert nb.cells[0].source == NOTICE
    requests = _open(browser, _formgrader_page(graded, server, student))
    assert _ran(browser) is None
    assert requests <= plain_requests["formgrader"], requests - plain_requests["formgrader"]


def test_formgrader_cleans_a_notebook_autograded_without_the_sanitizer(graded, server,
                                                                       browser, plain_requests):
    """A notebook autograded by another configuration (plain nbgrader's, an older one)
    still runs nothing in the formgrader: its page exporter cleans what it renders. Runs
    last: it rewrites the plain submission's autograded notebook."""
    import nbformat
    from corpus import PAYLOAD

    path = graded / "autograded" / PLAIN.name / ASSIGNMENT / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    code = next(cell for cell in nb.cells if cell.cell_type == "code")
    code.outputs.append(nbformat.v4.new_output(
        "display_data", data={"text/html": f"<script>{PAYLOAD}</script>",
                              "application/javascript": PAYLOAD}))
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(f'<img src=x onerror="{PAYLOAD}">'))
    nbformat.write(nb, path)
    requests = _open(browser, _formgrader_page(graded, server, PLAIN.name))
    assert _ran(browser) is None
    assert requests <= plain_requests["formgrader"], requests - plain_requests["formgrader"]
