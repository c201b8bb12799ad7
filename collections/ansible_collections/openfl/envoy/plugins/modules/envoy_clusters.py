#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: envoy_clusters
short_description: Submit the KubeFATE cluster install or update of many envoys, without waiting
version_added: 0.2.0
description:
  - For every envoy given, in one process (manual steps 16-18), decides whether its KubeFATE cluster must be
    installed, updated or left alone, and submits the installs and updates without waiting for their jobs.
  - Per KubeFATE service (URL, Host header and user) it logs in once and lists the clusters and the jobs once;
    every envoy's decision is made from those listings, so the requests per envoy do not grow with the number of
    envoys.
  - Each envoy's spec gets the pod annotations C(checksum/envoy-cert) and C(checksum/envoy-python-configs), the
    fingerprints of its certificate and of its python files, so that a renewed certificate or a changed shard
    descriptor rolls the envoy. The audit copy of the spec (secret-looking values masked) is written to
    O(envoys[].spec_file).
  - An envoy whose cluster KubeFATE is deleting fails with the way out (re-run once the delete job ended).
  - Meant to run once per play (C(run_once)), followed by M(openfl.envoy.envoy_result) per envoy.
    Check mode decides without submitting or writing.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - openfl.envoy.controller
  - openfl.envoy.attributes.diff
options:
  envoys:
    description:
      - The envoys and their cluster specs.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The cluster name (the envoy's name).
        type: str
        required: true
      namespace:
        description: The envoy's namespace.
        type: str
        required: true
      spec:
        description:
          - The cluster yaml, with the keys of the seed's C(oe_cluster.yaml) (C(chartName), C(chartVersion),
            C(modules), C(envoy), ...). C(name) and C(namespace) are set from the options above.
        type: dict
        required: true
      certificate_path:
        description: The envoy's certificate (fingerprinted; empty fingerprint while it does not exist).
        type: path
        required: true
      python_dir:
        description: The envoy's python directory (fingerprinted).
        type: path
        required: true
      spec_file:
        description: Where the audit copy of the spec goes; none when not set.
        type: path
      kubefate:
        description: The KubeFATE connection (the options of the C(openfl.envoy.kubefate) doc fragment).
        type: dict
        required: true
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
            description: Password of O(envoys[].kubefate.username).
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
  cover:
    description:
      - KubeFATE's install option C(cover) for new clusters (uninstall a Helm release of the same name KubeFATE does
        not know).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Submit every envoy's cluster install or update (one login and one listing per service)
  openfl.envoy.envoy_clusters:
    envoys: "{{ ansible_play_batch | map('extract', hostvars, 'envoy_cluster_entry') | list }}"
  run_once: true
  register: envoy_cluster_batch
  no_log: true
"""

RETURN = r"""
envoys:
  description:
    - One entry per envoy, by name, with C(changed), C(failed), C(msg), C(action) (none, install or update),
      C(job_uuid) (the submitted job, or the latest one of an unchanged cluster), C(job), C(cluster), C(spec)
      (secret-looking values masked) and, when changed, C(diff).
  returned: always
  type: dict
"""

from ansible_collections.openfl.envoy.plugins.module_utils.envoy_clusters import argument_spec, run
from ansible_collections.openfl.envoy.plugins.module_utils.module_result import run_module


def main() -> None:
    # Plays run it in its action plugin, in the controller's worker; this is the same code.
    run_module(argument_spec(), run)


if __name__ == "__main__":
    main()
