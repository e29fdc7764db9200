"""The class report: score histogram, per-exercise mean and pass rate, frequent mistakes.

`write_report(course, assignment)` reads the gradebook and the autograded notebooks,
writes class_report_ASSIGNMENT.csv (a row per student) and class_report_ASSIGNMENT.png,
and returns a short text table for the terminal.
"""

import csv
import os
import re
from collections import Counter
from pathlib import Path

import nbformat

from rnn_solutions.engine import course as course_commands

HINT = re.compile(r"^\s*- (hint: .*|the gradient passed to step \d+ .*|step \d+ should be .*)$")


def mistakes(root, assignment):
    """Counter of (exercise, recognised mistake): each student counted once per mistake."""
    counts = Counter()
    for path in sorted((Path(root) / "autograded").glob(f"*/{assignment}/{assignment}.ipynb")):
        seen = set()
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id", "")
            if not (meta.get("grade") and grade_id.startswith("test_")):
                continue
            for output in cell.get("outputs", []):
                text = output.get("text", "") + "\n" + output.get("evalue", "")
                for line in text.splitlines():
                    found = HINT.match(line)
                    if found:
                        what = re.sub(r"step \d+", "step t", found.group(1))
                        seen.add((course_commands.exercise_of(grade_id), what))
        counts.update(seen)
    return counts


def write_report(root, assignment, top=8):
    """Write class_report_ASSIGNMENT.csv and .png in the course; return the text table."""
    root, name = Path(root), f"class_report_{assignment}"
    scores = course_commands.scores(root, assignment)
    best = course_commands.max_scores(root, assignment)
    names = list(best)
    with open(root / f"{name}.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *names, "total"])
        for student, row in sorted(scores.items()):
            writer.writerow([student, *(row[e] for e in names), sum(row.values())])
    n = max(len(scores), 1)
    means = {e: sum(r[e] for r in scores.values()) / n for e in names}
    passed = {e: sum(r[e] == best[e] for r in scores.values()) / n for e in names}
    common = mistakes(root, assignment).most_common(top)
    _plot(root / f"{name}.png", scores, best, means, passed, common)
    lines = [f"{assignment}: {len(scores)} graded submissions; {name}.png and .csv written",
             f"{'exercise':18s} {'mean':>6s} {'max':>4s} {'full marks':>10s}"]
    lines += [f"{e:18s} {means[e]:6.2f} {best[e]:4g} {passed[e]:10.0%}" for e in names]
    lines.append("most frequent recognised mistakes:")
    lines += [f"{count:4d}  {exercise}: {what}" for (exercise, what), count in common]
    return "\n".join(lines)


def _plot(path, scores, best, means, passed, common):
    """Histogram of totals, per-exercise bars, and the frequent mistakes as text."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7.5), layout="constrained")
    top, middle, bottom = fig.subfigures(3, 1, height_ratios=[1.2, 1.2, 1])
    ax = top.subplots()
    totals = [sum(row.values()) for row in scores.values()]
    ax.hist(totals, bins=range(0, int(sum(best.values())) + 2), color="#4c72b0",
            edgecolor="white", align="left")
    ax.set_xlabel("total points")
    ax.set_ylabel("students")
    ax.set_title(f"Score distribution ({len(totals)} submissions)")
    left, right = middle.subplots(1, 2)
    shared = os.path.commonprefix(list(best)).rpartition("_")[0]  # "rnn" in rnn_forward, ...
    names = [e.removeprefix(f"{shared}_") if shared else e for e in best]
    left.bar(names, [means[e] / best[e] for e in best], color="#55a868")
    left.set_ylim(0, 1)
    left.set_title("mean score (fraction of the points)")
    right.bar(names, [passed[e] for e in best], color="#c44e52")
    right.set_ylim(0, 1)
    right.set_title("pass rate (full marks)")
    text = bottom.subplots()
    text.axis("off")
    text.set_title("Most frequent recognised mistakes", loc="left")
    lines = [f"{count:3d} x  {exercise}: {what[:95]}" for (exercise, what), count in common]
    text.text(0, 1, "\n".join(lines) or "none recognised", va="top", family="monospace",
              fontsize=9)
    fig.savefig(path, dpi=100)
