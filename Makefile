# Every target works in a fresh clone: `install` creates .venv and installs the pinned project.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST := $(PY) -m pytest

.PHONY: install test test-slow bench clean

install: $(STAMP)

# Re-installs only when the dependency pins change; the project itself is installed editable.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	@touch $(STAMP)

# Unit + component + integration tiers: what CI runs.
test: install
	$(PYTEST) tests/unit tests/component tests/integration

# Learning tests: minutes each, not part of CI.
test-slow: install
	$(PYTEST) tests/learning

# Benchmarks: prints figures and records them under bench/results/.
bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache
