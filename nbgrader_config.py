"""nbgrader configuration of the course: this directory is the course directory."""

c = get_config()  # noqa: F821 -- injected by nbgrader when it loads this file

c.CourseDirectory.course_id = "rnn-step-by-step"

# Grade in the project's own environment, whatever kernels the user has installed:
# `make setup` installs this kernelspec into the project's virtual environment.
c.ExecutePreprocessor.kernel_name = "rnn-step-by-step"

# A student cell that runs longer than this is stopped (the whole notebook takes ~2 s).
c.ExecutePreprocessor.timeout = 60
