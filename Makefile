# Every target works in a fresh clone: `install` creates .venv and installs the pinned project.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST := $(PY) -m pytest

CONFIG ?= configs/tmaze-1000.yaml
CLUSTER ?= cluster.yaml
# `make dashboard` forwards the head's dashboard here; jobs are submitted through it.
DASHBOARD_PORT ?= 8265
RAY_ADDRESS ?= http://127.0.0.1:$(DASHBOARD_PORT)
# The interpreter the cluster yamls install on every node; jobs run it by name.
CLUSTER_PYTHON ?= ~/memup-rl/.venv/bin/python
RUN_NAME ?= $(notdir $(basename $(CONFIG)))-$(shell date +%Y%m%d-%H%M%S)

.PHONY: install test test-slow test-cluster bench clean train train-distributed cluster-up \
	cluster-down dashboard

install: $(STAMP)

# Re-installs only when the dependency pins change; the project itself is installed editable.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,envs]"
	@touch $(STAMP)

# Unit + component + integration tiers: what CI runs.
test: install
	$(PYTEST) tests/unit tests/component tests/integration

# Learning tests: minutes each, not part of CI.
test-slow: install
	$(PYTEST) tests/learning

# The real `ray up` on three hosts emulated with network namespaces (root; skips otherwise).
# As root on Debian it installs what the emulated hosts run (sshd, ssh, rsync) and the browser
# that looks at the dashboard (chromium and its driver).
CLUSTER_TEST_PACKAGES := openssh-server openssh-client rsync chromium chromium-driver
test-cluster: install
	@test -x /usr/sbin/sshd && command -v rsync chromedriver >/dev/null || { \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CLUSTER_TEST_PACKAGES) >/dev/null; \
	  } || true
	$(PYTEST) tests/cluster

# Benchmarks: prints figures and records them under bench/results/.
bench: install
	$(PY) bench/run_all.py

# Every phase on this machine: embedded Redis, local Ray with its dashboard, run dir in runs/.
train: install
	$(PY) -m app.cli train --config $(CONFIG) --run-dir runs/$(RUN_NAME) $(ARGS)

# The same pipeline as a Ray Job on the cluster of CLUSTER, through `make dashboard`'s port.
# It checks the head's store first; the job reads the store's URL on the head.
train-distributed: install
	$(PY) -m app.submit --cluster '$(CLUSTER)' --address $(RAY_ADDRESS) \
	  --python '$(CLUSTER_PYTHON)' --config $(CONFIG) --run-name $(RUN_NAME) -- $(ARGS)

# Token authentication stays on: the token made here is copied to every node (file_mounts).
# `ray up` opens every file under the file mounts, so a runs/latest left pointing at a deleted
# run dir would end it: --prepare-mounts removes such links first.
cluster-up: install
	@$(PY) -m app.submit --prepare-mounts '$(CLUSTER)'
	@RAY_AUTH_MODE=token $(VENV)/bin/ray get-auth-token --generate > /dev/null
	$(VENV)/bin/ray up -y $(CLUSTER)

cluster-down: install
	$(VENV)/bin/ray down -y $(CLUSTER)

# Forwards the head's dashboard to http://127.0.0.1:$(DASHBOARD_PORT) (keep it running in its own
# terminal); `ray get-auth-token` prints the token its login page asks for.
dashboard: install
	$(VENV)/bin/ray dashboard -p $(DASHBOARD_PORT) $(CLUSTER)

clean:
	rm -rf $(VENV) .pytest_cache
