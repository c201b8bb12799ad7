"""Support for the KubeFATE module and role tests on the sandbox.

Modules run as Ansible runs them on the control node: a separate Python process given the module's
arguments (``{"ANSIBLE_MODULE_ARGS": ...}`` with ``_ansible_check_mode``/``_ansible_diff``), printing
its JSON result. The sandbox's KubeFATE is inspected with plain ``requests`` (not with the client
under test), and its knobs are set through ``/_sandbox/config``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml
from k8s_roles_support import RECAP

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
COLLECTIONS = ROOT / "collections"
CHART_DIR = ROOT / "charts" / "openfl-envoy"
MODULES = "ansible_collections.openfl.envoy.plugins.modules"
CHART_META = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
CHART_NAME, CHART_VERSION = str(CHART_META["name"]), str(CHART_META["version"])
ENVOY_CONFIG = {
    "params": {"cuda_devices": []},
    "optional_plugin_components": {},
    "shard_descriptor": {"template": "test_shard_descriptor.TestShardDescriptor", "params": {"size": 8}},
}


@dataclass
class KubefateSite:
    url: str
    username: str
    password: str

    @property
    def connection(self) -> dict[str, Any]:
        return {"url": self.url, "username": self.username, "password": self.password}

    # -- inspection (independent of the client under test) ---------------------------------------
    def _token(self) -> str:
        answer = requests.post(
            f"{self.url}/v1/user/login", json={"username": self.username, "password": self.password}, timeout=10
        )
        answer.raise_for_status()
        return answer.json()["token"]

    def get(self, path: str) -> Any:
        for _ in range(10):  # the sandbox may inject faults; inspection must not flake
            try:
                answer = requests.get(
                    f"{self.url}{path}", headers={"Authorization": f"Bearer {self._token()}"}, timeout=10
                )
            except requests.RequestException:
                continue
            if answer.status_code == 200 and answer.text:
                return answer.json().get("data")
        raise AssertionError(f"GET {path} kept failing")

    def clusters(self, name: str | None = None, include_deleted: bool = False) -> list[dict]:
        found = self.get("/v1/cluster/?all=true" if include_deleted else "/v1/cluster/") or []
        return [c for c in found if name is None or c["name"] == name]

    def jobs(self, name: str | None = None, method: str | None = None) -> list[dict]:
        found = self.get("/v1/job/") or []
        return [
            j
            for j in found
            if (name is None or (j.get("meta_data") or {}).get("name") == name)
            and (method is None or j.get("method") == method)
        ]

    # -- knobs ------------------------------------------------------------------------------------
    def configure(self, **knobs: Any) -> None:
        answer = requests.post(f"{self.url}/_sandbox/config", json=knobs, timeout=10)
        assert answer.status_code == 200, answer.text

    def restart(self) -> None:
        answer = requests.post(f"{self.url}/_sandbox/restart", timeout=10)
        assert answer.status_code == 200, answer.text


@dataclass
class Result:
    rc: int
    data: dict[str, Any]
    stderr: str

    @property
    def failed(self) -> bool:
        return bool(self.data.get("failed")) or self.rc != 0

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def run_module(
    module: str, args: dict[str, Any], check: bool = False, diff: bool = False, timeout: int = 300
) -> Result:
    """Run one openfl.envoy module the way Ansible does on the control node."""
    payload = dict(args)
    payload["_ansible_check_mode"] = check
    payload["_ansible_diff"] = diff
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, handle)
        args_file = handle.name
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", f"{MODULES}.{module}", args_file],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    finally:
        os.unlink(args_file)
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    except (json.JSONDecodeError, IndexError):
        data = {"failed": True, "msg": proc.stdout}
    return Result(proc.returncode, data, proc.stderr)


def cluster_spec(name: str, namespace: str, version: str = CHART_VERSION, **envoy: Any) -> dict[str, Any]:
    """A cluster yaml with the seed's keys, as the envoy_cluster role builds it."""
    return {
        "name": name,
        "namespace": namespace,
        "chartName": CHART_NAME,
        "chartVersion": version,
        "registry": "federatedai",
        "pullPolicy": "IfNotPresent",
        "podSecurityPolicy": {"enabled": False},
        "modules": ["envoy"],
        "envoy": {
            "image": "fedlcm-openfl",
            "imageTag": "v0.3.0",
            "directorFqdn": "director",
            "directorIp": "192.0.2.10",
            "directorPort": 50051,
            "aggPort": 50052,
            "envoyConfigs": ENVOY_CONFIG,
            **envoy,
        },
    }


def chart_variant(tmp: Path, version: str, drop: tuple[str, ...] = (), edits: dict[str, str] | None = None) -> Path:
    """A copy of the chart with another version, files dropped or replaced."""
    target = tmp / f"chart-{version}" / CHART_NAME
    shutil.copytree(CHART_DIR, target)
    meta = dict(CHART_META, version=version)
    (target / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    for name in drop:
        (target / name).unlink()
    for name, text in (edits or {}).items():
        (target / name).write_text(text)
    return target


# --- site.yml as an operator runs it ------------------------------------------------------------

SITE = f"---\n- name: The whole rollout\n  ansible.builtin.import_playbook: {ROOT}/site.yml\n"


def rollout(site, tmp: Path, *args: str) -> subprocess.Popen:
    """site.yml over the test site, in its own process group, with Ansible's temp dirs under tmp."""
    inventory = site.write_inventory()
    book = site.tmp / "site.yml"
    book.write_text(SITE)
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(tmp / "local"),
        ANSIBLE_REMOTE_TEMP=str(tmp / "remote"),
        ANSIBLE_NOCOLOR="1",
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    command = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(book), *args]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=600)
    return proc.returncode, out


def changed(out: str) -> int:
    return sum(int(m["changed"]) for m in RECAP.finditer(out))
