"""A full disk: typed errors, one log line, reads go on, appends resume once space is freed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import DaemonProcess
from convlog import Client, StorageFull
from test_langgraph import cli


@pytest.fixture
def small_filesystem():
    """A 4 MiB tmpfs the test mounts and unmounts (needs root, as make test runs)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    directory = tempfile.mkdtemp(prefix="convlog-full-", dir="/tmp")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", directory], check=True)
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", directory], check=False)
        shutil.rmtree(directory, ignore_errors=True)


def test_full_disk_refuses_appends_with_storage_full_and_recovers_without_restart(small_filesystem):
    ballast = os.path.join(small_filesystem, "ballast")
    with open(ballast, "wb") as handle:
        handle.write(b"\0" * (1 << 20))
    daemon = DaemonProcess(small_filesystem)
    client = Client(daemon.start())
    acknowledged = []
    refused = None
    for index in range(20_000):
        try:
            acknowledged.append(client.add("s", "user", f"{index} " + "x" * 2_000, create_if_missing=True).message_id)
        except StorageFull as error:
            refused = error
            break
    assert refused is not None and refused.code == -32006 and acknowledged
    assert "no space left" in str(refused)
    # Reads go on; a second append is refused the same way.
    assert client.get_context("s", window=1).messages[-1].message_id == acknowledged[-1]
    with pytest.raises(StorageFull):
        client.add("s", "user", "y" * 2_000)
    # Space freed: appends succeed again, no restart.
    os.remove(ballast)
    after = client.add("s", "user", "after space was freed")
    assert client.get_context("s", window=1).messages[-1].message_id == after.message_id
    logged = daemon.stop()
    assert logged.count("storage full") == 1, logged
    assert small_filesystem in logged and "freeBytes" in logged
    verified = cli("verify", "--data-dir", daemon.data_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{len(acknowledged) + 2}" in cli("stats", "--data-dir", daemon.data_dir).stdout
