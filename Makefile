# Set-up is part of every target: a fresh clone needs only `make run` or `make test`. Each target installs
# what it uses and no more: `make run` the package alone (the main job imports no test, docs or lint tool),
# `make test`, `make docs`, `make lint` and `make check-wheel` add their extra of pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: install install-dev run test test-all test-openenv test-gem lint docs bench check-wheel clean

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

# Two clients that cannot share the test environment, each tested in a venv of its own against the package's
# code (numpy and gymnasium are all seqreward_env needs; the server adds FastAPI, uvicorn, websockets, httpx,
# tyro): OpenEnv 0.10 (its fastmcp needs mcp<2, verifiers 0.4 pins mcp==2.0.0) and GEM (gem-llm 0.1.0 pins
# reasoning-gym==0.1.23, the llm extra has 0.1.25). Their versions are pinned in .ci/constraints-*.txt.
OPENENV_VENV ?= .venv-openenv
GEM_VENV ?= .venv-gem
$(OPENENV_VENV)/.installed: .ci/constraints-openenv.txt
	$(PYTHON) -m venv $(OPENENV_VENV)
	$(OPENENV_VENV)/bin/python -m pip install --quiet -c .ci/constraints-openenv.txt openenv numpy gymnasium pytest fastapi uvicorn websockets httpx tyro
	touch $@

$(GEM_VENV)/.installed: .ci/constraints-gem.txt
	$(PYTHON) -m venv $(GEM_VENV)
	$(GEM_VENV)/bin/python -m pip install --quiet -c .ci/constraints-gem.txt gem-llm numpy gymnasium pytest
	touch $@

test-openenv: $(OPENENV_VENV)/.installed
	PYTHONPATH=$(CURDIR) $(OPENENV_VENV)/bin/python -m pytest -q --noconftest -p no:cacheprovider tests/serve/test_openenv_client.py

test-gem: $(GEM_VENV)/.installed
	PYTHONPATH=$(CURDIR) $(GEM_VENV)/bin/python -m pytest -q --noconftest -p no:cacheprovider tests/serve/test_gem_env.py

lint: $(VENV)/.installed-lint
	$(PY) -m ruff check seqreward_env seqreward_serve seqreward_tasks agents scripts tests
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
	rm -rf $(VENV) $(OPENENV_VENV) $(GEM_VENV) *.egg-info
