"""Support for the envoy_preflight, envoy_namespace and envoy_configmap role tests on the sandbox.

Each test gets its own envoy names (so namespaces never collide on the session's sandbox), a
throwaway CA and envoy certificates made with ``cryptography`` in tmp (never committed), a python
dir, an inventory, and runs ansible-playbook from the repository root as an operator would.
"""

from __future__ import annotations

import base64
import datetime
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CONTEXT = "sandbox"
DESCRIPTOR = '''"""A tiny shard descriptor for tests."""


class TestShardDescriptor:
    def __init__(self, size: int = 8) -> None:
        self.size = size
'''
ENVOY_CONFIG = {
    "params": {"cuda_devices": []},
    "optional_plugin_components": {},
    "shard_descriptor": {"template": "test_shard_descriptor.TestShardDescriptor", "params": {"size": 8}},
}
# A good envoy's inputs besides its paths and site: its config, a director (nothing dials it here), an image.
GOOD_ENVOY_VARS = {
    "openfl_envoy_config": ENVOY_CONFIG,
    "openfl_director_fqdn": "director",
    "openfl_director_ip": "192.0.2.10",
    "openfl_director_port": 50051,
    "openfl_director_agg_port": 50052,
    "openfl_envoy_registry": "federatedai",
    "openfl_envoy_image": "fedlcm-openfl",
    "openfl_envoy_image_tag": "v0.3.0",
}
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.M,
)

# The plays load the project's envoy contract and connection settings, as playbooks/ does.
VARS_FILES = """  vars_files:
    - @ROOT@/playbooks/vars/connections.yml
    - @ROOT@/playbooks/vars/envoy.yml
"""
PLAYBOOK = """\
---
- name: Preflight
  hosts: envoys
  gather_facts: false
@VARS@  roles:
    - role: envoy_preflight
      # These plays have no KubeFATE: the site checks are tested in tests/sites.
      vars:
        envoy_preflight_check_sites: false

- name: Kubernetes objects
  hosts: envoys
  gather_facts: false
@VARS@  roles:
    - role: envoy_objects
""".replace("@VARS@", VARS_FILES)

# --- throwaway PKI ----------------------------------------------------------------------------------


def _cryptography():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    return x509, hashes, serialization, ec, NameOID


def make_ca(directory: Path) -> tuple[object, object]:
    x509, hashes, serialization, ec, NameOID = _cryptography()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test root CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "root_ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def make_envoy_cert(pki_dir: Path, ca: tuple[object, object], envoy: str, cn: str | None = None) -> Path:
    """Write <pki_dir>/envoys/<envoy>/{envoy.crt, priv.key, root_ca.crt} as the PKI stage would."""
    x509, hashes, serialization, ec, NameOID = _cryptography()
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn or envoy)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn or envoy)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory = pki_dir / "envoys" / envoy
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "envoy.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (directory / "priv.key").write_bytes(key_pem)
    os.chmod(directory / "priv.key", 0o600)
    (directory / "root_ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return directory


# --- a tmp site: envoys, inventory, playbook, runs ----------------------------------------------------


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    recap: dict[str, dict[str, int]]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def changed(self, host: str) -> int:
        return self.recap[host]["changed"]

    def failed(self, host: str) -> int:
        return self.recap[host]["failed"]


@dataclass
class Site:
    """A tmp inventory of envoys against the sandbox, with their PKI files and python dirs."""

    tmp: Path
    kubeconfig: str
    envoys: list[str]
    host_vars: dict[str, dict] = field(default_factory=dict)
    ca: tuple[object, object] | None = None

    @property
    def pki_dir(self) -> Path:
        return self.tmp / "pki"

    def python_dir(self, envoy: str) -> Path:
        return self.tmp / "python" / envoy

    def namespace(self, envoy: str) -> str:
        return self.host_vars.get(envoy, {}).get("openfl_envoy_namespace", f"openfl-{envoy}")

    def setup(self) -> Site:
        self.ca = make_ca(self.tmp / "ca")
        for envoy in self.envoys:
            make_envoy_cert(self.pki_dir, self.ca, envoy)
            pydir = self.python_dir(envoy)
            pydir.mkdir(parents=True)
            (pydir / "test_shard_descriptor.py").write_text(DESCRIPTOR)
            (pydir / "requirements.txt").write_text("numpy==1.26.4\n")
        return self

    def write_inventory(self) -> Path:
        hosts = {}
        for envoy in self.envoys:
            hosts[envoy] = {"openfl_envoy_python_dir": str(self.python_dir(envoy)), **self.host_vars.get(envoy, {})}
        inventory = {
            "all": {
                "children": {
                    "envoys": {
                        # Envoys sit in one site group under envoys (the inventory rule preflight checks).
                        "children": {CONTEXT: {"hosts": hosts}},
                        "vars": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": str(VENV_BIN / "python"),
                            "openfl_site": "sandbox",
                            "openfl_pki_dir": str(self.pki_dir),
                            **GOOD_ENVOY_VARS,
                            "openfl_k8s_kubeconfig": self.kubeconfig,
                            "openfl_k8s_context": CONTEXT,
                            # The key make_envoy_cert gives every envoy: preflight and the pki stage keep it.
                            "envoy_cert_key_type": "ec",
                            "envoy_cert_curve": "secp256r1",
                        },
                    }
                }
            }
        }
        path = self.tmp / "inventory.yml"
        path.write_text(yaml.safe_dump(inventory, sort_keys=False))
        return path

    def run(self, *args: str, playbook: str = PLAYBOOK) -> Run:
        inventory = self.write_inventory()
        book = self.tmp / "playbook.yml"
        book.write_text(playbook.replace("@ROOT@", str(ROOT)))
        env = dict(os.environ)
        env.update(
            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        )
        proc = subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(book), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        recap = {
            m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"} for m in RECAP.finditer(proc.stdout)
        }
        return Run(proc.returncode, proc.stdout, proc.stderr, recap)


# --- cluster access -------------------------------------------------------------------------------


class Cluster:
    """Reads (and for set-ups, writes) the sandbox with the kubernetes client."""

    def __init__(self, kubeconfig: str) -> None:
        from kubernetes import client, config

        api = config.new_client_from_config(config_file=kubeconfig, context=CONTEXT)
        self.core = client.CoreV1Api(api)
        self.client = client

    def _get(self, fn, *args):
        from kubernetes.client.exceptions import ApiException

        try:
            return fn(*args)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def namespace(self, name: str):
        return self._get(self.core.read_namespace, name)

    def secret(self, namespace: str, name: str = "envoy-cert"):
        return self._get(self.core.read_namespaced_secret, name, namespace)

    def configmap(self, namespace: str, name: str = "envoy-python-configs"):
        return self._get(self.core.read_namespaced_config_map, name, namespace)

    def secret_files(self, namespace: str) -> dict[str, bytes]:
        secret = self.secret(namespace)
        return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}
