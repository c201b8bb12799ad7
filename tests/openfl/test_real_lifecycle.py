"""`python -m sandbox up|down` with real envoys: down leaves no process and no temp file, up restarts the envoys."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from openfl_support import REPO, openfl_venv, run_playbooks, write_inventory

pytestmark = pytest.mark.openfl

VENV = openfl_venv(".venv-openfl")


def sandbox_cli(env: dict[str, str], state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sandbox", *args, "--state-dir", str(state_dir), "--openfl-venv", str(VENV)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=90, check=False)


def processes_under(directory: Path) -> list[str]:
    """Command lines of live processes whose working directory is inside `directory`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")).is_relative_to(directory):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


def director_info(state_dir: Path) -> dict:
    return yaml.safe_load((state_dir / "director.yml").read_text())


def wait_for(predicate, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


def test_down_leaves_nothing_and_up_restarts_the_real_envoys(tmp_path: Path) -> None:
    if not (VENV / "bin" / "fx").is_file():
        pytest.skip(f"no OpenFL virtualenv at {VENV} (make openfl-venv)")
    state_dir, temp = tmp_path / "sandbox", tmp_path / "tmp"
    temp.mkdir()
    env = dict(os.environ, TMPDIR=str(temp))  # the sandbox's own temp files must all be gone after down
    cert_dir = tmp_path / "pki" / "director"
    up = sandbox_cli(env, state_dir, "up", "--director-cert-dir", str(cert_dir))
    assert up.returncode == 0, up.stderr
    try:
        inventory = write_inventory(tmp_path, state_dir, {"envoy-1": {}}, {})
        run = run_playbooks(inventory, "site.yml")
        assert run.rc == 0 and "1 of 1 envoys registered" in run.stdout, run.stdout[-3000:]
        assert director_info(state_dir)["accepted_shards"] == ["envoy-1"]
        assert len(processes_under(state_dir / "run")) >= 2  # the director and the envoy (bash exec'd fx)

        down = sandbox_cli(env, state_dir, "down")
        assert down.returncode == 0, down.stderr
        assert processes_under(state_dir) == []
        assert not (state_dir / "run").exists() and list(temp.iterdir()) == []
        assert "Request was accepted" in (state_dir / "director.log").read_text()  # the log is kept

        up = sandbox_cli(env, state_dir, "up", "--director-cert-dir", str(cert_dir))
        assert up.returncode == 0 and "saved state restored" in up.stdout, up.stderr
        status = sandbox_cli(env, state_dir, "status")
        assert "envoys:     real" in status.stdout, status.stdout
        # The director starts from the certificate the pki stage wrote; the persisted envoy pod's
        # process starts again once the director listens, and registers again.
        assert wait_for(lambda: director_info(state_dir)["accepted_shards"] == ["envoy-1"]), director_info(state_dir)
        assert "accepted shards (1): envoy-1" in sandbox_cli(env, state_dir, "status").stdout
    finally:
        sandbox_cli(env, state_dir, "down", "--purge")
    assert processes_under(state_dir) == [] and list(temp.iterdir()) == []
