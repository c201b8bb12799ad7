"""Helpers of the real-OpenFL tests: a temp inventory over a real-mode sandbox, an ansible-playbook runner."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")
SANDBOX_VARS = REPO / "inventories" / "sandbox" / "group_vars" / "envoys" / "main.yml"


def openfl_venv(name: str) -> Path:
    """The OpenFL virtualenv to test with (OPENFL_SANDBOX_VENV overrides the default name)."""
    return Path(os.environ.get("OPENFL_SANDBOX_VENV") or REPO / name)


@dataclass
class Run:
    rc: int
    stdout: str
    seconds: float
    recap: dict[str, dict[str, int]]

    def failed(self, host: str) -> bool:
        return self.recap.get(host, {}).get("failed", 0) > 0

    def failure(self, host: str) -> str:
        """The result of the task that failed `host` for good (the last `fatal: [host]: FAILED! => ...`)."""
        found = re.findall(
            rf"^fatal: \[{re.escape(host)}[^\]]*\]: FAILED! => (.*?)(?=^\S|\Z)", self.stdout, re.M | re.S
        )
        return found[-1] if found else ""


def write_inventory(root: Path, state_dir: Path, envoys: dict[str, dict], group_vars: dict) -> Path:
    """inventories/sandbox's settings (reused as they are) plus `group_vars` and per-envoy host vars."""
    inventory = root / "inventory"
    (inventory / "group_vars" / "envoys").mkdir(parents=True)
    (inventory / "host_vars").mkdir()
    (inventory / "group_vars" / "envoys" / "main.yml").write_text(SANDBOX_VARS.read_text())
    overrides = {
        "openfl_state_dir": str(state_dir),
        "openfl_pki_dir": str(root / "pki"),
        "openfl_artifacts_dir": str(root / "artifacts"),
        "openfl_envoy_python_dir": str(REPO / "files" / "shard_descriptors" / "dummy"),
        **group_vars,
    }
    (inventory / "group_vars" / "envoys" / "test.yml").write_text(yaml.safe_dump(overrides, sort_keys=False))
    hosts = {"all": {"children": {"envoys": {"children": {"sandbox": {"hosts": dict.fromkeys(envoys)}}}}}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    for name, host_vars in envoys.items():
        if host_vars:
            (inventory / "host_vars" / f"{name}.yml").write_text(yaml.safe_dump(host_vars, sort_keys=False))
    return inventory


def run_playbooks(inventory: Path, *playbooks: str, extra: tuple[str, ...] = (), timeout: int = 600) -> Run:
    """ansible-playbook over the repository's playbooks (and `extra` options), with the repository's ansible.cfg."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    command = [str(BIN / "ansible-playbook"), "-i", str(inventory), *extra, *(str(REPO / p) for p in playbooks)]
    started = time.monotonic()
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    recap: dict[str, dict[str, int]] = {}
    for line in proc.stdout.split("PLAY RECAP", 1)[-1].splitlines():
        match = RECAP_LINE.match(line.strip())
        if match:
            counts = dict(item.split("=") for item in match.group("counts").split())
            recap[match.group("host")] = {k: int(v) for k, v in counts.items()}
    return Run(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started, recap)
