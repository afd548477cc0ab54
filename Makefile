# Two commands do all the set-up on a fresh machine:
#   make demo   - create .venv if needed, install the project, open the viewer on the demo cohort
#   make test   - same set-up, then lint, the architecture contracts and the whole test suite
# Both are idempotent: the install step reruns only when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test install lint format bench clean-venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip setuptools wheel
	$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/corebt-viewer --demo

lint: install
	$(VENV)/bin/ruff check corebt_viewer tests benchmarks
	$(VENV)/bin/ruff format --check corebt_viewer tests benchmarks
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format corebt_viewer tests benchmarks
	$(VENV)/bin/ruff check --fix corebt_viewer tests benchmarks

test: lint
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) benchmarks/bench_embed.py
	$(PY) benchmarks/bench_viewer.py

clean-venv:
	rm -rf $(VENV)
