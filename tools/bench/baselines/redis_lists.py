#!/usr/bin/env python3
"""Baseline: Redis lists as conversation memory, durable (appendonly yes, appendfsync always).

Starts its own redis-server on 127.0.0.1 and a free port in a temporary directory, then:
RPUSH one message per call from 1 client and from CLIENTS threads (each owning its sessions),
RPUSH pipelined 64 at a time, and LRANGE -5 -1 reads on random sessions. Prints one JSON object.
"""

import argparse
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--bytes", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--reads", type=int, default=20000)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="convlog-redis-")
    port = free_port()
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", directory,
         "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        text = "x" * args.bytes
        total = args.sessions * args.messages

        latencies = []
        start = time.perf_counter()
        for message in range(args.messages):
            for session in range(args.sessions):
                begin = time.perf_counter()
                client.rpush(f"one:{session}", text)
                latencies.append((time.perf_counter() - begin) * 1e6)
        single_rate = total / (time.perf_counter() - start)

        def writer(worker):
            own = redis.Redis(host="127.0.0.1", port=port)
            mine = range(worker, args.sessions, args.clients)
            for message in range(args.messages):
                for session in mine:
                    own.rpush(f"many:{session}", text)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(args.clients)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        many_rate = total / (time.perf_counter() - start)

        start = time.perf_counter()
        pipe = client.pipeline(transaction=False)
        for index in range(total):
            pipe.rpush(f"pipe:{index % args.sessions}", text)
            if index % 64 == 63:
                pipe.execute()
        pipe.execute()
        pipelined_rate = total / (time.perf_counter() - start)

        reads = []
        for _ in range(args.reads):
            session = random.randrange(args.sessions)
            begin = time.perf_counter()
            client.lrange(f"one:{session}", -5, -1)
            reads.append((time.perf_counter() - begin) * 1e6)
        print(json.dumps({
            "addMessagesPerSecond": single_rate, "addP50Micros": percentile(latencies, 0.5),
            "concurrentAddMessagesPerSecond": many_rate, "pipelinedAddMessagesPerSecond": pipelined_rate,
            "readP50Micros": percentile(reads, 0.5), "readP99Micros": percentile(reads, 0.99),
        }))
        sys.stdout.flush()
    finally:
        # The data is not needed: no graceful shutdown (which rewrites and syncs the AOF).
        server.kill()
        server.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
