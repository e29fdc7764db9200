"""The LSTM notebook's diagram, drawn like the RNN's (`rnn_step_by_step/figures.py`).

    lstm_cell.svg  -- one LSTM cell: the gates, the cell state's path, h_t

Regenerate it from the repository root with

    python -m rnn_solutions.lstm_step_by_step.figures [OUTDIR]

OUTDIR defaults to source/lstm_step_by_step/images.
"""

import sys
from pathlib import Path

from rnn_solutions.rnn_step_by_step.figures import (
    BACKWARD,
    CELL_EDGE,
    CELL_FACE,
    NOTE,
    arrow,
    box,
    label,
    main,
)

DEFAULT_OUTDIR = Path(__file__).resolve().parents[2] / "source" / "lstm_step_by_step" / "images"
CELL_STATE = BACKWARD  # the cell state's path stands out in red


def node(ax, xy, text):
    """A small white box holding an elementwise operation."""
    box(ax, xy, 0.8, 0.8)
    label(ax, xy, text)


def draw_lstm_cell(ax):
    """The forward pass of one LSTM cell, from x_t, h_{t-1}, c_{t-1} to h_t, c_t and y_t."""
    box(ax, (8, 5.1), 13.4, 8.0, face=CELL_FACE)
    label(ax, (1.6, 8.7), "LSTM cell", size=11, color=CELL_EDGE, ha="left", weight="bold")
    # the cell state: forgotten in part, then added to
    arrow(ax, (0.2, 7.6), (4.1, 7.6), color=CELL_STATE)
    label(ax, (0.9, 7.95), r"$c_{t-1}$", color=CELL_STATE)
    node(ax, (4.5, 7.6), r"$\times$")
    arrow(ax, (4.9, 7.6), (8.1, 7.6), color=CELL_STATE)
    node(ax, (8.5, 7.6), r"$+$")
    arrow(ax, (8.9, 7.6), (15.8, 7.6), color=CELL_STATE)
    label(ax, (15.1, 7.95), r"$c_t$", color=CELL_STATE)
    # the four gates read [h_{t-1}; x_t]
    arrow(ax, (0.2, 1.9), (13.0, 1.9))
    label(ax, (0.9, 2.25), r"$h_{t-1}$")
    arrow(ax, (2.6, 0.2), (2.6, 1.9))
    label(ax, (3.0, 0.45), r"$x_t$", ha="left")
    label(ax, (3.1, 1.55), r"$[h_{t-1};\,x_t]$", size=10, color=NOTE, ha="left")
    for x, act, gate in ((4.5, r"$\sigma$", r"$f_t$"), (7.3, r"$\sigma$", r"$i_t$"),
                         (9.7, r"$\tanh$", r"$\tilde c_t$"), (12.1, r"$\sigma$", r"$o_t$")):
        arrow(ax, (x, 1.9), (x, 3.1))
        box(ax, (x, 3.5), 1.3, 0.8, face="white")
        label(ax, (x, 3.5), act)
        label(ax, (x - 0.75, 4.35), gate, ha="right")
    arrow(ax, (4.5, 3.9), (4.5, 7.2))
    node(ax, (8.5, 5.6), r"$\times$")
    arrow(ax, (7.3, 3.9), (8.2, 5.25))
    arrow(ax, (9.7, 3.9), (8.8, 5.25))
    arrow(ax, (8.5, 6.0), (8.5, 7.2))
    # the output: the squashed cell state, through the output gate
    arrow(ax, (13.6, 7.6), (13.6, 6.85), color=CELL_STATE)
    box(ax, (13.6, 6.45), 1.3, 0.8, face="white")
    label(ax, (13.6, 6.45), r"$\tanh$")
    node(ax, (13.6, 5.0), r"$\times$")
    arrow(ax, (13.6, 6.05), (13.6, 5.4))
    arrow(ax, (12.1, 3.9), (13.3, 4.7))
    arrow(ax, (14.0, 5.0), (15.8, 5.0))
    label(ax, (15.1, 5.35), r"$h_t$")
    label(ax, (11.0, 9.55), r"$y_t = \mathrm{softmax}(W_y\,h_t + b_y)$", size=11, color=NOTE)


FIGURES = {"lstm_cell.svg": (draw_lstm_cell, (8, 5))}


if __name__ == "__main__":
    for written in main(*(sys.argv[1:2] or [DEFAULT_OUTDIR]), figures=FIGURES):
        print(written)
