#!/usr/bin/env bash
# `make bench`: installs what the baselines need (redis-server, a venv with langgraph,
# langgraph-checkpoint-sqlite, cached in .venv-bench), builds release binaries and runs
# the whole benchmark, writing bench-results.json. Extra arguments go to `convlog-bench run`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server > /dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "the Redis baseline needs redis-server: sudo apt-get install -y redis-server" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server > /dev/null
fi
venv=.venv-bench
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import langgraph.checkpoint.sqlite' 2> /dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q langgraph langgraph-checkpoint-sqlite
fi
# The Python client (ConvLogSaver) of this checkout, for the LangGraph chat benchmark.
"$venv/bin/pip" install -q --force-reinstall --no-deps ./clients/python
swift build -c release --product convlogd
swift build -c release --product convlog
swift build -c release --product convlog-bench
.build/release/convlog-bench run --json bench-results.json "$@"
# convlogd on PostgreSQL (--store), two daemons and one, next to pgbench on the same server.
if [ -d /usr/lib/postgresql ]; then
    ./scripts/bench-postgres.sh
else
    echo "skipping the PostgreSQL benchmark: PostgreSQL is not installed (apt-get install postgresql)" >&2
fi
