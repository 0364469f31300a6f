#!/usr/bin/env bash
# Runs every test. Unless CONVLOG_SKIP_LLM=1, it first starts a small real language model
# (scripts/llm-server.sh) for the LLM-rewriter integration test, and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${CONVLOG_SKIP_LLM:-0}" != 1 ]; then
    url=$(scripts/llm-server.sh start)
    trap 'scripts/llm-server.sh stop' EXIT
    export CONVLOG_TEST_LLM_URL="$url"
    echo "LLM integration test against $url" >&2
else
    echo "CONVLOG_SKIP_LLM=1: the real-model LLM test is skipped" >&2
fi
swift test
