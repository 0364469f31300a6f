#!/usr/bin/env bash
# Part of `make bench` (issue #15): durable `add` with 16 clients spread over 2 convlogd on one
# PostgreSQL (--store), and all 16 on 1 daemon, next to pgbench doing a single-row insert
# transaction with 16 clients on the same server, in the same run. A throwaway cluster with
# PostgreSQL's default durability (fsync, synchronous commit) on a Unix socket; the C load driver
# of the other benchmarks (tools/bench/baselines/rpc_load.c, one request in flight per client,
# ~300-byte adds). ROUNDS rounds (default 3); medians and ratios printed, and written as JSON to
# bench-postgres.json. Needs the release convlogd (scripts/bench.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/convlog-bench-pg-XXXXXX)
as_postgres=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$work"
    as_postgres=(runuser -u postgres --)
fi
user=$([ "$(id -u)" -eq 0 ] && echo postgres || id -un)
daemons=()
cleanup() {
    for pid in "${daemons[@]}"; do kill "$pid" 2> /dev/null || true; done
    "${as_postgres[@]}" "$bindir/pg_ctl" -D "$work/data" -m immediate -w stop > /dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

cc -O2 tools/bench/baselines/rpc_load.c -lpthread -o "$work/rpc_load"
"${as_postgres[@]}" "$bindir/initdb" -D "$work/data" -A trust -U "$user" > /dev/null
"${as_postgres[@]}" "$bindir/pg_ctl" -D "$work/data" -w -l "$work/log" -o "-k $work -c listen_addresses=''" start > /dev/null
psql=("${as_postgres[@]}" psql -h "$work" -d postgres -v ON_ERROR_STOP=1 -qAt)
url="postgres://$user@/postgres?host=$work"
"${psql[@]}" -c "CREATE TABLE bench_messages (id bigserial PRIMARY KEY, session_id text NOT NULL, body text NOT NULL)"
printf '\\set s random(1, 2000)\nINSERT INTO bench_messages (session_id, body) VALUES (%s || :s, repeat(%s, 200));\n' "'s'" "'x'" > "$work/insert.sql"
chmod 644 "$work/insert.sql"

start_daemon() {  # start_daemon NAME: a convlogd on the store with a fresh mirror
    .build/release/convlogd --data-dir "$work/$1" --socket "$work/$1.sock" --store "$url" --log-level error &
    daemons+=($!)
    for _ in $(seq 200); do [ -S "$work/$1.sock" ] && return; sleep 0.05; done
    echo "convlogd $1 did not start" >&2
    exit 1
}
results=()
for round in $(seq "$rounds"); do
    echo "[bench-postgres] round $round/$rounds" >&2
    pgbench=$("${as_postgres[@]}" "$bindir/pgbench" -n -h "$work" -c 16 -j 2 -T 10 -f "$work/insert.sql" postgres 2>&1 | sed -nE 's/^tps = ([0-9.]+).*/\1/p')
    "${psql[@]}" -c "DROP TABLE IF EXISTS convlog_payloads, convlog_events, convlog_sessions, convlog_migrations, convlog_durable CASCADE" \
        -c "DROP FUNCTION IF EXISTS convlog_refuse_change()" -c "DROP PROCEDURE IF EXISTS convlog_append" 2> /dev/null
    rm -rf "$work"/a "$work"/b
    start_daemon a
    start_daemon b
    "$work/rpc_load" convlog-add "$work/a.sock" 8 1000 10 200 "r${round}a" > "$work/a.json" &
    loader=$!
    "$work/rpc_load" convlog-add "$work/b.sock" 8 1000 10 200 "r${round}b" > "$work/b.json"
    wait "$loader"
    "$work/rpc_load" convlog-add "$work/a.sock" 16 2000 5 200 "r${round}one" > "$work/one.json"
    for pid in "${daemons[@]}"; do kill "$pid"; wait "$pid" 2> /dev/null || true; done
    daemons=()
    # One line per round: pgbench tps, 2 daemons msg/s (sum), their mean p50, 1 daemon msg/s.
    line=$(python3 -c '
import json, sys
a, b, one = (json.load(open(path)) for path in sys.argv[2:5])
print(sys.argv[1], a["perSecond"] + b["perSecond"], (a["p50Micros"] + b["p50Micros"]) / 2, one["perSecond"])
' "$pgbench" "$work/a.json" "$work/b.json" "$work/one.json")
    results+=("$line")
    echo "[bench-postgres]   pgbench tps, 2 daemons msg/s, their p50 µs, 1 daemon msg/s: $line" >&2
done

printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
pgbench, two, two_p50, one = (statistics.median(column) for column in zip(*rows))
print("metric | convlog | baseline | baseline value | ratio")
print("---|---|---|---|---")
print(f"add, 16 clients over 2 daemons on one PostgreSQL, durable (msgs/s) | {two:.1f} msg/s | pgbench single-row inserts, 16 clients | {pgbench:.1f} | {two / pgbench:.2f}×")
print(f"  p50 latency over 2 daemons (µs) | {two_p50:.1f} µs | | |")
print(f"  the same 16 clients on 1 daemon (msgs/s) | {one:.1f} msg/s | pgbench | {pgbench:.1f} | {one / pgbench:.2f}×")
json.dump({"rounds": rows, "pgbenchInsertsPerSecond": pgbench, "twoDaemonsMessagesPerSecond": two, "twoDaemonsP50Micros": two_p50,
           "oneDaemonMessagesPerSecond": one}, open("bench-postgres.json", "w"))
'
