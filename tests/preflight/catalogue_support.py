# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The harness of the preflight catalogue: a case's inventory (site groups, envoys, PKI and artifacts
dirs of its own), site.yml run on the session's sandbox, and the listing of everything a run could
create or change (the sandbox's Kubernetes objects through its API, KubeFATE's clusters, charts and
jobs through its REST API, the files under the case's PKI and artifacts dirs), compared before and
after.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sandbox.kubefate.service import SERVICE_VERSION

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "k8s_roles"))
from k8s_roles_support import DESCRIPTOR, GOOD_ENVOY_VARS, make_envoy_cert

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CONTEXT = "sandbox"
PASSPHRASE = "catalogue-ca-passphrase-5b0c"
CHART_DIR = ROOT / "charts" / "openfl-envoy"
SITE = f"---\n- name: The whole rollout\n  ansible.builtin.import_playbook: {ROOT}/site.yml\n"
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+failed=(?P<failed>\d+)", re.M
)
# Kinds a rollout creates, listed through the Kubernetes API: (api group path, plural).
# What a case that turns a knob restores (the session sandbox's own settings).
DEFAULT_KNOBS = {
    "job_latency": 0.0,
    "token_ttl": 1800,
    "fault_rate": 0.0,
    "job_time_limit": 60.0,
    "service_version": SERVICE_VERSION,
}
KINDS = (("api/v1", "namespaces"), ("api/v1", "secrets"), ("api/v1", "configmaps"), ("apis/apps/v1", "deployments"))


@dataclass
class Endpoints:
    """The sandbox site every case starts from (kubeconfig, KubeFATE URL and credentials)."""

    kubeconfig: Path
    viewer_kubeconfig: Path  # a read-only identity on the same API
    kube_url: str
    kube_token: str
    kubefate_url: str
    kubefate_username: str
    kubefate_password: str


@dataclass
class CaseInventory:
    """One case's inventory: site groups under `envoys`, each with its connection settings and hosts.

    `envoys` holds what every site shares; `sites[group]` a site's own settings (the connection);
    `hosts[group]` its envoys; `host_vars[envoy]` an envoy's own. Edits of a case change these.
    """

    tmp: Path
    token: str
    endpoints: Endpoints
    envoys: dict[str, Any] = field(default_factory=dict)
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    hosts: dict[str, list[str]] = field(default_factory=dict)
    host_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Envoys right under `envoys`, in no site group.
    loose_hosts: list[str] = field(default_factory=list)

    @property
    def pki_dir(self) -> Path:
        return self.tmp / "pki"

    @property
    def artifacts_dir(self) -> Path:
        return self.tmp / "artifacts"

    @property
    def site(self) -> str:
        return next(iter(self.sites))

    def envoy(self, n: int) -> str:
        return f"{self.token}-e{n}"

    @property
    def all_envoys(self) -> list[str]:
        return sorted({host for hosts in self.hosts.values() for host in hosts} | set(self.loose_hosts))

    def python_dir(self, envoy: str) -> Path:
        return self.tmp / "python" / envoy

    def write(self) -> Path:
        for envoy in self.all_envoys:
            pydir = self.python_dir(envoy)
            if not pydir.exists():
                pydir.mkdir(parents=True)
                (pydir / "test_shard_descriptor.py").write_text(DESCRIPTOR)
        children: dict[str, Any] = {}
        for group, settings in self.sites.items():
            hosts = {h: self.host_vars.get(h) or None for h in self.hosts.get(group, [])}
            children[group] = {"hosts": hosts, "vars": settings}
        envoys: dict[str, Any] = {"children": children, "vars": self.envoys}
        if self.loose_hosts:
            envoys["hosts"] = {h: self.host_vars.get(h) or None for h in self.loose_hosts}
        tree = {"all": {"children": {"envoys": envoys}}}
        directory = self.tmp / "inventory"
        directory.mkdir(exist_ok=True)
        (directory / "hosts.yml").write_text(yaml.safe_dump(tree, sort_keys=False))
        return directory


