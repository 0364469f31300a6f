#!/usr/bin/env bash
# Runs every test: the Swift suites, the module-graph and `make install` checks, then the Python client's. Unless CONVLOG_SKIP_LLM=1, it first starts a small real language model
# (scripts/llm-server.sh) for the LLM-rewriter integration test, and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
# A crash fails the run at once: Swift's backtracer can hang a piped run (SWIFT-NOTES, pitfall 13).
export SWIFT_BACKTRACE=enable=no
# The warehouse export test loads into a throwaway PostgreSQL cluster.
scripts/install-deps.sh postgresql

if [ "${CONVLOG_SKIP_LLM:-0}" != 1 ]; then
    url=$(scripts/llm-server.sh start)
    trap 'scripts/llm-server.sh stop' EXIT
    export CONVLOG_TEST_LLM_URL="$url"
    echo "LLM integration test against $url" >&2
else
    echo "CONVLOG_SKIP_LLM=1: the real-model LLM test is skipped" >&2
fi
swift test
./scripts/check-module-graph.py
# make run serves the data directory every other tool uses by default.
default_data_dir="${CONVLOG_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/convlog}"
# (The plan is captured first: `grep -q` stops reading at its match, and a sub-make that still
# prints "Leaving directory" afterwards would die of SIGPIPE and fail the pipeline.)
run_plan=$(make -n run)
grep -qF -- "--data-dir \"$default_data_dir\"" <<<"$run_plan" || { echo "make run does not use the default data directory $default_data_dir" >&2; exit 1; }
./scripts/check-install.sh

# The Python client's tests run against the convlogd that swift test just built.
venv=.venv-py
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
fi
"$venv/bin/pip" install -q --force-reinstall --no-deps ./clients/python
"$venv/bin/pip" install -q './clients/python[langchain,langgraph,test]' 'langgraph>=1.0' 'langgraph-checkpoint-conformance==0.0.2' 'duckdb>=1.0'
(cd clients/python && CONVLOG_DAEMON_BINARY="$PWD/../../.build/debug/convlogd" timeout 600 "../../$venv/bin/python" -m pytest -q tests)
