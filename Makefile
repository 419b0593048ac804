# 伊川县政务大数据平台 — the two commands: `make run` and `make test`.
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
PY := .venv/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv

.PHONY: install compiled run test test-fast lint format broker migrate clean browser image

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

# The one image of every component (Dockerfile), built with whichever OCI builder the machine has. Release:
#   make image REGISTRY=<the county's registry> BASE_IMAGE=<mirrored python:3.11-slim>@sha256:<digest>
# then push $(IMAGE) and set the overlay's images: newTag to VERSION (deploy/k8s/README.md "Image").
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)
REVISION ?= $(shell git rev-parse HEAD 2> /dev/null || echo unknown)
REGISTRY ?= registry.example.gov.cn
IMAGE ?= $(REGISTRY)/govdata/platform:$(VERSION)
BASE_IMAGE ?= python:3.11-slim
SOURCE ?= https://git.example.gov.cn/govdata/platform
LICENSES ?= LicenseRef-proprietary
OCI_BUILDER ?= $(firstword $(foreach b,docker podman buildah,$(if $(shell command -v $(b) 2> /dev/null),$(b))))
IMAGE_ARGS = --file Dockerfile --tag $(IMAGE) --build-arg BASE_IMAGE=$(BASE_IMAGE) --build-arg VERSION=$(VERSION) \
	--build-arg REVISION=$(REVISION) --build-arg SOURCE=$(SOURCE) --build-arg LICENSES=$(LICENSES)

image:  ## build the platform's image with docker, podman or buildah (IMAGE, BASE_IMAGE@sha256:…, VERSION, REVISION)
	@if [ -z "$(OCI_BUILDER)" ]; then \
		echo "make image: no OCI builder found (docker, podman or buildah); install one, or name it: make image OCI_BUILDER=<command>" >&2; \
		exit 1; \
	fi
	@case "$(BASE_IMAGE)" in *@sha256:*) ;; *) \
		if [ "$(UNPINNED_BASE)" != 1 ]; then \
			echo "make image: BASE_IMAGE=$(BASE_IMAGE) is not pinned by digest; name the mirrored base image as <name>@sha256:<digest> (deploy/k8s/README.md \"Image\"), or, for a developer's image that is never released, make image UNPINNED_BASE=1" >&2; \
			exit 1; \
		fi; \
		echo "make image: building on the unpinned base $(BASE_IMAGE) (UNPINNED_BASE=1): not for a release" >&2;; \
	esac
	$(OCI_BUILDER) build $(IMAGE_ARGS) .

clean:
	rm -rf .venv .tools .data .pytest_cache .ruff_cache
