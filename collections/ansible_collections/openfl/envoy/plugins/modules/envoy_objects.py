#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: envoy_objects
short_description: Apply the namespace, the envoy-cert Secret and the envoy-python-configs ConfigMap of many envoys
version_added: 0.2.0
description:
  - For every envoy given, in one process with one API connection per kubeconfig and context (manual steps 13-15)
    creates or updates the envoy's namespace (labelled as the envoy's; annotated as created by this tool only when
    it created it), the Secret C(envoy-cert) holding exactly C(envoy.crt), C(priv.key) and C(root_ca.crt) from the
    envoy's PKI directory, and the ConfigMap C(envoy-python-configs) mirroring the envoy's python directory (a file
    that left the directory leaves the ConfigMap).
  - A namespace labelled as another envoy's is refused. Keys someone else added to the secret are removed.
  - Check mode reads and predicts without writing, also before the namespace or the certificate exists.
  - Meant to run once per play (C(run_once)), followed by M(openfl.envoy.envoy_result) per envoy, which reports
    each envoy's own change, failure and diff. Results never hold secret values; the diff shows key names and
    sha256 fingerprints.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - openfl.envoy.controller
  - openfl.envoy.attributes.diff
requirements:
  - kubernetes (Python package)
options:
  envoys:
    description:
      - The envoys, as the playbooks' envoy contract describes them (C(playbooks/vars/envoy.yml)).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The envoy's name (label C(openfl.envoy/name)).
        type: str
        required: true
      namespace:
        description: The envoy's namespace.
        type: str
        required: true
      site:
        description: The envoy's site (namespace annotation C(openfl.envoy/site)); none when empty.
        type: str
        default: ''
      pki_dir:
        description: The directory holding the envoy's C(envoy.crt), C(priv.key) and C(root_ca.crt).
        type: path
        required: true
      python_dir:
        description: The envoy's python directory (one ConfigMap key per file).
        type: path
        required: true
      labels:
        description: More labels for the envoy's objects; the tool's own labels win.
        type: dict
        default: {}
      kubeconfig:
        description: The kubeconfig of the envoy's cluster; the client's default when not set.
        type: path
      context:
        description: The kubeconfig context; the current one when not set.
        type: str
"""

EXAMPLES = r"""
- name: Apply every envoy's namespace, envoy-cert secret and python configmap
  openfl.envoy.envoy_objects:
    envoys:
      - name: envoy-1
        namespace: openfl-envoy-1
        site: site-a
        pki_dir: /srv/pki/site-a/envoys/envoy-1
        python_dir: /srv/envoys/envoy-1/python
        kubeconfig: ~/.kube/site-a
        context: site-a-admin
  run_once: true
  register: envoy_k8s_batch
"""

RETURN = r"""
envoys:
  description:
    - One entry per envoy, by name, with C(namespace_secret) and C(configmap), each holding C(changed), C(failed),
      C(msg) and, when changed, C(diff); and C(changed)/C(failed) over both.
  returned: always
  type: dict
"""

from ansible_collections.openfl.envoy.plugins.module_utils.envoy_objects import argument_spec, run
from ansible_collections.openfl.envoy.plugins.module_utils.module_result import run_module


def main() -> None:
    # Plays run it in its action plugin, in the controller's worker; this is the same code.
    run_module(argument_spec(), run)


if __name__ == "__main__":
    main()
