# The two commands of the README: `make demo` grades the sample submissions, `make test` tests.
VENV := .venv
PY := $(VENV)/bin/python
KERNEL := rnn-step-by-step

.PHONY: setup release demo test lint clean

setup: $(VENV)/.installed

# the project's environment, and the kernel nbgrader_config.py grades with
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))"
	touch $@

# release/ and submitted/ are made here only, from source/
release: setup
	$(PY) -m rnn_solutions.course release

demo: release
	$(PY) -m rnn_solutions.course grade

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf autograded/*/ feedback gradebook.db grades.csv