def base_inventory(tmp: Path, token: str, endpoints: Endpoints, envoys: int = 2) -> CaseInventory:
    """A good inventory: one site group with `envoys` envoys, every setting valid."""
    inv = CaseInventory(tmp=tmp, token=token, endpoints=endpoints)
    group = f"{token.replace('-', '_')}_site"
    inv.envoys = {
        "ansible_connection": "local",
        "ansible_python_interpreter": str(VENV_BIN / "python"),
        "openfl_pki_dir": str(inv.pki_dir),
        "openfl_artifacts_dir": str(inv.artifacts_dir),
        "openfl_ca_passphrase": PASSPHRASE,
        **copy.deepcopy(GOOD_ENVOY_VARS),
        "envoy_cluster_health_timeout": 60,
        "envoy_cluster_health_interval": 1,
    }
    inv.sites[group] = {
        "openfl_site": f"{token}-site",
        "openfl_k8s_kubeconfig": str(endpoints.kubeconfig),
        "openfl_k8s_context": CONTEXT,
        "openfl_kubefate_url": endpoints.kubefate_url,
        "openfl_kubefate_username": endpoints.kubefate_username,
        "openfl_kubefate_password": endpoints.kubefate_password,
    }
    inv.hosts[group] = [inv.envoy(n) for n in range(1, envoys + 1)]
    for envoy in inv.hosts[group]:
        inv.host_vars[envoy] = {"openfl_envoy_python_dir": str(inv.python_dir(envoy))}
    return inv


@dataclass
class Run:
    rc: int
    out: str
    seconds: float

    def recap(self) -> dict[str, tuple[int, int]]:
        return {m["host"]: (int(m["changed"]), int(m["failed"])) for m in RECAP.finditer(self.out)}


def run_site(inv: CaseInventory, *args: str, watch: Callable[[str], None] | None = None, timeout: int = 420) -> Run:
    """site.yml over the case's inventory, as an operator runs it (Ansible's temp dirs in the case's tmp);
    `watch` sees each output line as it comes (to inject a fault mid-run)."""
    directory = inv.write()
    book = inv.tmp / "site.yml"
    book.write_text(SITE)
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(inv.tmp / "ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(inv.tmp / "ansible-remote"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    command = [str(VENV_BIN / "ansible-playbook"), "-i", str(directory), str(book), *args]
    started, lines = time.monotonic(), []
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        deadline = threading.Timer(timeout, proc.kill)  # a hung run fails its case instead of the session
        deadline.start()
        try:
            for line in proc.stdout:
                lines.append(line)
                if watch is not None:
                    watch(line)
        finally:
            deadline.cancel()
    return Run(proc.returncode, "".join(lines), time.monotonic() - started)


# --- what a run could create or change ------------------------------------------------------------


class Observer:
    """Lists the sandbox's state through its own APIs (not through the code under test)."""

    def __init__(self, endpoints: Endpoints) -> None:
        import requests

        self.endpoints = endpoints
        self.http = requests.Session()

    def _kube(self, path: str) -> list[dict]:
        answer = self.http.get(
            f"{self.endpoints.kube_url}/{path}",
            headers={"Authorization": f"Bearer {self.endpoints.kube_token}"},
            timeout=20,
        )
        answer.raise_for_status()
        return answer.json().get("items") or []

    def _kubefate(self, path: str) -> list[dict]:
        url = self.endpoints.kubefate_url
        for _ in range(10):  # inspection must not flake if a case left the fault knob on
            login = self.http.post(
                f"{url}/v1/user/login",
                json={"username": self.endpoints.kubefate_username, "password": self.endpoints.kubefate_password},
                timeout=20,
            )
            if login.status_code != 200:
                continue
            answer = self.http.get(
                f"{url}{path}", headers={"Authorization": f"Bearer {login.json()['token']}"}, timeout=20
            )
            if answer.status_code == 200 and answer.text:
                return answer.json().get("data") or []
        raise AssertionError(f"KubeFATE {path} kept failing")

    def state(self) -> dict[str, dict[str, str]]:
        """{kind: {identity: version}} of every object a rollout touches, on the whole sandbox."""
        found: dict[str, dict[str, str]] = {}
        for group, plural in KINDS:
            found[plural] = {
                f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}": o["metadata"].get(
                    "resourceVersion", ""
                )
                for o in self._kube(f"{group}/{plural}")
            }
        found["kubefate clusters"] = {
            f"{c['namespaces']}/{c['name']}/{c['uuid']}": f"{c['status']} r{c['revision']}"
            for c in self._kubefate("/v1/cluster/?all=true")
        }
        found["kubefate jobs"] = {
            f"{(j.get('meta_data') or {}).get('name', '')}/{j['uuid']}": j["status"] for j in self._kubefate("/v1/job/")
        }
        found["kubefate charts"] = {f"{c['name']}/{c['version']}/{c['uuid']}": "" for c in self._kubefate("/v1/chart/")}
        return found


