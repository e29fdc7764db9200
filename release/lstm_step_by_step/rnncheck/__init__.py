"""The checks students run on their own functions, shipped beside each notebook as the
folder `rnncheck/`, the same in every assignment (the notebook's own data: spec.json).

    from rnncheck import gradient_check, plot_gradient_reach, self_check

checker.py is what a student calls; compare.py how an output is compared and explained
(the grader's hidden checks use it too); calls.py how a check calls a function; plots.py
draws the finale plot. Numpy only, and matplotlib for the plot.
"""

from .checker import gradient_check, plot_gradient_reach, self_check

__all__ = ["gradient_check", "plot_gradient_reach", "self_check"]
