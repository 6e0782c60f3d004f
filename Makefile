# easegress-rs — build, test and run.
#
#   make          release binaries in bin/ (easegress-server, egctl, egbuilder)
#   make run      the server on its embedded defaults, with the quick-start objects; prints
#                 where the dashboard and the admin API are
#   make test     unit + integration tests, then the shared acceptance suite (skipped with a
#                 note when ../shared is absent, except under CI)
#   make bench    the proxy benchmark against NGINX (installs wrk/nginx with apt-get)
#   make pgo-profile  refresh pgo/easegress-server.profdata, the profile the release build uses
#   make deb      a Debian package (cargo-deb) in target/debian/; make package-test checks it
#   make schemas  regenerate docs/schemas/ (JSON schemas of every kind, for editors)
#   make fmt / make lint  (make unit LINT=1: the tests' build also lints, as CI runs it)

CARGO      ?= cargo
PYTHON     ?= python3
BIN_DIR    := $(CURDIR)/bin
SHARED     ?= $(CURDIR)/../shared
ACCEPTANCE ?= $(SHARED)/acceptance
PENDING    := $(CURDIR)/tests/acceptance-pending.txt

.PHONY: all build run test unit fmt-check acceptance acceptance-run bench pgo-profile deb package-test schemas fmt lint clean deps

all: build

deps:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found: install Rust from rustup (stable)"; exit 1; }

# The release build is optimised with the committed profile of the proxy's request path
# (pgo/README.md); PGO=0 builds without it.
build: deps
	@flags="$$(sh pgo/rustflags.sh)"; \
	if [ -n "$$flags" ]; then export RUSTFLAGS="$${RUSTFLAGS:+$$RUSTFLAGS }$$flags"; fi; \
	echo "RUSTFLAGS=$${RUSTFLAGS:-} $(CARGO) build --release -p easegress-server -p egctl -p egbuilder"; \
	$(CARGO) build --release -p easegress-server -p egctl -p egbuilder
	@mkdir -p $(BIN_DIR)
	cp target/release/easegress-server target/release/egctl target/release/egbuilder $(BIN_DIR)/

run: build
	@echo "dashboard:  http://localhost:2381/dashboard/"
	@echo "admin API:  http://localhost:2381/apis/v2  (egctl talks to it)"
	@echo "quick start: curl http://127.0.0.1:10080/hello"
	cd example/quickstart && $(BIN_DIR)/easegress-server \
	  --initial-object-config-files pipeline-mock.yaml,httpserver.yaml

test: unit acceptance

# LINT=1 lints in the same build: every workspace crate is compiled through clippy's driver
# with warnings denied (dependencies through plain rustc), benches and examples included, so
# one build both checks what `make lint` checks and runs the tests. CI uses it; it saves the
# check-only build of every dependency that `cargo clippy` makes.
ifeq ($(LINT),1)
CLIPPY_DRIVER := $(shell command -v clippy-driver)
UNIT_ENV      := RUSTC_WORKSPACE_WRAPPER="$(CLIPPY_DRIVER)" RUSTFLAGS="$${RUSTFLAGS:+$$RUSTFLAGS }-D warnings"
endif

unit: deps $(if $(filter 1,$(LINT)),fmt-check)
ifeq ($(LINT),1)
	@[ -n "$(CLIPPY_DRIVER)" ] || { echo "error: LINT=1 needs clippy-driver (rustup component add clippy)"; exit 1; }
	$(UNIT_ENV) $(CARGO) test --workspace --all-targets --no-run
endif
	$(UNIT_ENV) $(CARGO) test --workspace
	@# The workspace's build has AWS-LC (the server's default); this is the ring build.
	$(UNIT_ENV) $(CARGO) test -p eg-tls

# Without the shared suite (a plain clone) the project's own tests still run; CI has it.
acceptance:
	@if [ -d "$(ACCEPTANCE)" ]; then $(MAKE) --no-print-directory acceptance-run; \
	elif [ -n "$$CI" ]; then echo "error: the acceptance suite is expected at $(ACCEPTANCE) (set SHARED=...)"; exit 1; \
	else echo "acceptance: the shared suite was not found at $(ACCEPTANCE); skipped (set SHARED=<dir> to run it)"; fi

acceptance-run: build
	@$(PYTHON) -c 'import pytest' 2>/dev/null || $(PYTHON) -m pip install --quiet pytest
	cd $(ACCEPTANCE) && EG_BIN_DIR=$(BIN_DIR) EG_ACCEPTANCE_PENDING=$(PENDING) PYTHONDONTWRITEBYTECODE=1 \
	  $(PYTHON) -m pytest -p no:cacheprovider -q $(PYTEST_ARGS) .

bench: build
	bash bench/run.sh

pgo-profile: deps
	bash pgo/train.sh

deb: build
	@command -v cargo-deb >/dev/null || $(CARGO) install cargo-deb --locked
	$(CARGO) deb -p easegress-server --no-build --dbgsym

package-test: deb
	bash packaging/test-deb.sh

schemas: deps
	EG_WRITE_SCHEMAS=1 $(CARGO) test -p easegress-server --test schemas

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

lint: fmt-check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf $(BIN_DIR)
