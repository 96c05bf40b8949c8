# Every target works in a fresh clone: `install` creates .venv and installs the pinned project.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST := $(PY) -m pytest

CONFIG ?= configs/tmaze-1000.yaml
CLUSTER ?= cluster.yaml
RAY_ADDRESS ?= http://127.0.0.1:8265
RUN_NAME ?= $(notdir $(basename $(CONFIG)))-$(shell date +%Y%m%d-%H%M%S)
# On a cluster head, `memup serve-redis` leaves the store's URL here (see cluster.yaml).
HEAD_REDIS_URL_FILE := $$HOME/memup-redis/url

.PHONY: install test test-slow bench clean train train-distributed cluster-up cluster-down dashboard

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

# Every phase on this machine: embedded Redis, local Ray with its dashboard, run dir in runs/.
train: install
	$(PY) -m learner.cli train --config $(CONFIG) --run-dir runs/$(RUN_NAME) $(ARGS)

# The same pipeline as a Ray Job on the cluster of RAY_ADDRESS (`make dashboard` forwards it).
train-distributed: install
	$(VENV)/bin/ray job submit --address $(RAY_ADDRESS) --working-dir . \
	  --runtime-env-json '{"excludes": [".venv", "runs", ".git", ".pytest_cache", ".hypothesis"]}' \
	  -- bash -c 'if [ -f $(HEAD_REDIS_URL_FILE) ]; then export MEMUP_REDIS_URL=$$(cat $(HEAD_REDIS_URL_FILE)); fi; \
	  python -m learner.cli train --config $(CONFIG) --run-dir $$HOME/memup-runs/$(RUN_NAME) $(ARGS)'

cluster-up: install
	$(VENV)/bin/ray up -y $(CLUSTER)

cluster-down: install
	$(VENV)/bin/ray down -y $(CLUSTER)

# Forwards the head's dashboard to http://127.0.0.1:8265 (keep it running in its own terminal).
dashboard: install
	$(VENV)/bin/ray dashboard $(CLUSTER)

clean:
	rm -rf $(VENV) .pytest_cache
