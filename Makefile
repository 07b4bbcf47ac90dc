# Set-up is part of every target: a fresh clone needs only `make run` or `make test`. Each target installs
# what it uses and no more: `make run` the package alone (the main job imports no test, docs or lint tool),
# `make test`, `make docs`, `make lint` and `make check-wheel` add their extra of pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: install install-dev run test test-all lint docs bench check-wheel clean

# The package (editable) with the tested versions of its dependencies, torch pinned.
$(VENV)/.installed: pyproject.toml constraints.txt seqreward_env/_version.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e .
	touch $@

# One extra of pyproject.toml on top of the package (the stem: test, docs, lint, release or dev).
$(VENV)/.installed-%: $(VENV)/.installed
	$(PY) -m pip install --quiet -c constraints.txt -e ".[$*]"
	touch $@

install: $(VENV)/.installed

# Every tool a contributor uses (the union of the extras).
install-dev: $(VENV)/.installed-dev

# The main job: the paper's Figure 1 on the paper's own task, over several PG seeds (ARGS="--quick" for a
# small setting). The full run's figure and numbers are also copied to docs/, where the README shows them.
# With ARGS the script picks a run folder of its own for those settings (it prints it).
RUN_DIR ?= runs/figure1/paper
run: install
	@if [ -z "$(ARGS)" ]; then $(PY) -m scripts.figure1 --run-dir $(RUN_DIR) \
		&& cp $(RUN_DIR)/figure1.png docs/figure1.png && cp $(RUN_DIR)/figure1_summary.json docs/figure1_summary.json \
		&& echo "copied the figure and its numbers to docs/figure1.png and docs/figure1_summary.json"; \
	else $(PY) -m scripts.figure1 $(ARGS); fi

# The test suite without the long learning runs (marked slow); `make test-all` runs them too.
test: $(VENV)/.installed-test
	$(PY) -m pytest -q -n 2 -m "not slow" $(ARGS)

test-all: $(VENV)/.installed-test
	$(PY) -m pytest -q -n 2 $(ARGS)

lint: $(VENV)/.installed-lint
	$(PY) -m ruff check seqreward_env agents scripts tests
	$(PY) -m mypy

# The documentation site (MkDocs, Material, mkdocstrings) into site/; warnings fail the build.
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

bench: install
	$(PY) -m scripts.bench_env

# The wheel as users get it: build, twine check, install in a fresh venv, smoke checks outside the checkout.
check-wheel: $(VENV)/.installed-release
	PY=$(PY) PYTHON=$(PYTHON) bash scripts/check_wheel.sh

clean:
	rm -rf $(VENV) *.egg-info
