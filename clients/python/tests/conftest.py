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


def cli(*args: str) -> subprocess.CompletedProcess:
    """Runs the convlog CLI built beside convlogd (or $CONVLOG_CLI_BINARY)."""
    return subprocess.run([str(cli_binary()), *args], capture_output=True, text=True, timeout=120)


def cli_binary() -> Path:
    """The convlog CLI: $CONVLOG_CLI_BINARY, else the one built beside the convlogd under test."""
    explicit = os.environ.get("CONVLOG_CLI_BINARY")
    return Path(explicit) if explicit else daemon_binary().parent / "convlog"


def daemon_binary() -> Path:
    explicit = os.environ.get("CONVLOG_DAEMON_BINARY")
    path = Path(explicit) if explicit else REPO / ".build" / "debug" / "convlogd"
    if not path.exists():
        pytest.fail(f"convlogd not built at {path}: run `swift build` (make test does)")
    return path


class DaemonProcess:
    """A real convlogd on a data directory and socket, started and stopped by the test, bounded in time."""

    def __init__(self, directory: str) -> None:
        self.data_dir = os.path.join(directory, "data")
        self.socket_path = os.path.join(directory, "d.sock")
        self.process: subprocess.Popen | None = None

    def start(self, *options: str, environment: dict[str, str] | None = None) -> str:
        self.process = subprocess.Popen(
            [str(daemon_binary()), "--data-dir", self.data_dir, "--socket", self.socket_path, "--log-level", "error", *options],
            stderr=subprocess.PIPE, env={**os.environ, **(environment or {})},
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                Client(self.socket_path, timeout=2).health()
                return self.socket_path
            except Exception:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    failed, self.process = self.process, None
                    if failed.poll() is None:
                        failed.kill()
                    raise RuntimeError(f"convlogd did not start: {failed.communicate(timeout=20)[1].decode()}")
                time.sleep(0.02)

    def stop(self) -> str:
        """SIGTERM; the daemon must exit cleanly. Returns what it logged (its standard error)."""
        if self.process is None:
            return ""
        process, self.process = self.process, None
        process.send_signal(signal.SIGTERM)
        try:
            _, logged = process.communicate(timeout=20)
            assert process.returncode == 0
            return logged.decode(errors="replace")
        finally:
            if process.poll() is None:
                process.kill()

    def kill(self) -> None:
        """SIGKILL, as a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=20)
            self.process = None


class PostgresCluster:
    """A throwaway PostgreSQL cluster on a Unix socket in a temporary directory the postgres user
    owns (PostgreSQL refuses to run as root), started and stopped by the test."""

    def __init__(self, tcp_port: int | None = None) -> None:
        """With `tcp_port`, it also listens on 127.0.0.1 at that port (else on its socket only)."""
        import glob
        import shutil

        self.tcp_port = tcp_port
        self.port = tcp_port or 5432

        initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if os.geteuid() != 0 or not initdbs:
            pytest.skip("needs root and Debian's postgresql (make test installs it)")
        self.bindir = os.path.dirname(initdbs[-1])
        self.directory = tempfile.mkdtemp(prefix="convlog-pg-", dir="/tmp")
        shutil.chown(self.directory, "postgres", "postgres")
        subprocess.run(self._as_postgres(f"{self.bindir}/initdb", "-D", f"{self.directory}/data", "-A", "trust", "-U", "postgres", "--no-sync"),
                       check=True, capture_output=True, timeout=120)
        self.start()

    @property
    def url(self) -> str:
        """The database as convlog's --store takes it."""
        return f"postgres://postgres@/postgres?host={self.directory}&port={self.port}"

    @staticmethod
    def _as_postgres(*command: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command]

    def _pg_ctl(self, *arguments: str) -> None:
        subprocess.run(self._as_postgres(f"{self.bindir}/pg_ctl", "-D", f"{self.directory}/data", *arguments), check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        listen = "127.0.0.1" if self.tcp_port else ""
        self._pg_ctl("-w", "-l", f"{self.directory}/log", "-o", f"-k {self.directory} -p {self.port} -c listen_addresses='{listen}' -c fsync=off", "start")

    def require_password(self, role: str) -> None:
        """Makes `role` authenticate with its password (SCRAM) over TCP; everything else stays trusted."""
        hba = f"{self.directory}/data/pg_hba.conf"
        with open(hba) as handle:
            rules = handle.read()
        with open(hba, "w") as handle:
            handle.write(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + rules)
        self._pg_ctl("reload")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")

    def crash(self) -> None:
        """Stops the server as a crash would: WAL not yet written out is lost, recovery runs at the next start."""
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def psql(self, *arguments: str) -> str:
        """Runs psql as the postgres user; returns its unaligned output."""
        done = subprocess.run(self._as_postgres("psql", "-h", self.directory, "-p", str(self.port), "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt", *arguments),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def remove(self) -> None:
        import shutil

        subprocess.run(self._as_postgres(f"{self.bindir}/pg_ctl", "-D", f"{self.directory}/data", "-m", "immediate", "-w", "stop"),
                       capture_output=True, timeout=120)
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL cluster (see PostgresCluster), removed after the test."""
    cluster = PostgresCluster()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def daemon_process():
    """A convlogd the test starts, stops, kills and restarts itself (stopped at the end)."""
    with tempfile.TemporaryDirectory(prefix="convlog-py-", dir="/tmp") as directory:
        handle = DaemonProcess(directory)
        try:
            yield handle
        finally:
            handle.stop()


@pytest.fixture
def daemon(daemon_process):
    """A running convlogd; yields its socket path. Stopped (SIGTERM) after the test."""
    yield daemon_process.start()


@pytest.fixture
def client(daemon):
    with Client(daemon, timeout=10) as c:
        yield c
