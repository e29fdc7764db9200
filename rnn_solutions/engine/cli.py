"""rnn-grade's entry point: the warm kernels' fork server starts first, then the grader loads.

Loading the class grader (nbgrader, nbconvert, SQLAlchemy) takes most of a second of one
core, and starting the fork server (sandbox.py) as long on another. Started first, the
server is ready when the grader is, and the workers grade at once (measured on 40 LSTM
submissions: first kernels at 1.4 s instead of 2.2 s). The server is started for the
kernel nbgrader_config.py names in a plain assignment, read without running the file
(running it loads nbgrader). Once the file has run, the grader asks for the server of
the kernel it really names: this one, or another (this one is then closed).
"""

import ast
import sys
from pathlib import Path

KERNEL_NAME = "c.ExecutePreprocessor.kernel_name"


def main(argv=None):
    """Command-line entry point of rnn-grade (classgrader.py)."""
    argv = sys.argv[1:] if argv is None else argv
    early = early_server(argv)
    from rnn_solutions.engine import classgrader

    classgrader.main(argv, early)


def early_server(argv):
    """The fork server of the kernel `rnn-grade autograde` will grade with, starting; None
    where the grader starts none (plain kernels, Dask) or the configuration does not say
    plainly which kernel, or whether to sandbox and fork kernels."""
    if not argv or argv[0] != "autograde" or "--dask" in argv or "--plain-kernels" in argv:
        return None
    course = next((a.split("=", 1)[1] for a in argv if a.startswith("--course=")), None)
    if "--course" in argv[:-1]:
        course = argv[argv.index("--course") + 1]
    name = configured_kernel(Path(course or ".") / "nbgrader_config.py")
    if name is None:
        return None
    from rnn_solutions.engine import sandbox

    try:
        return sandbox.prestart(name)
    except Exception:  # noqa: BLE001 -- the grader starts the server itself, as without this
        return None


def configured_kernel(config):
    """The kernel name nbgrader_config.py assigns as a plain string, or None: when it has
    none, or says anything of sandboxed or warm kernels (then the grader decides)."""
    try:
        tree = ast.parse(config.read_text())
    except (OSError, SyntaxError, ValueError):
        return None
    values = [node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
              and KERNEL_NAME in (ast.unparse(t) for t in node.targets)]
    decides = any(isinstance(node, ast.Attribute) and node.attr in ("sandbox", "warm_kernels")
                  for node in ast.walk(tree))
    if decides or len(values) != 1 or not isinstance(values[0], ast.Constant):
        return None
    return values[0].value if isinstance(values[0].value, str) else None
