# The two commands of the README: `make demo` grades the sample submissions, `make test` tests.
VENV := .venv
PY := $(VENV)/bin/python
# the students' environment: submissions run here, where rnn_solutions is not installed;
# one BLAS thread per kernel (the matrices are tiny, and kernels graded side by side
# would otherwise spin against each other)
KERNEL_VENV := .venv-kernel
# the grading kernel's name, as nbgrader_config.py says
KERNEL := $(shell sed -n 's/^c\.ExecutePreprocessor\.kernel_name = "\(.*\)"$$/\1/p' nbgrader_config.py)
KERNEL_PACKAGES := "numpy>=1.26,<3" "matplotlib>=3.7,<4" "ipykernel>=6.29,<8"

.PHONY: setup release demo test check lint clean bench bench-service

setup: $(VENV)/.installed

# the instructor's environment, and the kernel nbgrader_config.py grades with
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	python3 -m venv $(KERNEL_VENV)
	$(KERNEL_VENV)/bin/python -m pip install --quiet $(KERNEL_PACKAGES)
	$(KERNEL_VENV)/bin/python -m ipykernel install --prefix $(VENV) --name $(KERNEL) \
		--display-name "Python ($(KERNEL))" --env OPENBLAS_NUM_THREADS 1 --frozen_modules
	touch $@

# release/ and submitted/ are made here only, from source/
release: setup
	$(PY) -m rnn_solutions.engine.course release

demo: release
	$(PY) -m rnn_solutions.engine.course grade
	$(VENV)/bin/rnn-grade report rnn_step_by_step
	$(VENV)/bin/rnn-grade report lstm_step_by_step

# sequential nbgrader autograde against rnn-grade with warm and plain kernels (about 20
# minutes; not a test)
bench: setup
	cd tests && ../$(PY) bench.py

# feedback at hand-in time (rnn-grade serve) beside a batch run: latency and a burst of 200
# hand-ins (about 5 minutes; not a test)
bench-service: setup
	cd tests && ../$(PY) bench_service.py

test: setup
	$(PY) -m pytest

# the fast loop: lint, then every test that starts no kernel and no nbgrader process
check: lint
	$(PY) -m pytest -m "not slow"

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf autograded/*/ autograded/.judge autograded/.complete autograded/.recovered autograded/.recovery autograded/autograde.log feedback gradebook.db grades.csv class_report_*
