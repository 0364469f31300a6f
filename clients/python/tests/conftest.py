"""Starts a real convlogd on a temporary socket for the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from convlog import Client

REPO = Path(__file__).resolve().parents[3]


def daemon_binary() -> Path:
    explicit = os.environ.get("CONVLOG_DAEMON_BINARY")
    path = Path(explicit) if explicit else REPO / ".build" / "debug" / "convlogd"
    if not path.exists():
        pytest.fail(f"convlogd not built at {path}: run `swift build` (make test does)")
    return path


@pytest.fixture
def daemon():
    """A running convlogd; yields its socket path. Stopped (SIGTERM) after the test, bounded in time."""
    with tempfile.TemporaryDirectory(prefix="convlog-py-", dir="/tmp") as directory:
        socket_path = os.path.join(directory, "d.sock")
        process = subprocess.Popen(
            [str(daemon_binary()), "--data-dir", os.path.join(directory, "data"), "--socket", socket_path, "--log-level", "error"],
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    Client(socket_path, timeout=2).health()
                    break
                except Exception:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"convlogd did not start: {process.stderr.read().decode() if process.stderr else ''}")
                    time.sleep(0.02)
            yield socket_path
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                assert process.wait(timeout=20) == 0
            finally:
                if process.poll() is None:
                    process.kill()


@pytest.fixture
def client(daemon):
    with Client(daemon, timeout=10) as c:
        yield c
