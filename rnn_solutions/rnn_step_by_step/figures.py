"""The notebook's three diagrams, drawn with matplotlib and saved as SVG.

    rnn_unrolled.svg       -- the RNN unrolled over T_x time steps
    rnn_cell.svg           -- one RNN cell, forward: h_t = tanh(...), y_t = softmax(...)
    rnn_cell_backward.svg  -- one RNN cell, backward: the gradients of the inputs and parameters

Regenerate them from the repository root with

    python -m rnn_solutions.rnn_step_by_step.figures [OUTDIR]

OUTDIR defaults to source/rnn_step_by_step/images. The files are byte-identical from run
to run (fixed SVG hash salt, no date, text drawn as paths), for a given matplotlib version.
"""

import sys
from pathlib import Path

import matplotlib
import matplotlib.style
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

DEFAULT_OUTDIR = Path(__file__).resolve().parents[2] / "source" / "rnn_step_by_step" / "images"
UNITS_PER_INCH = 2  # drawing coordinates: 1 unit = half an inch

CELL_FACE, CELL_EDGE = "#eaf2fb", "#2b5d8a"
FORWARD, BACKWARD, NOTE = "#333333", "#c0392b", "#666666"
FONT = 13


def box(ax, center, width, height, face="white", edge=CELL_EDGE):
    """Draw a rounded box of the given size around center."""
    x, y = center[0] - width / 2, center[1] - height / 2
    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            width,
            height,
            boxstyle="round,pad=0,rounding_size=0.25",
            facecolor=face,
            edgecolor=edge,
            linewidth=1.5,
        )
    )


