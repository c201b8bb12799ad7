#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: envoy_inputs
short_description: Validate the inputs of every envoy of a rollout before anything changes
version_added: 0.2.0
description:
  - Checks the whole input set of every envoy given, in one process, with the rules of M(openfl.envoy.envoy_preflight)
    (name, namespace, python directory, envoy config, director settings, image settings, the CN of a certificate
    issued earlier), and adds an error for every namespace that two envoys claim on one cluster.
  - Each error names the envoy, the inventory variable or file, and the rule. Every error of every envoy is returned
    at once.
  - With O(any_errors_fatal=true) one bad envoy stops every envoy; the good ones fail with a message naming the bad
    ones, so nothing is half-applied.
  - Meant to run once per play (C(run_once)), followed by M(openfl.envoy.envoy_result) per envoy. Read-only.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - openfl.envoy.controller
  - openfl.envoy.attributes
options:
  envoys:
    description:
      - The envoys' inputs, as M(openfl.envoy.envoy_preflight) takes them, plus the cluster they go to.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The envoy name.
        type: str
        required: true
      cluster:
        description: Which Kubernetes cluster the envoy's namespace lives on (two envoys may not share one there).
        type: str
        default: ''
      namespace:
        description: The envoy's namespace.
        type: str
      python_dir:
        description: The envoy's python directory.
        type: path
      envoy_config:
        description: The envoy config.
        type: raw
      director_fqdn:
        description: The director host name the envoy dials.
        type: str
      director_ip:
        description: The director's exposed IP address.
        type: str
      director_port:
        description: The director's exposed port.
        type: raw
      director_agg_port:
        description: The aggregator's exposed port.
        type: raw
      registry:
        description: The image registry.
        type: str
      image:
        description: The envoy image.
        type: str
      image_tag:
        description: The envoy image tag.
        type: raw
      certificate_path:
        description: The envoy certificate; when it exists its CN must equal the envoy name.
        type: path
      private_key_path:
        description: The envoy's private key; when it exists it must be usable as O(key) says.
        type: path
  key:
    description:
      - The key the pki stage asks for, and its policy for an existing key (the C(envoy_cert) role's
        C(envoy_cert_key_type), C(envoy_cert_key_size), C(envoy_cert_curve), C(envoy_cert_regenerate)).
      - An existing envoy key that is unreadable, or of another type or size while the policy forbids replacing
        it, is an error here, before anything changes. Without O(key) existing keys are not checked.
    type: dict
    suboptions:
      key_type:
        description: The key type.
        type: str
        choices: [rsa, ec]
        default: rsa
      key_size:
        description: The RSA key size.
        type: int
        choices: [2048, 3072, 4096]
        default: 2048
      curve:
        description: The EC curve.
        type: str
        choices: [secp256r1, secp384r1]
        default: secp384r1
      regenerate:
        description: The policy for an existing key (M(openfl.envoy.envoy_certificates)' C(regenerate)).
        type: str
        choices: [never, fail, partial_idempotence, full_idempotence, always]
        default: fail
  any_errors_fatal:
    description:
      - V(true) - one bad envoy stops every envoy. V(false) - only bad envoys fail.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Check every envoy's inputs
  openfl.envoy.envoy_inputs:
    envoys: "{{ ansible_play_batch | map('extract', hostvars, 'envoy_preflight_entry') | list }}"
  run_once: true
  register: envoy_preflight_batch
"""

RETURN = r"""
envoys:
  description: One entry per envoy, by name, with C(failed), C(msg) and C(errors) (its own).
  returned: always
  type: dict
errors:
  description: Every error of every envoy.
  returned: always
  type: list
  elements: str
bad:
  description: The envoys with bad input.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.openfl.envoy.plugins.module_utils.envoy_inputs import argument_spec, run
from ansible_collections.openfl.envoy.plugins.module_utils.module_result import run_module


def main() -> None:
    # Plays run it in its action plugin, in the controller's worker; this is the same code.
    run_module(argument_spec(), run)


if __name__ == "__main__":
    main()
