"""Prometheus metrics at GET /metrics, from a real daemon over real HTTP."""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.request

import pytest

from conftest import DaemonProcess
from convlog import Client, SessionNotFound


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_count_requests_errors_commits_and_the_log(daemon_process: DaemonProcess):
    port = free_port()
    client = Client(daemon_process.start("--metrics-listen", f"127.0.0.1:{port}"))
    for index in range(7):
        client.add("m", "user", f"message {index}", create_if_missing=True)
    with pytest.raises(SessionNotFound):
        client.get_context("missing")
    client.delete_session("m")
    samples = scrape(port)
    assert samples['convlog_requests_total{method="add"}'] == 7
    assert samples['convlog_request_errors_total{method="getContext",code="-32001"}'] == 1
    assert samples['convlog_request_duration_seconds_count{method="add"}'] == 7
    assert any(re.match(r'convlog_request_duration_seconds_bucket\{method="add",le=', name) for name in samples)
    assert samples["convlog_commit_batch_appends_count"] >= 8 and samples["convlog_commit_duration_seconds_count"] >= 8
    assert samples["convlog_log_events"] == client.stats().events
    assert samples['convlog_sessions{state="deleted"}'] == 1 and samples['convlog_sessions{state="live"}'] == 0
    assert samples["convlog_connections"] >= 1 and samples["convlog_data_file_bytes"] > 0 and samples["convlog_map_bytes"] > 0
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=10)
    assert error.value.code == 404


def test_bad_metrics_address_is_refused_at_start(daemon_process: DaemonProcess):
    with pytest.raises(RuntimeError, match="--metrics-listen must be host:port"):
        daemon_process.start("--metrics-listen", "9464")
