#!/usr/bin/env python3
"""One LangGraph chat of N turns (one invoke per turn) with one checkpointer: time per invoke and bytes on disk.

The graph is the one users start from: StateGraph(MessagesState) with a respond node that answers
each question (an answer of the same size, no external model). Savers:
  memory  - InMemorySaver (no disk; the floor)
  sqlite  - SqliteSaver on a fresh file, SQLite's default rollback journal, synchronous=FULL (durable)
  convlog - ConvLogSaver on a running convlogd (--socket), whose data.mdb is --data-dir/data.mdb
Prints one JSON object.
"""

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph


def directory_bytes(path):
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--saver", choices=["memory", "sqlite", "convlog"], required=True)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--bytes", type=int, default=200)
    parser.add_argument("--socket")
    parser.add_argument("--data-dir")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        measured_files = None
        if args.saver == "memory":
            from langgraph.checkpoint.memory import InMemorySaver
            saver = InMemorySaver()
        elif args.saver == "sqlite":
            from langgraph.checkpoint.sqlite import SqliteSaver
            saver = SqliteSaver(sqlite3.connect(os.path.join(scratch, "checkpoints.sqlite"), check_same_thread=False))
            measured_files = scratch
        else:
            from convlog.langgraph import ConvLogSaver
            saver = ConvLogSaver(args.socket)
            measured_files = args.data_dir
        before = directory_bytes(measured_files) if measured_files else 0

        def respond(state):
            return {"messages": [AIMessage("a" * args.bytes)]}

        builder = StateGraph(MessagesState)
        builder.add_node("respond", respond)
        builder.add_edge(START, "respond")
        builder.add_edge("respond", END)
        graph = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "bench-chat"}}
        question = "q" * args.bytes
        micros = []
        for turn in range(args.turns):
            begin = time.perf_counter()
            graph.invoke({"messages": [HumanMessage(f"{turn} {question}")]}, config)
            micros.append((time.perf_counter() - begin) * 1e6)
        assert len(graph.get_state(config).values["messages"]) == 2 * args.turns
        after = directory_bytes(measured_files) if measured_files else 0
        print(json.dumps({
            "saver": args.saver,
            "turns": args.turns,
            "invokeP50Micros": statistics.median(micros),
            "firstTenP50Micros": statistics.median(micros[:10]),
            "lastTenP50Micros": statistics.median(micros[-10:]),
            "bytesOnDisk": after - before,
            "messageBytes": 2 * args.turns * args.bytes,
        }))


if __name__ == "__main__":
    main()
