"""Hot backup: a consistent copy taken while the daemon serves writes; a daemon starts on it."""

from __future__ import annotations

import re
import tempfile
import threading

from conftest import DaemonProcess
from convlog import Client
from conftest import cli


def test_backup_while_writing_is_consistent_and_serves(daemon_process: DaemonProcess):
    socket_path = daemon_process.start()
    client = Client(socket_path)
    before = [client.add("live", "user", f"before {index}", create_if_missing=True).sequence for index in range(50)]
    stop = threading.Event()
    during: list[int] = []

    def keep_writing() -> None:
        writer = Client(socket_path)
        while not stop.is_set():
            during.append(writer.add("live", "user", f"during {len(during)}").sequence)

    thread = threading.Thread(target=keep_writing)
    thread.start()
    with tempfile.TemporaryDirectory(prefix="convlog-backup-", dir="/tmp") as scratch:
        copy = DaemonProcess(scratch)
        try:
            done = cli("backup", "--data-dir", daemon_process.data_dir, copy.data_dir)
            stop.set()
            thread.join(timeout=60)
            assert done.returncode == 0, done.stderr
            through = int(re.search(r"through sequence (\d+)", done.stdout).group(1))
            assert through >= before[-1] and during, "the backup ran while appends went on"
            verified = cli("verify", "--data-dir", copy.data_dir, "--projections")
            assert verified.returncode == 0, verified.stdout + verified.stderr

            backup_client = Client(copy.start())
            events = backup_client.read_events(session_id="live", limit=1000).events
            assert [e.sequence for e in events] == list(range(1, through + 1))
            assert backup_client.get_session("live").message_count == through - 1  # after its SessionCreated
        finally:
            copy.stop()
        refused = cli("backup", "--data-dir", daemon_process.data_dir, copy.data_dir)
        assert refused.returncode != 0 and "not an empty directory" in refused.stderr
