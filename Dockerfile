# One image for every component of the platform (伊川县政务大数据平台); each Deployment or Job picks the command:
#   uvicorn catalog_svc.main:app --host 0.0.0.0 --port 8080      (likewise sharing_svc, verification_svc, audit_svc, notify_svc)
#   python -m govdata_gateway                                    (GATEWAY_HOST / GATEWAY_PORT)
#   python -m govdata_portal                                     (PORTAL_HOST / PORTAL_PORT; behind the gateway)
#   python -m govdata_shared.migrations catalog_svc              (migration Jobs; reads DATABASE_URL)
# Configuration comes only from environment variables (see deploy/k8s/).
# Build with `make image` (docker, podman or buildah; deploy/k8s/README.md "Image"). No `# syntax=` line: the
# builder's own Dockerfile frontend is used, so an air-gapped build pulls no frontend image from Docker Hub.

# The base image, pinned by digest for a release: the site's mirror of python:3.11-slim, e.g.
#   make image BASE_IMAGE=registry.example.gov.cn/library/python:3.11-slim@sha256:<digest of the mirrored image>
# (deploy/k8s/README.md "Image" says how to read the digest). The default is only for a developer's machine.
ARG BASE_IMAGE=python:3.11-slim

# --- build: resolve nothing, install exactly what uv.lock pins ------------------------------------------------
FROM ${BASE_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

RUN pip install uv==0.13.8

WORKDIR /app

# Third-party dependencies first: this layer is reused while only the platform's own code changes.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY gateway/pyproject.toml gateway/
COPY portal/pyproject.toml portal/
COPY services/catalog-svc/pyproject.toml services/catalog-svc/
COPY services/sharing-svc/pyproject.toml services/sharing-svc/
COPY services/verification-svc/pyproject.toml services/verification-svc/
COPY services/audit-svc/pyproject.toml services/audit-svc/
COPY services/notify-svc/pyproject.toml services/notify-svc/
# The development package (broker, test plugin) is a workspace member; --no-dev leaves it out of the image.
COPY deploy/local/pyproject.toml deploy/local/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace

# Then the workspace packages, installed as wheels (not editable) so the runtime stage needs only the venv.
COPY shared/ shared/
COPY gateway/ gateway/
COPY portal/ portal/
COPY services/ services/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# --- runtime: the interpreter and the venv, nothing else -----------------------------------------------------
FROM ${BASE_IMAGE} AS runtime

# Read-only root filesystem: no bytecode writes, HOME and the data dir on /tmp (an emptyDir in Kubernetes).
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    GOVDATA_DATA_DIR=/tmp/govdata

RUN groupadd --system --gid 10001 govdata \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin govdata

# Owned by root: the application user can read and run the code but not change it.
COPY --from=build /app/.venv /app/.venv

WORKDIR /app
USER 10001:10001
EXPOSE 8080

# Deployments override this; the default is the gateway (it listens where GATEWAY_HOST/GATEWAY_PORT say).
CMD ["python", "-m", "govdata_gateway"]

# OCI annotations of the release, last so that a new revision reuses every layer above (`make image` passes
# VERSION, REVISION, SOURCE and LICENSES).
ARG BASE_IMAGE
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=https://git.example.gov.cn/govdata/platform
ARG LICENSES=LicenseRef-proprietary
LABEL org.opencontainers.image.title="govdata-platform" \
      org.opencontainers.image.description="伊川县政务大数据平台 — services, gateway and portal of the Yichuan county government data-sharing platform" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="伊川县" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
