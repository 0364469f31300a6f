# convlog — the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
# Where `make run` keeps the log: the same default as convlogd, the convlog CLI and the Python
# client ($CONVLOG_DATA_DIR, else $XDG_DATA_HOME/convlog, else ~/.local/share/convlog).
DATA_DIR ?= $(or $(CONVLOG_DATA_DIR),$(or $(XDG_DATA_HOME),$(HOME)/.local/share)/convlog)

.PHONY: help deps build release test run install bench fuzz openrpc clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps: ## install missing system packages (liblmdb-dev, libcurl4-openssl-dev, lmdb-utils, pkg-config, python3-venv)
	@./scripts/install-deps.sh

build: deps ## debug build of every target
	$(SWIFT) build --build-tests

release: deps ## optimised build of the executables
	$(SWIFT) build -c release

test: deps ## build and run every test (starts a small local model for the LLM test; CONVLOG_SKIP_LLM=1 skips it)
	./scripts/run-tests.sh

run: release ## build and start the daemon on the default data dir, ~/.local/share/convlog (Ctrl-C stops it)
	@mkdir -p -m 700 "$(DATA_DIR)"
	@echo "convlogd: data in $(DATA_DIR), socket $(DATA_DIR)/convlogd.sock (the convlog CLI and the Python client find it there by default)"
	exec .build/release/convlogd --data-dir "$(DATA_DIR)"

PREFIX ?= /usr/local
install: deps ## install convlogd and convlog into $(PREFIX)/bin, shell completions and a systemd unit (Swift runtime linked in)
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-static --product convlogd
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-static --product convlog
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/bash-completion/completions" \
		"$(DESTDIR)$(PREFIX)/share/zsh/site-functions" "$(DESTDIR)$(PREFIX)/lib/systemd/system"
	install -m 755 .build-static/release/convlogd .build-static/release/convlog "$(DESTDIR)$(PREFIX)/bin/"
	.build-static/release/convlog --generate-completion-script bash > "$(DESTDIR)$(PREFIX)/share/bash-completion/completions/convlog"
	.build-static/release/convlog --generate-completion-script zsh > "$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_convlog"
	sed 's|/usr/local/bin/convlogd|$(PREFIX)/bin/convlogd|' contrib/systemd/convlogd.service > "$(DESTDIR)$(PREFIX)/lib/systemd/system/convlogd.service"
	@echo "installed convlogd and convlog in $(DESTDIR)$(PREFIX)/bin, completions, and lib/systemd/system/convlogd.service (they need the liblmdb0 and libcurl4 packages at run time)"

bench: deps ## the whole benchmark with its baselines (about 5 minutes); results in bench-results.json
	./scripts/bench.sh

FUZZ_SECONDS ?= 600
fuzz: deps ## run the JSON-RPC fuzzer for FUZZ_SECONDS (default 600), corpus in fuzz/corpus
	$(SWIFT) build --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --product fuzz-rpc --scratch-path .build-fuzz
	@mkdir -p fuzz/corpus fuzz/findings
	SWIFT_BACKTRACE=enable=no .build-fuzz/debug/fuzz-rpc -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -artifact_prefix=fuzz/findings/ fuzz/corpus fuzz/seeds

openrpc: ## regenerate the served OpenRPC document from schema/openrpc.json
	./scripts/embed-openrpc.py

clean: ## remove build products (not the data directory)
	rm -rf .build .build-*