def arrow(ax, start, end, color=FORWARD):
    """Draw an arrow from start to end."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=16,
            linewidth=1.6,
            color=color,
            shrinkA=0,
            shrinkB=0,
        )
    )


def label(ax, xy, text, size=FONT, color="black", **kwargs):
    """Write text centred on xy unless kwargs say otherwise."""
    kwargs = {"ha": "center", "va": "center", **kwargs}
    ax.text(*xy, text, fontsize=size, color=color, **kwargs)


def draw_cell_outline(ax):
    """Draw the large box of one RNN cell and its name; it spans x 2.8-11.2, y 1.3-6.5."""
    box(ax, (7, 3.9), 8.4, 5.2, face=CELL_FACE)
    label(ax, (3.1, 6.15), "RNN cell", size=11, color=CELL_EDGE, ha="left", weight="bold")


def draw_rnn_cell(ax):
    """Notebook figure 2: the forward pass of one cell, from x_t and h_{t-1} to h_t and y_t."""
    draw_cell_outline(ax)
    box(ax, (7, 2.8), 7.4, 0.9)
    label(ax, (7, 2.8), r"$h_t = \tanh(W_{hh}\,h_{t-1} + W_{hx}\,x_t + b_h)$")
    box(ax, (7, 5.0), 5.2, 0.9)
    label(ax, (7, 5.0), r"$y_t = \mathrm{softmax}(W_{yh}\,h_t + b_y)$")
    arrow(ax, (7, 0.55), (7, 2.35))
    label(ax, (7, 0.3), r"$x_t$")
    arrow(ax, (0.3, 2.8), (3.3, 2.8))
    label(ax, (1.4, 3.15), r"$h_{t-1}$")
    arrow(ax, (10.7, 2.8), (13.7, 2.8))
    label(ax, (12.5, 3.15), r"$h_t$")
    label(ax, (12.5, 2.45), "to the next cell", size=9, color=NOTE)
    arrow(ax, (7, 3.25), (7, 4.55))
    label(ax, (7.25, 3.9), r"$h_t$", ha="left")
    arrow(ax, (7, 5.45), (7, 7.4))
    label(ax, (7, 7.7), r"$y_t$")


def draw_unrolled_cell(ax, x, t, h_in):
    """Draw the cell of step t centred at x, its input, output and incoming hidden state."""
    box(ax, (x, 3.6), 2.4, 1.4, face=CELL_FACE)
    label(ax, (x, 3.6), "RNN cell", size=11, color=CELL_EDGE, weight="bold")
    arrow(ax, (x, 1.75), (x, 2.9))
    label(ax, (x, 1.4), rf"$x_{{{t}}}$")
    arrow(ax, (x, 4.3), (x, 5.45))
    label(ax, (x, 5.8), rf"$y_{{{t}}}$")
    arrow(ax, (x - 3.0, 3.6), (x - 1.2, 3.6))
    label(ax, (x - 2.1, 3.95), rf"$h_{{{h_in}}}$")


def draw_rnn_unrolled(ax):
    """Notebook figure 1: the cell repeated for t = 1, 2, 3, ..., T_x, sharing its parameters."""
    for x, t, h_in in ((3.2, "1", "0"), (7.4, "2", "1"), (11.6, "3", "2"), (18.0, "T_x", "T_x-1")):
        draw_unrolled_cell(ax, x, t, h_in)
    arrow(ax, (12.8, 3.6), (14.0, 3.6))
    label(ax, (13.4, 3.95), r"$h_3$")
    for y in (1.4, 3.6, 5.8):
        label(ax, (14.5, y), r"$\cdots$")
    label(
        ax,
        (10, 0.45),
        r"Every step uses the same parameters $W_{hh}$, $W_{hx}$, $W_{yh}$, $b_h$ and $b_y$.",
        size=11,
        color=NOTE,
    )


def draw_rnn_cell_backward(ax):
    """Notebook figure 3: the backward pass of one cell, from dh_next to every gradient."""
    draw_cell_outline(ax)
    box(ax, (7, 2.8), 5.4, 0.9)
    label(ax, (7, 2.8), r"$du = dh_{next} \odot (1 - h_t^2)$")
    label(ax, (6.75, 3.5), "backprop through tanh", size=9, color=NOTE, ha="right")
    box(ax, (7, 5.0), 7.0, 1.5)
    label(ax, (3.9, 5.35), r"$dW_{hx} = du\,x_t^T$", ha="left")
    label(ax, (3.9, 4.65), r"$dW_{hh} = du\,h_{t-1}^T$", ha="left")
    label(ax, (7.6, 5.0), r"$db_h = \sum_{\mathrm{batch}}\, du$", ha="left")
    arrow(ax, (7, 3.25), (7, 4.25), color=BACKWARD)
    label(ax, (7.2, 3.75), r"$du$", color=BACKWARD, ha="left")
    arrow(ax, (13.7, 2.8), (10.7, 2.8), color=BACKWARD)
    label(ax, (12.45, 3.15), r"$dh_{next}$", color=BACKWARD)
    label(ax, (12.45, 2.2), "from step t+1\nand from $y_t$", size=9, color=NOTE)
    arrow(ax, (4.3, 2.8), (0.3, 2.8), color=BACKWARD)
    label(ax, (1.5, 3.15), r"$dh_{prev}$", color=BACKWARD)
    label(ax, (1.5, 2.45), r"$= W_{hh}^T\,du$", color=BACKWARD)
    arrow(ax, (7, 2.35), (7, 0.3), color=BACKWARD)
    label(ax, (7.25, 0.75), r"$dx_t = W_{hx}^T\,du$", color=BACKWARD, ha="left")


FIGURES = {
    "rnn_cell.svg": (draw_rnn_cell, (7, 4)),
    "rnn_unrolled.svg": (draw_rnn_unrolled, (10, 3.5)),
    "rnn_cell_backward.svg": (draw_rnn_cell_backward, (7, 4)),
}


def make_figure(draw, size):
    """Return a white figure of size inches whose axes run in half-inch units, drawn by draw."""
    fig = Figure(figsize=size, facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, size[0] * UNITS_PER_INCH)
    ax.set_ylim(0, size[1] * UNITS_PER_INCH)
    ax.set_axis_off()
    draw(ax)
    return fig


def main(outdir=DEFAULT_OUTDIR, figures=None):
    """Write the SVG files of `figures` (default: this notebook's three) into outdir;
    return their paths."""
    outdir, figures = Path(outdir), figures or FIGURES
    outdir.mkdir(parents=True, exist_ok=True)
    rc = {"svg.hashsalt": "rnn-step-by-step", "svg.fonttype": "path"}
    paths = []
    with matplotlib.style.context("default"), matplotlib.rc_context(rc):
        for name, (draw, size) in figures.items():
            path = outdir / name
            make_figure(draw, size).savefig(path, format="svg", metadata={"Date": None})
            paths.append(path)
    return paths


if __name__ == "__main__":
    for written in main(*sys.argv[1:2]):
        print(written)
