# convlog — the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
DATA_DIR ?= $(CURDIR)/var/data

.PHONY: help deps build release test run clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps: ## install missing system packages (liblmdb-dev, libcurl4-openssl-dev, lmdb-utils)
	@./scripts/install-deps.sh

build: deps ## debug build of every target
	$(SWIFT) build --build-tests

release: deps ## optimised build of the executables
	$(SWIFT) build -c release

test: deps ## build and run every test
	$(SWIFT) test

run: release ## build and start the daemon on ./var (Ctrl-C stops it)
	@echo "convlogd is not built yet: the event log library builds and is tested by 'make test'." >&2

clean: ## remove build products (not ./var)
	rm -rf .build .build-*
