"""rnn-grade's entry point: the warm kernels' fork server starts first, then the grader loads.

Loading the class grader (nbgrader, nbconvert, SQLAlchemy) takes most of a second of one
core, and starting the fork server (sandbox.py) as long on another. Started first, the
server is ready when the grader is, and the workers grade at once (measured on 40 LSTM
submissions: first kernels at 1.4 s instead of 2.2 s). The server is started for the
kernel nbgrader_config.py names in a plain assignment, read without running the file
(running it loads nbgrader). Once the file has run, the grader asks for the server of
the kernel it really names: this one, or another (this one is then closed).
"""

import argparse
import ast
from pathlib import Path

KERNEL_NAME = "c.ExecutePreprocessor.kernel_name"


def main(argv=None):
    """Command-line entry point of rnn-grade (classgrader.py runs the command)."""
    args = parser().parse_args(argv)
    early = early_server(args)
    from rnn_solutions.engine import classgrader

    classgrader.run(args, early)


def parser():
    """rnn-grade's commands and options."""
    parser = argparse.ArgumentParser(prog="rnn-grade", description="Grade a whole class in "
                                     "parallel, and report on it.")
    sub = parser.add_subparsers(dest="command", required=True)
    grade = sub.add_parser("autograde", help="autograde every submission in parallel")
    grade.add_argument("assignment")
    grade.add_argument("--jobs", type=int, help="worker processes (default: twice the cores)")
    grade.add_argument("--force", action="store_true", help="regrade graded students too")
    grade.add_argument("--course", default=".", help="nbgrader course directory")
    grade.add_argument("--dask", metavar="SCHEDULER", help='run on Dask: "local" for a '
                       "LocalCluster of --jobs workers, or a scheduler's address")
    grade.add_argument("--plain-kernels", action="store_true", help="start every kernel "
                       "fresh instead of forking it warm (slower; for comparison)")
    report = sub.add_parser("report", help="class report: PNG, CSV and a terminal table")
    report.add_argument("assignment")
    report.add_argument("--course", default=".", help="nbgrader course directory")
    export = sub.add_parser("export", help="grades as Canvas's or Moodle's gradebook "
                            "import reads them (lms.py)")
    export.add_argument("lms", choices=["canvas", "moodle"])
    export.add_argument("--roster", help="CSV mapping nbgrader's student_id to the LMS's "
                        "ids (canvas_id, sis_user_id, sis_login_id, username, ...)")
    export.add_argument("--exercises", action="store_true", help="a column per exercise too")
    export.add_argument("--to", help="file to write (default: grades_LMS.csv)")
    export.add_argument("--course", default=".", help="nbgrader course directory")
    collect = sub.add_parser("collect", help="hand-ins from a Canvas or Moodle download "
                             "into submitted/ (collect.py)")
    collect.add_argument("lms", choices=["canvas", "moodle"])
    collect.add_argument("assignment")
    collect.add_argument("zip", help="the LMS's download of every submission")
    collect.add_argument("--roster", required=True, help="CSV mapping nbgrader's student_id "
                         "to the LMS's ids (canvas_id; moodle_id or name)")
    collect.add_argument("--course", default=".", help="nbgrader course directory")
    serve = sub.add_parser("serve", help="grade each hand-in as it arrives in nbgrader's "
                           "exchange and release its feedback (service.py)")
    serve.add_argument("--course", default=".", help="nbgrader course directory")
    serve.add_argument("--jobs", type=int, help="worker processes (default: "
                       "c.GradingService.jobs)")
    serve.add_argument("--once", action="store_true", help="stop when no hand-in is left")
    gradescope = sub.add_parser("gradescope", help="an assignment's autograder zip for "
                                "Gradescope (gradescope.py)")
    gradescope.add_argument("assignment")
    gradescope.add_argument("--to", help="file to write (default: autograder_ASSIGNMENT.zip)")
    gradescope.add_argument("--course", default=".", help="nbgrader course directory")
    return parser


def early_server(args):
    """The fork server of the kernel `rnn-grade autograde` will grade with, starting; None
    where the grader starts none (plain kernels, Dask) or the configuration does not say
    plainly which kernel, or whether to sandbox and fork kernels."""
    if args.command != "autograde" or args.dask or args.plain_kernels:
        return None
    name = configured_kernel(Path(args.course) / "nbgrader_config.py")
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
