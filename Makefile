# Set-up is part of every target: a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: install run test test-all lint docs bench check-wheel clean

$(VENV)/.installed: pyproject.toml constraints.txt seqreward_env/_version.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The main job: the paper's Figure 1 on the paper's own task, over several PG seeds (ARGS="--quick" for a
# small setting). The full run's figure and numbers are also copied to docs/, where the README shows them.
# With ARGS the script picks a run folder of its own for those settings (it prints it).
RUN_DIR ?= runs/figure1/paper
run: install
	@if [ -z "$(ARGS)" ]; then $(PY) scripts/figure1.py --run-dir $(RUN_DIR) \
		&& cp $(RUN_DIR)/figure1.png docs/figure1.png && cp $(RUN_DIR)/figure1_summary.json docs/figure1_summary.json \
		&& echo "copied the figure and its numbers to docs/figure1.png and docs/figure1_summary.json"; \
	else $(PY) scripts/figure1.py $(ARGS); fi

# The test suite without the long learning runs (marked slow); `make test-all` runs them too.
test: install
	$(PY) -m pytest -q -n 2 -m "not slow" $(ARGS)

test-all: install
	$(PY) -m pytest -q -n 2 $(ARGS)

lint: install
	$(PY) -m ruff check seqreward_env agents scripts tests
	$(PY) -m mypy

# The documentation site (MkDocs, Material, mkdocstrings) into site/; warnings fail the build.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

bench: install
	$(PY) scripts/bench_env.py

# The wheel as users get it: build, twine check, install in a fresh venv, smoke checks outside the checkout.
check-wheel: install
	PY=$(PY) PYTHON=$(PYTHON) bash scripts/check_wheel.sh

clean:
	rm -rf $(VENV) *.egg-info
