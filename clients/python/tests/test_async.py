"""The asyncio client, with concurrent tasks."""

from __future__ import annotations

import asyncio

import pytest

from convlog import AsyncClient, SessionNotFound


def test_async_client_concurrency(daemon):
    async def scenario():
        async with AsyncClient(daemon, timeout=10) as setup:
            await setup.create(session_id="aio")
            with pytest.raises(SessionNotFound):
                await setup.get_session("nope")

        async def writer(worker):
            async with AsyncClient(daemon, timeout=10) as client:
                for index in range(40):
                    await client.add("aio", "assistant" if index % 2 else "user", f"{worker}:{index}")

        await asyncio.gather(*(writer(n) for n in range(6)))
        async with AsyncClient(daemon, timeout=10) as client:
            session = await client.get_session("aio")
            shared = [client.get_context("aio", window=3) for _ in range(10)]
            contexts = await asyncio.gather(*shared)
            analysis = await client.analyze_follow_up("aio", "what about the others?")
            return session, contexts, analysis

    session, contexts, analysis = asyncio.run(scenario())
    assert session.message_count == 240
    assert all(len(c.messages) == 3 for c in contexts)
    assert analysis.is_follow_up
