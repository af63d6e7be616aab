# mqlab: two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# While changing code: `make check` (lint and the tests that need no broker, under a minute).
# The interpreter .venv is made with (PYTHON=... picks another): the distribution's
# /usr/bin/python3 when it is 3.10 or newer and can make a venv, else python3 on PATH.
# Debian and Ubuntu build theirs with PGO and LTO, pyenv by default does not: about a fifth
# less CPU for each of the app, worker and sink processes a run starts, and for the tests
# (bench/README.md, "The interpreter").
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell /usr/bin/python3 -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1 && echo /usr/bin/python3 || echo python3)
endif
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Parallel test processes (pytest-xdist). The tests mostly wait on real processes, so more
# workers than cores pay. `--dist loadfile` keeps each file in one worker, so a file's
# module-scoped private RabbitMQ node starts once. (Not loadgroup: with pytest 9.2 and
# xdist 3.8 its groups are silently ignored.) The files go out in collection order, the
# longest first (tests/conftest.py), not xdist's most-tests-first. JOBS=0: one process.
# 6 rather than 5: 88.6-95.5 s against 93.9-102.7 s in four interleaved pairs on 2 cores that
# the suite kept two-thirds busy (2026-11-30); on a slower VM that it kept busy, no difference.
JOBS       ?= 6
CHECK_JOBS ?= 4
# The tests write bytecode (the gitignored __pycache__) even where the shell says not to
# (PYTHONDONTWRITEBYTECODE): each test process and each of the ~280 app, worker and sink
# children would otherwise compile mqlab again, about 20 s of CPU in a make test.
BYTECODE   := PYTHONDONTWRITEBYTECODE=
# $(call install,EXTRAS): mqlab and its EXTRAS into .venv. With uv a fresh .venv took 6-7 s
# instead of pip's 14-22 s on the 2-core VM. The venv is made without pip and the
# interpreter's own pip puts uv into it (`pip --python`, pip 22.3 and newer); uv then
# installs pip with the rest: 7.0 s in all against 10.0 s with the venv's ensurepip first
# (2026-11-30). Where uv cannot be had or fails (no PyPI, say: uv does not read pip's
# settings), the venv's own pip does it as before. Compiled to bytecode at once, as pip
# does: else the six test processes, starting together, each compile the same libraries.
comma := ,
install = { { [ -x $(BIN)/uv ] || $(PYTHON) -m pip --python $(BIN)/python install --quiet uv; } && \
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[$(1)]' pip; } || \
	{ echo "uv could not install: pip does"; { [ -x $(BIN)/pip ] || $(BIN)/python -m ensurepip --upgrade --default-pip; } && \
	$(BIN)/pip install --quiet --upgrade pip && $(BIN)/pip install --quiet -e '.[$(1)]'; }
# make check must need no broker: a test that reaches for one without the `broker` mark
# finds a dead URL here and fails, instead of quietly using the machine's RabbitMQ.
NO_BROKER  := amqp://guest:guest@127.0.0.1:1/%2F
# make demo's comparison: the defaults but 150 signups (3 s of load), so the demo, charts
# included, stays within its minute; its crash row: small, but big enough to lose jobs
DEMO_COMPARE := --requests 150
DEMO_CRASH := --requests 40 --rate 40 --scan-ms 100 --workers 2

.PHONY: demo check test setup rabbitmq streams chromium lint bench clean

demo: setup rabbitmq ## the class comparison, then what an app crash loses, with charts
	$(BIN)/mqlab compare $(DEMO_COMPARE)
	$(BIN)/mqlab chart --latest
	$(BIN)/mqlab crash-test --modes thread,broker --faults app-kill $(DEMO_CRASH)
	$(BIN)/mqlab chart --latest

check: lint streams chromium ## the fast inner loop: ruff, mypy and every test that needs no broker
	$(BYTECODE) MQLAB_AMQP_URL='$(NO_BROKER)' MQLAB_HOSTILE_EXAMPLES=300 \
		$(BIN)/pytest -m "not broker" -n $(CHECK_JOBS) --dist loadfile --no-loadscope-reorder

test: setup rabbitmq streams chromium ## the test suite, against real processes and a real RabbitMQ
	$(BYTECODE) $(BIN)/pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "mqlab needs Python 3.10 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv --without-pip $(VENV)
	$(call install,dev)
	@touch $(STAMP)

# A broker for broker mode and its tests: the one already running on 5672 if there is one;
# otherwise mqlab starts a private node with rabbitmq-server, installed here when missing
# (Debian/Ubuntu, as root). Crash tests always need rabbitmq-server: they kill only a node
# of mqlab's own, never the running one.
rabbitmq:
	@if command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ]; then \
		echo "rabbitmq-server: $$(command -v rabbitmq-server || echo /usr/sbin/rabbitmq-server)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing rabbitmq-server (Debian package)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null; \
	else \
		echo "rabbitmq-server is not installed and this is not a root Debian shell:"; \
		echo "  install it (sudo apt-get install rabbitmq-server), or run 'docker compose up -d',"; \
		echo "  or point MQLAB_AMQP_URL at a RabbitMQ you have."; \
	fi
	@$(BIN)/mqlab broker status

# Redis and NATS for the broker lesson on Redis Streams and NATS JetStream (--broker redis|nats):
# Debian's redis-server and nats-server, installed here when missing (as root). mqlab never
# uses the ones the machine may run: its runs and tests start private servers on free ports.
streams:
	@for pkg in redis-server nats-server; do \
		if command -v $$pkg >/dev/null 2>&1 || [ -x /usr/sbin/$$pkg ] || [ -x /usr/bin/$$pkg ]; then \
			echo "$$pkg: $$(command -v $$pkg || ls /usr/sbin/$$pkg /usr/bin/$$pkg 2>/dev/null | head -1)"; \
		elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing $$pkg (Debian package)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$pkg >/dev/null; \
		else \
			echo "$$pkg is not installed and this is not a root Debian shell:"; \
			echo "  install it (sudo apt-get install $$pkg) for --broker redis|nats and their tests."; \
		fi; \
	done

# A browser for the signup page's tests (tests/test_page.py drives it with Playwright):
# Debian's chromium at /usr/bin/chromium, installed here when missing (as root), never
# Playwright's own download. Without it those tests fail and say so.
chromium:
	@if [ -x /usr/bin/chromium ]; then \
		echo "chromium: /usr/bin/chromium"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium (Debian package)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else \
		echo "chromium is not installed and this is not a root Debian shell:"; \
		echo "  install it (sudo apt-get install chromium) for tests/test_page.py,"; \
		echo "  or point MQLAB_CHROMIUM at a Chromium or Chrome binary."; \
	fi

lint: setup
	$(BIN)/ruff check mqlab scenarios tests bench
	$(BIN)/ruff format --check mqlab scenarios tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports  # the folders' layers: each imports only those below it (pyproject.toml)

bench: setup rabbitmq ## fidelity, capacity and the Celery peer: ratios against their targets
	$(call install,dev$(comma)bench)
	$(BIN)/mqlab bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
