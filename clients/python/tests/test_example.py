"""The example orchestrator's demo dialogue, end to end."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys

from convlog import Client
from conftest import REPO


def load_example():
    spec = importlib.util.spec_from_file_location("analytics_orchestrator", REPO / "examples" / "analytics_orchestrator.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_demo_dialogue_lists_exactly_the_artists_counted(daemon, tmp_path):
    example = load_example()
    client = Client(daemon)
    db = example.open_database(tmp_path / "artists.sqlite")
    client.create(session_id="demo")
    first = example.ask(client, "demo", "How many artists start with A-E?", db)
    second = example.ask(client, "demo", "Who are those artists?", db)
    (count,) = first.answer.rows[0]
    assert count > 0
    assert second.is_follow_up
    assert second.standalone == "Who are the artists that start with A-E?"
    assert len(second.answer.rows) == count
    expected = sqlite3.connect(tmp_path / "artists.sqlite").execute(
        "SELECT name FROM artists WHERE upper(substr(name, 1, 1)) BETWEEN 'A' AND 'E' ORDER BY name"
    ).fetchall()
    assert second.answer.rows == expected
    context = client.get_context("demo", window=10)
    assert [m.role for m in context.messages] == ["user", "assistant", "user", "assistant"]
    assert context.context["lastSql"].startswith("SELECT name FROM artists")
