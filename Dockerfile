# syntax=docker/dockerfile:1
# Kubelantern's image: frontend built in, non-root, read-only root filesystem.
#
#   docker build -t kubelantern .
#   docker run --rm -p 4466:4466 -v ~/.kube:/kube:ro -e KUBECONFIG=/kube/config \
#     --read-only --tmpfs /tmp kubelantern serve --listen 0.0.0.0:4466
#
# Four stages: Go builds helm, Node builds the TypeScript islands with esbuild, a Python stage
# builds the wheel (which carries them) and installs it into a virtualenv, and
# the final stage is a slim Python with only that virtualenv. The process never
# writes outside /tmp (no .pyc writes, HOME and caches in /tmp), so it runs
# with a read-only root filesystem and an emptyDir at /tmp (the Helm chart does).
# Kubelantern's CI has no daemon or registry: it builds the same image with
# `make image` (deploy/image/build) and runs it read-only; see docs/operator-guide.md.

ARG PYTHON_VERSION=3.11
ARG NODE_VERSION=22
ARG GO_VERSION=1.26
ARG HELM_VERSION=3.22.0

# helm, for the Helm releases pages (rollback, upgrade, uninstall run it as the
# signed-in person); built from the Go module proxy, as testenv/build does.
FROM golang:${GO_VERSION}-bookworm AS helm
ARG HELM_VERSION
ENV CGO_ENABLED=0 GOFLAGS=-trimpath GOBIN=/out
RUN go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
      "helm.sh/helm/v3/cmd/helm@v${HELM_VERSION}" \
 && /out/helm version --short

FROM node:${NODE_VERSION}-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
# build.mjs writes into ../src/kubelantern/web/static/dist
RUN mkdir -p ../src/kubelantern/web/static && npm run build

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE hatch_build.py ./
COPY src ./src
COPY --from=frontend /src/src/kubelantern/web/static/dist ./src/kubelantern/web/static/dist
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
 && python -m venv /opt/kubelantern \
 && /opt/kubelantern/bin/pip install /dist/*.whl \
 && /opt/kubelantern/bin/kubelantern version

FROM python:${PYTHON_VERSION}-slim-bookworm
LABEL org.opencontainers.image.title="Kubelantern" \
      org.opencontainers.image.description="A Kubernetes web UI with exactly the rights RBAC gives each person" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 kubelantern \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp kubelantern
COPY --from=build /opt/kubelantern /opt/kubelantern
COPY --from=helm /out/helm /usr/local/bin/helm
ENV PATH=/opt/kubelantern/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    XDG_CONFIG_HOME=/tmp/.config \
    PIP_NO_CACHE_DIR=1
USER 10001:10001
WORKDIR /tmp
EXPOSE 4466
# In a pod: the cluster it runs in, on all interfaces (the chart passes --config instead).
ENTRYPOINT ["kubelantern"]
CMD ["serve", "--in-cluster", "--listen", "0.0.0.0:4466", "--log-format", "json"]
