#!/usr/bin/env python3
"""A LangGraph chat whose memory is convlog: the graph users start from, with ConvLogSaver.

``StateGraph(MessagesState)`` with two nodes: *contextualize* asks convlog whether the newest
question depends on earlier turns (``analyzeFollowUp`` on the thread, which is a convlog session)
and rewrites it standalone; *respond* answers the standalone question (a canned answer here: no
external model needed). The graph is compiled with ``ConvLogSaver``, so the thread survives
restarts of the script and of the daemon. Each run asks the next question of the demo dialogue
(or the questions given) and prints the thread so far.

    make run                                                     # in another terminal
    python3 examples/langgraph_chat.py                           # asks "How many artists start with A-E?"
    python3 examples/langgraph_chat.py                           # asks "Who are those artists?" (a follow-up)
    python3 examples/langgraph_chat.py --thread t2 "What about albums?"

Needs ``pip install 'convlog[langgraph]' langgraph`` (or the repository's clients/python).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "clients" / "python" / "src"))

from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langgraph.graph import END, START, MessagesState, StateGraph  # noqa: E402

from convlog import Client, SessionNotFound  # noqa: E402
from convlog.langgraph import ConvLogSaver  # noqa: E402

DEMO_DIALOGUE = ["How many artists start with A-E?", "Who are those artists?"]


class ChatState(MessagesState):
    """The messages, and the newest question made standalone."""

    standalone: str


def build_graph(saver: ConvLogSaver, client: Client):
    """contextualize → respond, checkpointed by `saver`."""

    def contextualize(state: ChatState, config) -> dict:
        question = state["messages"][-1].content
        thread_id = config["configurable"]["thread_id"]
        # The thread's messages are in convlog already (the thread is a session): analyze the
        # question against them. A thread's very first question has nothing to follow up.
        try:
            analysis = client.analyze_follow_up(thread_id, question)
        except SessionNotFound:
            return {"standalone": question}
        return {"standalone": analysis.standalone_query if analysis.is_follow_up else question}

    def respond(state: ChatState) -> dict:
        return {"messages": [AIMessage(f"(demo answer to) {state['standalone']}")]}

    builder = StateGraph(ChatState)
    builder.add_node("contextualize", contextualize)
    builder.add_node("respond", respond)
    builder.add_edge(START, "contextualize")
    builder.add_edge("contextualize", "respond")
    builder.add_edge("respond", END)
    return builder.compile(checkpointer=saver)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", nargs="*", help="questions to ask (default: the next one of the demo dialogue)")
    parser.add_argument("--socket", help="convlogd's socket (default: as the Client finds it)")
    parser.add_argument("--thread", default="langgraph-demo", help="the LangGraph thread id (default: %(default)s)")
    args = parser.parse_args()

    client = Client(args.socket)
    graph = build_graph(ConvLogSaver(args.socket), client)
    config = {"configurable": {"thread_id": args.thread}}
    asked = sum(isinstance(m, HumanMessage) for m in graph.get_state(config).values.get("messages", []))
    questions = args.questions or [DEMO_DIALOGUE[min(asked, len(DEMO_DIALOGUE) - 1)]]
    for question in questions:
        state = graph.invoke({"messages": [HumanMessage(question)]}, config)
        print(f"asked:      {question}")
        print(f"standalone: {state['standalone']}")
    print(f"thread {args.thread}:")
    for message in graph.get_state(config).values["messages"]:
        print(f"  {message.type:>5}: {message.content}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
