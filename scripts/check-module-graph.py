#!/usr/bin/env python3
"""Checks the module graph's direction (run by `make test`): the client, the wire-level JSON-RPC,
the JSON module, the LLM rewriter and the fuzzer must not reach the storage (EventLog, LMDB), the
log, its projections and the service know no storage backend but LMDB (PostgresLog is plugged in by
the executables through the SharedLog seam), and JSON depends on nothing. Reads `swift package describe --type json`; exits 1 naming a violation."""

import json
import subprocess
import sys

package = json.loads(subprocess.run(["swift", "package", "describe", "--type", "json"], check=True, capture_output=True, text=True).stdout)
dependencies = {target["name"]: target.get("target_dependencies") or [] for target in package["targets"]}


def closure(name):
    seen, todo = set(), [name]
    while todo:
        for dependency in dependencies.get(todo.pop(), []):
            if dependency not in seen:
                seen.add(dependency)
                todo.append(dependency)
    return seen


rules = {
    "JSON": set(dependencies) - {"JSON"},
    "JSONRPC": {"EventLog", "CLMDB", "ConvLog", "Projections", "ConvLogRPC"},
    "ConvLogClient": {"EventLog", "CLMDB", "ConvLog", "Projections", "ConvLogRPC", "RPCServer", "PostgresLog"},
    "EventLog": {"PostgresLog"},
    "Projections": {"PostgresLog"},
    "ConvLog": {"PostgresLog"},
    "ConvLogRPC": {"PostgresLog"},
    "LLMRewriter": {"EventLog", "CLMDB"},
    "fuzz-rpc": {"EventLog", "CLMDB", "ConvLog"},
    "RPCServer": {"EventLog", "CLMDB", "ConvLog", "ConvLogRPC"},
}
violations = [f"{target} reaches {sorted(closure(target) & forbidden)}" for target, forbidden in rules.items() if closure(target) & forbidden]
if violations:
    print("module graph: " + "; ".join(violations), file=sys.stderr)
    sys.exit(1)
print("module graph: ok (" + ", ".join(f"{t} → {sorted(closure(t))}" for t in ("ConvLogClient", "JSONRPC", "LLMRewriter")) + ")")
