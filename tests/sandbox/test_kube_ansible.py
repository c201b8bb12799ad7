"""kubernetes.core (the modules the roles use) against the Kubernetes API test double: a smoke check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sandbox import Sandbox

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/kubernetes.core.k8s:
      kubeconfig: "{kubeconfig}"
      context: sandbox
  tasks:
    - name: Namespace
      kubernetes.core.k8s:
        name: "{namespace}"
        kind: Namespace
      register: ns
    - name: Secret, first time
      kubernetes.core.k8s: &secret
        namespace: "{namespace}"
        definition:
          apiVersion: v1
          kind: Secret
          metadata: {{name: s}}
          stringData: {{a: b}}
      register: first
    - name: Secret, again
      kubernetes.core.k8s: *secret
      register: second
    - name: ConfigMap in check mode
      kubernetes.core.k8s:
        namespace: "{namespace}"
        definition: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: c}}, data: {{k: v}}}}
      check_mode: true
      register: checked
    - name: ConfigMap applied twice
      kubernetes.core.k8s:
        namespace: "{namespace}"
        apply: true
        definition: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: c}}, data: {{k: v}}}}
      loop: [1, 2]
      register: applied
    - name: Deployment, waited for
      kubernetes.core.k8s:
        namespace: "{namespace}"
        wait: true
        wait_timeout: 20
        definition:
          apiVersion: apps/v1
          kind: Deployment
          metadata: {{name: web}}
          spec:
            selector: {{matchLabels: {{app: web}}}}
            template:
              metadata: {{labels: {{app: web}}}}
              spec: {{containers: [{{name: web, image: "nginx:1"}}]}}
      register: deployment
    - name: Namespace removed, waited for
      kubernetes.core.k8s:
        name: "{namespace}"
        kind: Namespace
        state: absent
        wait: true
      register: removed
    - name: Report
      ansible.builtin.copy:
        dest: "{report}"
        content: "{{{{ dict(ns=ns.changed, first=first.changed, second=second.changed, checked=checked.changed,
          applied=applied.results | map(attribute='changed') | list,
          ready=deployment.result.status.availableReplicas,
          removed=removed.changed) | to_json }}}}"
"""


def test_kubernetes_core_modules_against_the_sandbox(sandbox: Sandbox, namespace_name: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK.format(kubeconfig=sandbox.kubeconfig, namespace=namespace_name, report=report))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert json.loads(report.read_text()) == {
        "ns": True,
        "first": True,
        "second": False,
        "checked": True,
        "applied": [True, False],
        "ready": 1,
        "removed": True,
    }
