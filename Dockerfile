# syntax=docker/dockerfile:1
# Switchboard's images, one per role, each with only its role's dependencies, as uv.lock pins them:
#   ingress     the webhooks and the API                  docker build --target ingress .
#   worker      the worker, and the one-shot commands     docker build --target worker .
#               (`docker compose run --rm worker switchboard migrate`, `… reprocess`, `… replay-check`)
#   dashboards  the Streamlit dashboards                  docker build --target dashboards .
# The base image is pinned by exact version. Where the registry can be reached, pin its digest
# too: --build-arg PYTHON_IMAGE=python:3.11.15-slim-bookworm@sha256:… (docs/installing.md).
ARG PYTHON_IMAGE=python:3.11.15-slim-bookworm

# uv, from the package registry, at the version the Makefile bootstraps.
FROM ${PYTHON_IMAGE} AS uv
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check uv==${UV_VERSION}
# Bytecode at install (Temporal's sandbox re-imports workflow modules: no compiling per run);
# the image's Python, never a downloaded one; copies, since the cache is a mount of its own.
ENV UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# A role's virtualenv in /app/.venv: its locked dependencies first (a layer that only a change
# of the lock rebuilds), then Switchboard itself, installed as a package (no source tree needed).
FROM uv AS build-ingress
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    uv sync --locked --no-default-groups --group ingress --no-install-project
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-default-groups --group ingress --no-editable \
        --reinstall-package switchboard

FROM uv AS build-worker
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    uv sync --locked --no-default-groups --group worker --no-install-project
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-default-groups --group worker --no-editable \
        --reinstall-package switchboard

FROM uv AS build-dashboards
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    uv sync --locked --no-default-groups --group dashboards --no-install-project
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-default-groups --group dashboards --no-editable \
        --reinstall-package switchboard

# What every role's image shares: the base image, no uv, no build tools, not root.
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/app/.venv/bin:$PATH \
    SWITCHBOARD_DATA_DIR=/data \
    SWITCHBOARD_HOST=0.0.0.0 \
    SWITCHBOARD_WORKER_METRICS_HOST=0.0.0.0 \
    SWITCHBOARD_DASHBOARD_HOST=0.0.0.0
# Not root: the data volume (email attachments, exports) belongs to this user.
RUN useradd --system --uid 10001 --home-dir /app switchboard \
    && mkdir /data && chown switchboard /data
WORKDIR /app
USER 10001
ENTRYPOINT ["switchboard"]

FROM runtime AS ingress
COPY --from=build-ingress /app/.venv /app/.venv
EXPOSE 8000
CMD ["ingress"]

FROM runtime AS worker
COPY --from=build-worker /app/.venv /app/.venv
EXPOSE 9464
CMD ["worker"]

FROM runtime AS dashboards
COPY --from=build-dashboards /app/.venv /app/.venv
EXPOSE 8501
CMD ["dashboards"]
