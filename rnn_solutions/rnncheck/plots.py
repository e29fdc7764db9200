"""The assignments' finale plot: gradient norms against the time step, on a log scale.

Matplotlib is imported only when a plot is drawn. `checker.plot_gradient_reach` computes
the curves and calls `plot_through_time`.
"""

import io
import math


def plot_through_time(curves, title):
    """Plot each (label, norms) curve against the time step on a log scale, show it, and
    return the (closed) figure.

    curves -- [(label, norms)], norms of shape (T_x,): the gradient reaching each step
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullLocator

    fig, ax = plt.subplots(figsize=(7, 4))
    # fixed margins that fit the labels: no tight bounding box to draw the figure for
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.12, top=0.92)
    for label, norms in curves:
        ax.semilogy(range(len(norms)), norms, label=label)
    ax.set_xlabel("time step t (the loss is on the last step)")
    ax.set_ylabel("norm of the gradient reaching step t")
    ax.set_title(title)
    ax.legend()
    ax.grid(True, alpha=0.3)
    # decades labelled in plain text (10⁻⁵): matplotlib's $10^{-5}$ goes through its
    # mathtext parser, a twentieth of a second in every fresh kernel; no minor ticks
    # between decades (each is a tick object of five artists: as much again)
    ax.yaxis.set_major_formatter(FuncFormatter(decade))
    ax.yaxis.set_minor_locator(NullLocator())
    show(fig)
    return fig


def decade(y, _position=None):
    """The label of the tick at y = 10^k: '10' and k in superscript digits."""
    return "10" + str(round(math.log10(y))).translate(SUPERSCRIPTS)


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def show(fig):
    """Show fig in the notebook drawn once, as a PNG, and close it.

    IPython's inline backend draws every figure twice (once to find its tight bounding
    box): for the finale plot, more CPU than all the notebook's checks. Outside the
    inline backend, matplotlib's own show.
    """
    import matplotlib.pyplot as plt

    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None or "inline" not in plt.get_backend():
        plt.show()
        return
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    display(Image(png.getvalue(), format="png"))