def configure(endpoints: Endpoints, knobs: dict) -> None:
    """Set knobs of the sandbox's KubeFATE (shared by every case: only cases that run alone do)."""
    import requests

    answer = requests.post(f"{endpoints.kubefate_url}/_sandbox/config", json=knobs, timeout=10)
    assert answer.status_code == 200, answer.text


def files_under(*directories: Path) -> dict[str, str]:
    """{path: sha256 and mode} of every file under the directories (absent directories list nothing)."""
    found = {}
    for directory in directories:
        for path in sorted(directory.rglob("*")) if directory.exists() else []:
            if path.is_file():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
                found[str(path)] = f"{digest} {oct(path.stat().st_mode & 0o777)}"
            elif path.is_dir():
                found[str(path)] = "dir"
    return found


def differences(
    before: dict[str, dict[str, str]], after: dict[str, dict[str, str]], token: str | None, alone: bool = True
) -> list[str]:
    """What changed between two listings: every change of an object naming the case's envoys (token)
    and, when the run was `alone` (nothing else ran in between), any object that appeared or went
    away and any change of KubeFATE's charts.

    Objects of earlier tests in the session may still move on their own (a pod's status, a job that
    finishes), so a change in place of an object naming no envoy of the case does not count. Cases
    that run at once cannot be told apart by a chart (shared by every envoy of a service) or by an
    object of another case: their batch's listing is compared as a whole, as one run alone."""
    changes = []
    for kind in sorted(set(before) | set(after)):
        old, new = before.get(kind, {}), after.get(kind, {})
        for key in sorted(set(old) | set(new)):
            if old.get(key) == new.get(key):
                continue
            mine = token is not None and f"{token}-" in key
            if mine or (alone and (kind == "kubefate charts" or key not in old or key not in new)):
                changes.append(f"{kind}: {key}: {old.get(key, '(absent)')} -> {new.get(key, '(absent)')}")
    return changes


def api_down_kubeconfig(inv: CaseInventory) -> Path:
    """A copy of the sandbox kubeconfig whose API server does not answer (nothing listens on port 9)."""
    config = yaml.safe_load(inv.endpoints.kubeconfig.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = "http://127.0.0.1:9"
    path = inv.tmp / "kubeconfig-api-down"
    path.write_text(yaml.safe_dump(config))
    return path


def message_line(out: str, who: str, what: str) -> str | None:
    """The first output line naming both the envoy (or site) and the field (or file)."""
    for line in out.splitlines():
        if who in line and re.search(what, line):
            return line.strip()
    return None


# --- PKI made at test time --------------------------------------------------------------------------


class Pki:
    """A CA key made once per session; CAs (good, expired, short-lived) and envoy files made from it."""

    def __init__(self, key_size: int = 4096) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)

    def write_ca(self, pki_dir: Path, days_left: float = 3650, passphrase: str = PASSPHRASE) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OpenFL Federation Root CA")])
        not_after = now + datetime.timedelta(days=days_left)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(min(now, not_after) - datetime.timedelta(days=1))
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        ca_dir = pki_dir / "ca"
        ca_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(pki_dir, 0o700)
        os.chmod(ca_dir, 0o700)
        (ca_dir / "root_ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
        (ca_dir / "root_ca.key").write_bytes(key_pem)
        os.chmod(ca_dir / "root_ca.key", 0o600)

    def write_envoy(self, pki_dir: Path, envoy: str, key_pem: bytes | None = None, cn: str | None = None) -> Path:
        """An envoy's three files signed by this CA, as an earlier run left them (an EC key: not the RSA
        key the envoy_cert role asks for by default), with another CN, or key_pem (garbage) as the key."""
        from cryptography import x509

        ca_cert = x509.load_pem_x509_certificate((pki_dir / "ca" / "root_ca.crt").read_bytes())
        directory = make_envoy_cert(pki_dir, (self.key, ca_cert), envoy, cn=cn)
        if key_pem is not None:
            (directory / "priv.key").write_bytes(key_pem)
        return directory
