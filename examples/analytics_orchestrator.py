#!/usr/bin/env python3
"""A small analytics orchestrator that keeps its conversation memory in convlog.

For each question it asks convlog whether the question is a follow-up and for its standalone
form, answers that standalone question with a few hand-written question→SQL templates over a
tiny SQLite database of artists and albums (built on first run), stores both turns with ``add``
and the SQL it ran with ``updateContext``. This is a demo of the memory, not a text-to-SQL engine.

    make run                                   # in another terminal
    python3 examples/analytics_orchestrator.py # finds the default socket, as make run uses it
    python3 examples/analytics_orchestrator.py --socket /path/to/convlogd.sock "How many artists start with A-E?"
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "clients" / "python" / "src"))

from convlog import Client  # noqa: E402

DEMO_DIALOGUE = ["How many artists start with A-E?", "Who are those artists?"]

ARTISTS = [
    "AC/DC", "Accept", "Aerosmith", "Alanis Morissette", "Alice In Chains", "Antônio Carlos Jobim", "Apocalyptica",
    "Audioslave", "BackBeat", "Billy Cobham", "Black Label Society", "Black Sabbath", "Body Count", "Bruce Dickinson",
    "Buddy Guy", "Caetano Veloso", "Chico Buarque", "Chico Science & Nação Zumbi", "Cidade Negra", "Cláudio Zoli",
    "Various Artists", "Led Zeppelin", "Frank Zappa & Captain Beefheart", "Marcos Valle", "Milton Nascimento",
    "Azymuth", "Gilberto Gil", "João Gilberto", "Bebel Gilberto", "Jorge Vercilo", "Baby Consuelo", "Ney Matogrosso",
    "Luiz Melodia", "Nando Reis", "Pedro Luís & A Parede", "O Rappa", "Ed Motta", "Banda Black Rio", "Fernanda Porto",
    "Os Cariocas", "Elis Regina", "Milton Nascimento & Bebeto", "Deep Purple", "Def Leppard", "Dennis Chambers",
    "Djavan", "Eric Clapton", "Faith No More", "Falamansa", "Foo Fighters", "Frank Sinatra", "Funk Como Le Gusta",
    "Godsmack", "Guns N' Roses", "Incognito", "Iron Maiden", "James Brown", "Jamiroquai", "JET", "Jimi Hendrix",
]
ALBUMS = {"AC/DC": ["For Those About To Rock We Salute You", "Let There Be Rock"], "Accept": ["Balls to the Wall", "Restless and Wild"],
          "Aerosmith": ["Big Ones"], "Deep Purple": ["Machine Head", "Deep Purple In Rock", "Come Taste The Band"]}


def open_database(path: Path) -> sqlite3.Connection:
    """The demo database, built on first run."""
    fresh = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    if fresh:
        db.execute("CREATE TABLE artists (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
        db.execute("CREATE TABLE albums (id INTEGER PRIMARY KEY, title TEXT NOT NULL, artist_id INTEGER NOT NULL REFERENCES artists(id))")
        db.executemany("INSERT INTO artists (name) VALUES (?)", [(name,) for name in ARTISTS])
        for artist, titles in ALBUMS.items():
            (artist_id,) = db.execute("SELECT id FROM artists WHERE name = ?", (artist,)).fetchone()
            db.executemany("INSERT INTO albums (title, artist_id) VALUES (?, ?)", [(title, artist_id) for title in titles])
        db.commit()
    return db


@dataclass
class Answer:
    text: str
    sql: str | None
    rows: list[tuple]


RANGE = r"([a-z])\s*(?:-|to)\s*([a-z])"
COUNT_ARTISTS = re.compile(r"how many artists (?:have names that |whose names )?start with " + RANGE, re.I)
LIST_ARTISTS = re.compile(r"(?:who are|list|show|name|which are) (?:the |all )?artists (?:that|whose names|which) start with " + RANGE, re.I)
COUNT_ALBUMS = re.compile(r"how many albums (?:did|does|has) (.+?) (?:have|release|released|make|made)", re.I)


def answer(question: str, db: sqlite3.Connection) -> Answer:
    """Answers a standalone question with a template (parameters bound, never interpolated)."""
    if match := COUNT_ARTISTS.search(question):
        low, high = match.group(1).upper(), match.group(2).upper()
        sql = "SELECT COUNT(*) FROM artists WHERE upper(substr(name, 1, 1)) BETWEEN ? AND ?"
        (count,) = db.execute(sql, (low, high)).fetchone()
        return Answer(f"There are {count} artists whose names start with {low} to {high}.", sql, [(count,)])
    if match := LIST_ARTISTS.search(question):
        low, high = match.group(1).upper(), match.group(2).upper()
        sql = "SELECT name FROM artists WHERE upper(substr(name, 1, 1)) BETWEEN ? AND ? ORDER BY name"
        rows = db.execute(sql, (low, high)).fetchall()
        return Answer("The artists are: " + ", ".join(name for (name,) in rows) + ".", sql, rows)
    if match := COUNT_ALBUMS.search(question):
        sql = "SELECT COUNT(*) FROM albums JOIN artists ON artists.id = albums.artist_id WHERE artists.name = ?"
        (count,) = db.execute(sql, (match.group(1),)).fetchone()
        return Answer(f"{match.group(1)} has {count} albums.", sql, [(count,)])
    return Answer("Sorry, I can only answer a few questions about artists and albums.", None, [])


@dataclass
class Turn:
    question: str
    standalone: str
    is_follow_up: bool
    answer: Answer


def ask(client: Client, session_id: str, question: str, db: sqlite3.Connection) -> Turn:
    """One turn: analyze with the memory, answer the standalone question, remember both turns and the SQL."""
    analysis = client.analyze_follow_up(session_id, question)
    result = answer(analysis.standalone_query, db)
    client.add(session_id, "user", question)
    client.add(session_id, "assistant", result.text, metadata={"standaloneQuery": analysis.standalone_query})
    if result.sql:
        client.update_context(session_id, {"lastSql": result.sql, "lastQuestion": analysis.standalone_query})
    return Turn(question, analysis.standalone_query, analysis.is_follow_up, result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", nargs="*", help="questions to ask (default: the demo dialogue)")
    parser.add_argument("--socket", help="convlogd's socket (default: $CONVLOG_SOCKET or the daemon's default)")
    parser.add_argument("--session", help="the session to continue (default: a new one)")
    parser.add_argument("--database", default="var/example-artists.sqlite", help="the demo database (built when missing)")
    args = parser.parse_args()
    client = Client(args.socket)
    db = open_database(Path(args.database))
    session_id = args.session or f"demo-{uuid.uuid4().hex[:8]}"
    if not args.session:
        client.create(session_id=session_id, metadata={"app": "analytics_orchestrator"})
    for question in args.questions or DEMO_DIALOGUE:
        turn = ask(client, session_id, question, db)
        print(f"user:       {turn.question}")
        if turn.is_follow_up:
            print(f"standalone: {turn.standalone}")
        print(f"assistant:  {turn.answer.text}\n")
    print(f"(session {session_id}; replay it with: convlog replay --session {session_id})")


if __name__ == "__main__":
    main()
