# Two commands matter: `make demo` and `make test`. Everything else is a step of them.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
DEMO_NAME ?= demo
DEMO_LISTEN ?= 127.0.0.1:4466
PYTEST_ARGS ?=

.PHONY: demo test test-fast setup venv frontend chromium binaries lint typecheck pytest demo-down bench bench-client clean manifests wheel image

setup: venv frontend chromium binaries

venv: $(STAMPS)/venv
$(STAMPS)/venv: pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@mkdir -p $(STAMPS) && touch $@

frontend: $(STAMPS)/frontend
$(STAMPS)/frontend: frontend/package.json frontend/package-lock.json frontend/build.mjs $(wildcard frontend/src/*.ts frontend/src/*.css)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	@mkdir -p $(STAMPS) && touch $@

# The sdist and the wheel in dist/, the built bundles inside (hatch_build.py reuses
# them while frontend/ is unchanged, so no Node is needed past `make frontend`).
wheel: venv frontend
	$(BIN)/python -m build --no-isolation --outdir dist .

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The Go binaries of the test control plane (and helm for the chart tests); built once,
# cached under ~/.cache/kubelantern.
binaries:
	testenv/build k8s kwok oauth2-proxy oidc helm

# The chart schema's `config` part from the option table, and deploy/manifests/kubelantern.yaml
# from the Helm chart (tests check both are up to date).
manifests: venv
	$(BIN)/python deploy/helm/config-schema
	deploy/manifests/render > deploy/manifests/kubelantern.yaml.tmp
	mv deploy/manifests/kubelantern.yaml.tmp deploy/manifests/kubelantern.yaml

# The image without a Docker daemon or registry: build/image/rootfs and, with buildah,
# build/image/kubelantern.oci.tar (deploy/image/build; rebuilt only when its inputs
# change). tests/integration/test_image.py runs it read-only as uid 10001.
image: venv frontend
	deploy/image/build build/image

lint: venv
	$(BIN)/ruff check src tests bench testenv/cluster testenv/localcluster hatch_build.py
	$(BIN)/ruff format --check src tests bench testenv/cluster testenv/localcluster hatch_build.py
	$(BIN)/hadolint Dockerfile

# mypy --strict over src/kubelantern, tests/ and testenv (the list is in pyproject.toml).
typecheck: venv frontend
	$(BIN)/mypy
	$(BIN)/mypy --strict examples/plugins
	cd frontend && npx --no-install tsc --noEmit

pytest: setup
	$(BIN)/pytest $(PYTEST_ARGS)

test: setup lint typecheck pytest

# The fast tier: every test that needs no API server and no Go binary (no `cluster`,
# no `binaries` marker; testenv/README.md, "Markers"). A test that reaches for a Go
# binary anyway fails and says which marker it lacks.
test-fast: venv frontend chromium
	KUBELANTERN_TEST_FAST=1 $(BIN)/pytest -m "not cluster and not binaries" $(PYTEST_ARGS)

demo: setup
	testenv/cluster up --name $(DEMO_NAME)
	testenv/cluster seed --name $(DEMO_NAME)
	@echo
	@echo "Kubelantern demo: open http://$(DEMO_LISTEN)/  (Ctrl-C stops the UI; 'make demo-down' stops the cluster)"
	@echo
	$(BIN)/kubelantern serve --listen $(DEMO_LISTEN) \
	  --kubeconfig "$$(testenv/cluster kubeconfig --name $(DEMO_NAME) | tail -1)"

demo-down:
	testenv/cluster down --name $(DEMO_NAME)

bench: setup
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python bench/list_pods.py

# The HTTP clients to the API server side by side under concurrency (docs/performance.md).
bench-client: setup
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python bench/upstream_client.py

clean:
	rm -rf $(STAMPS) src/kubelantern/web/static/dist frontend/node_modules dist build/image
