#!/usr/bin/env python3
"""Baseline: LangGraph's SqliteSaver as conversation memory.

A trivial StateGraph on MessagesState compiled with SqliteSaver; one message per invoke with the
session's thread_id (sessions interleaved), then get_state reads on random sessions. SQLite's
default rollback journal with synchronous=FULL makes each invoke's checkpoint durable.
Prints one JSON object.
"""

import argparse
import json
import os
import random
import sqlite3
import tempfile
import time

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, MessagesState, StateGraph


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--bytes", type=int, default=200)
    parser.add_argument("--reads", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        connection = sqlite3.connect(os.path.join(directory, "checkpoints.sqlite"), check_same_thread=False)
        builder = StateGraph(MessagesState)
        builder.add_node("remember", lambda state: {})
        builder.add_edge(START, "remember")
        builder.add_edge("remember", END)
        graph = builder.compile(checkpointer=SqliteSaver(connection))
        text = "x" * args.bytes
        latencies = []
        start = time.perf_counter()
        for _ in range(args.messages):
            for session in range(args.sessions):
                begin = time.perf_counter()
                graph.invoke({"messages": [HumanMessage(text)]}, {"configurable": {"thread_id": f"s{session}"}})
                latencies.append((time.perf_counter() - begin) * 1e6)
        writes = args.sessions * args.messages
        rate = writes / (time.perf_counter() - start)
        reads = []
        for _ in range(args.reads):
            session = random.randrange(args.sessions)
            begin = time.perf_counter()
            state = graph.get_state({"configurable": {"thread_id": f"s{session}"}})
            _ = state.values["messages"][-5:]
            reads.append((time.perf_counter() - begin) * 1e6)
        print(json.dumps({
            "addMessagesPerSecond": rate, "addP50Micros": percentile(latencies, 0.5), "addP99Micros": percentile(latencies, 0.99),
            "readP50Micros": percentile(reads, 0.5), "readP99Micros": percentile(reads, 0.99), "writes": writes,
        }))


if __name__ == "__main__":
    main()
