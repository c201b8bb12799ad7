"""The KubeFATE test double's request counter: every HTTP request counts once, per site and in total.

The benchmark reads it from outside with `python -m sandbox stats` (SIGUSR1 to the background
process, which writes <state-dir>/stats.json) and takes deltas around each playbook run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from kubefate_double_support import PASSWORD, USERNAME, KubeFate

from sandbox import Sandbox
from sandbox.kubefate import KubeFateServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def own(sandbox: Sandbox) -> Iterator[KubeFate]:
    """A KubeFATE of the test's own, so that no other test's requests are counted."""
    site = sandbox.sites["sandbox"]
    server = KubeFateServer(site.kube_url, site.kube_token, USERNAME, PASSWORD)
    server.start()
    yield KubeFate(server)
    server.stop()


def test_every_request_counts_once_whatever_its_outcome(own: KubeFate) -> None:
    assert own.server.requests == 0
    own.login()  # 200
    assert own.call("GET", "/v1/version/").status_code == 200  # counted: the login above is not re-done
    assert own.call("GET", "/v1/version/", token="bad").status_code == 401
    assert own.call("GET", "/v1/version").status_code == 301
    assert own.call("GET", "/v1/nowhere").status_code == 404
    assert own.server.requests == 6  # the `token` property logged in once more
    own.configure(fault_rate=1.0)  # the knob request counts too; now every authenticated request faults
    assert own.call("GET", "/v1/version/").status_code == 500  # first fault: an empty 500
    with pytest.raises(requests.ConnectionError):
        own.call("GET", "/v1/version/")  # second: a dropped connection
    assert own.server.requests == 9


def test_sandbox_stats_per_site_and_total(tmp_path: Path) -> None:
    with Sandbox(tmp_path, sites=("site-a", "site-b")) as sb:
        for _ in range(3):
            requests.get(f"{sb.sites['site-a'].kubefate_url}/", timeout=5)
        requests.get(f"{sb.sites['site-b'].kubefate_url}/", timeout=5)
        assert sb.stats() == {"kubefate_requests": {"total": 4, "sites": {"site-a": 3, "site-b": 1}}}


def sandbox_cli(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sandbox", *args, "--state-dir", str(state_dir)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)


def cli_stats(state_dir: Path) -> dict:
    result = sandbox_cli(state_dir, "stats")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["kubefate_requests"]


def test_cli_stats_reads_the_background_process(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    assert sandbox_cli(state_dir, "stats").returncode == 1  # not running
    try:
        assert sandbox_cli(state_dir, "up", "--sites", "site-a,site-b").returncode == 0
        before = cli_stats(state_dir)
        url = yaml.safe_load((state_dir / "kubefate.yml").read_text())["sites"]["site-b"]["url"]
        for _ in range(2):
            requests.get(f"{url}/", timeout=5)
        after = cli_stats(state_dir)
        assert after["sites"]["site-b"] - before["sites"]["site-b"] == 2
        assert after["sites"]["site-a"] == before["sites"]["site-a"]
        assert after["total"] == sum(after["sites"].values())
    finally:
        assert sandbox_cli(state_dir, "down").returncode == 0
    assert not (state_dir / "stats.json").exists()
