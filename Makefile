# 伊川县政务大数据平台 — the two commands: `make run` and `make test`.
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
PY := .venv/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv

.PHONY: install compiled run test test-fast lint format broker migrate clean browser

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# Bytecode is compiled here once: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every process would
# otherwise compile its imports from source again, seconds per process.
SOURCES := shared gateway portal services deploy/local

.venv/.synced: $(UV) uv.lock pyproject.toml */pyproject.toml services/*/pyproject.toml deploy/local/pyproject.toml
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

compiled: .venv/.synced
	@$(PY) -m compileall -q -j 0 $(SOURCES) > /dev/null

install: compiled  ## create or update the pinned environment

run: install  ## start broker, services, gateway and portal on SQLite; Ctrl-C stops
	$(PY) -m govdata_local.run

# The browser tests drive the machine's Chromium (Playwright's own browser downloads are never used) and need a
# Chinese font to render the pages; Debian's packages, installed only when missing.
browser:  ## Chromium and fonts-noto-cjk for the browser tests, when missing
	@if ! command -v chromium > /dev/null || ! dpkg-query -W -f '$${Status}' fonts-noto-cjk 2> /dev/null | grep -q "ok installed"; then \
		echo "make browser: installing Debian's chromium and fonts-noto-cjk"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	fi

test: install browser  ## every test: unit, integration (real Postgres + broker), contract, end-to-end, browser
	$(PY) tests/run_all.py $(PYTEST_ARGS)

test-fast: install  ## unit and contract tests only: no database, no broker, seconds
	$(PY) -m pytest -q -m "unit or contract" $(wildcard */tests/unit services/*/tests/unit) tests/unit tests/contract $(PYTEST_ARGS)

lint: install
	.venv/bin/ruff check .

format: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

broker: install  ## just the local Kafka-protocol broker on 127.0.0.1:9092
	$(PY) -m govdata_local.broker --port 9092

migrate: install  ## apply every service's migrations to DATABASE_URL-style settings
	for s in catalog sharing verification audit notify; do SERVICE_NAME=$$s $(PY) -m govdata_shared.migrations $${s}_svc || exit 1; done

clean:
	rm -rf .venv .tools .data .pytest_cache .ruff_cache
