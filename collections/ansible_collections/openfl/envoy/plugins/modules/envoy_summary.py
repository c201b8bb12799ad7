#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: envoy_summary
short_description: One line per envoy - site, namespace, certificate expiry, KubeFATE cluster and job, registration
version_added: 0.2.0
description:
  - Reads, for every envoy given and in one process, its certificate's expiry, its KubeFATE cluster and latest job
    (one listing per KubeFATE service) and whether its log shows that the director accepted its shard - the
    C(wait=false) snapshot of M(openfl.envoy.envoy_health).
  - Writes the lines as C(summary.json) and C(summary.md) to O(summary_dir) when they changed, and returns them.
  - Changes nothing else; reading never fails the task (an envoy that cannot be read shows as such).
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - openfl.envoy.controller
  - openfl.envoy.attributes
requirements:
  - kubernetes (Python package)
options:
  envoys:
    description:
      - The envoys, each as O(openfl.envoy.envoy_health#module:envoys) takes it, plus its site.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The envoy's name.
        type: str
        required: true
      namespace:
        description: The envoy's namespace.
        type: str
        required: true
      site:
        description: The envoy's site (V(default) when empty).
        type: str
        default: ''
      certificate_path:
        description: The envoy's certificate on the control node.
        type: path
      kubefate:
        description: The KubeFATE connection (the options of the C(openfl.envoy.kubefate) doc fragment).
        type: dict
        suboptions:
          url:
            description: Base URL of the KubeFATE service, without C(/v1).
            type: str
            required: true
          username:
            description: KubeFATE user.
            type: str
            required: true
          password:
            description: Password of the user.
            type: str
            required: true
          validate_certs:
            description: Verify the TLS certificate of an C(https) URL.
            type: bool
            default: true
          ca_path:
            description: PEM file of the CA of the service's certificate.
            type: path
          host_header:
            description: Value of the HTTP C(Host) header.
            type: str
          timeout:
            description: Seconds each single HTTP request may take.
            type: int
            default: 30
      kubernetes:
        description: The Kubernetes connection.
        type: dict
        suboptions:
          kubeconfig:
            description: Path of the kubeconfig; the client's default when not set.
            type: path
          context:
            description: The kubeconfig context; its current one when not set.
            type: str
  summary_dir:
    description:
      - Where C(summary.json) and C(summary.md) go; none are written when not set.
    type: path
  failed:
    description:
      - Envoys of this run that failed at an earlier step (Ansible leaves them out of later plays); each gets a
        line marked C(failed), so the summary lists every envoy of the run.
    type: list
    elements: str
    default: []
  seen:
    description:
      - What this run's install stage saw, so that it is not read again - C(health), the C(envoys) result of
        M(openfl.envoy.envoy_health) (the verdicts), and C(submit), the C(envoys) result of
        M(openfl.envoy.envoy_clusters), both by envoy name.
      - An envoy's line comes from them when its verdict is there and not skipped and the submit step left its
        cluster as it was (an install or update changes the cluster's status after the submit's listing); the
        envoys they do not tell are read as without O(seen).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Summarise every envoy
  openfl.envoy.envoy_summary:
    envoys: "{{ ansible_play_batch | map('extract', hostvars, 'rollout_summary_entry') | list }}"
    summary_dir: "{{ playbook_dir }}/../artifacts/site-a"
  run_once: true
  register: summary
"""

RETURN = r"""
lines:
  description:
    - One line per envoy, sorted by site and envoy - C(envoy), C(site), C(namespace), C(certificate_expires),
      C(cluster_status), C(job), C(job_status), C(registered).
  returned: always
  type: list
  elements: dict
markdown:
  description: The summary as Markdown (what C(summary.md) holds).
  returned: always
  type: str
written:
  description: The summary files that were (in check mode, would be) written.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.openfl.envoy.plugins.module_utils.envoy_summary import argument_spec, run
from ansible_collections.openfl.envoy.plugins.module_utils.module_result import run_module


def main() -> None:
    # Plays run it in its action plugin, in the controller's worker; this is the same code.
    run_module(argument_spec(), run)


if __name__ == "__main__":
    main()
