"""Helpers of the playbook-level PKI tests: a temp inventory of envoys, an ansible-playbook runner."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSPHRASE = "pki-test-passphrase-0f3c"
ENVOYS = ("envoy-1", "envoy-2", "envoy-3")
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")

PLAYBOOK = """\
---
- name: PKI | root CA and envoy certificates
  hosts: envoys
  gather_facts: false
  vars_files:
    - @REPO@/playbooks/vars/envoy.yml
  roles:
    - role: ca
    - role: envoy_cert

- name: PKI | director server certificate from the same CA
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Issue or verify the director certificate
      openfl.envoy.x509_certificate:
        profile: server
        common_name: localhost
        subject_alt_names: [DNS:localhost, IP:127.0.0.1]
        key_type: ec
        certificate_path: "{{ pki }}/director/director.crt"
        private_key_path: "{{ pki }}/director/director.key"
        root_ca_path: "{{ pki }}/director/root_ca.crt"
        ca_certificate_path: "{{ pki }}/ca/root_ca.crt"
        ca_private_key_path: "{{ pki }}/ca/root_ca.key"
        ca_passphrase: "{{ passphrase }}"
      vars:
        pki: "{{ hostvars['envoy-1'].openfl_pki_dir }}"
        passphrase: "{{ hostvars['envoy-1'].openfl_ca_passphrase }}"
"""


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    recap: dict[str, dict[str, int]]

    def changed(self, host: str) -> int:
        return self.recap[host]["changed"]


@dataclass
class Site:
    root: Path
    pki: Path
    inventory: Path
    playbook: Path

    def run(self, *args: str, passphrase: str = PASSPHRASE) -> Run:
        extra = [f"openfl_ca_passphrase={passphrase}"] if passphrase != PASSPHRASE else []
        cmd = [str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(self.playbook), *args]
        for item in extra:
            cmd += ["-e", item]
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
        return Run(proc.returncode, proc.stdout, proc.stderr, parse_recap(proc.stdout))


def parse_recap(stdout: str) -> dict[str, dict[str, int]]:
    recap: dict[str, dict[str, int]] = {}
    if "PLAY RECAP" not in stdout:
        return recap
    for line in stdout.split("PLAY RECAP", 1)[1].splitlines()[1:]:
        match = RECAP_LINE.match(line.strip())
        if match:
            counts = dict(pair.split("=") for pair in match.group("counts").split())
            recap[match.group("host")] = {k: int(v) for k, v in counts.items()}
    return recap


def make_site(root: Path) -> Site:
    root.mkdir(parents=True, exist_ok=True)
    pki = root / "pki"
    hosts = "\n".join(f"        {name}:" for name in ENVOYS)
    inventory = root / "hosts.yml"
    inventory.write_text(
        f"""---
all:
  children:
    envoys:
      hosts:
{hosts}
      vars:
        ansible_connection: local
        ansible_python_interpreter: {sys.executable}
        openfl_pki_dir: {pki}
        openfl_ca_passphrase: {PASSPHRASE}
        ca_key_size: 2048
"""
    )
    playbook = root / "pki.yml"
    playbook.write_text(PLAYBOOK.replace("@REPO@", str(REPO)))
    return Site(root, pki, inventory, playbook)
