#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: director_inputs
short_description: Check the inputs of the OpenFL director the inventory deploys, before anything changes
version_added: 0.3.0
description:
  - Checks the director's name (a DNS-1123 label of at most 53 characters, its KubeFATE cluster name), namespace,
    FQDN (OpenFL's rule, and not an envoy's name), sample and target shapes (non-empty lists of positive integers),
    envoy health-check period, Service type and fixed nodePorts (0 or 30000-32767, distinct, none with C(ClusterIP))
    and, with the notebook enabled, its password hash.
  - For every envoy of O(envoy_director_fqdns), checks it dials O(fqdn); for every envoy of O(envoy_configs) whose
    envoy config declares C(shard_descriptor.params.sample_shape) or
    C(target_shape), checks they equal the director's, as OpenFL's director compares them (as text).
  - Fails with every error at once, each naming the director or the envoy, the inventory variable and the rule.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openfl.envoy.attributes
options:
  name:
    description: The director's name (its inventory host).
    type: str
    required: true
  namespace:
    description: The director's namespace (C(openfl_director_namespace)).
    type: raw
  fqdn:
    description: The name the envoys dial and the director's certificate carries (C(openfl_director_fqdn)).
    type: raw
  sample_shape:
    description: C(openfl_director_sample_shape).
    type: raw
  target_shape:
    description: C(openfl_director_target_shape).
    type: raw
  envoy_health_check_period:
    description: C(openfl_director_envoy_health_check_period).
    type: raw
  service_type:
    description: C(openfl_director_service_type).
    type: raw
  node_port:
    description: C(openfl_director_node_port).
    type: raw
  agg_node_port:
    description: C(openfl_director_agg_node_port).
    type: raw
  notebook_enabled:
    description: C(openfl_director_notebook_enabled).
    type: bool
    default: false
  notebook_password_hash:
    description: C(openfl_director_notebook_password_hash).
    type: str
  envoy_configs:
    description: The envoys of the inventory, by name, with their envoy configs (C(openfl_envoy_config)).
    type: dict
    default: {}
  envoy_director_fqdns:
    description:
      - The envoys of the inventory, by name, with the director name each dials (C(openfl_director_fqdn)); each must
        equal O(fqdn), the name the director's certificate carries.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Check the director's inputs and its shapes against the envoys'
  openfl.envoy.director_inputs:
    name: director
    namespace: openfl-director
    fqdn: director.fl.example.org
    sample_shape: ["28", "28", "1"]
    target_shape: ["1"]
    envoy_health_check_period: 60
    service_type: NodePort
    envoy_configs:
      envoy-1: "{{ hostvars['envoy-1'].openfl_envoy_config }}"
"""

RETURN = r"""
errors:
  description: Every error found (empty when the inputs are good).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openfl.envoy.plugins.module_utils.director_inputs import director_errors


def main() -> None:
    raw = {"type": "raw"}
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "namespace": raw,
            "fqdn": raw,
            "sample_shape": raw,
            "target_shape": raw,
            "envoy_health_check_period": raw,
            "service_type": raw,
            "node_port": raw,
            "agg_node_port": raw,
            "notebook_enabled": {"type": "bool", "default": False},
            "notebook_password_hash": {"type": "str", "no_log": True},
            "envoy_configs": {"type": "dict", "default": {}},
            "envoy_director_fqdns": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    configs, fqdns = module.params["envoy_configs"], module.params["envoy_director_fqdns"]
    envoys = [
        {"name": name, "envoy_config": configs.get(name), "director_fqdn": fqdns.get(name)}
        for name in sorted(set(configs) | set(fqdns))
    ]
    errors = director_errors(module.params, envoys)
    if errors:
        module.fail_json(msg="; ".join(errors), errors=errors)
    module.exit_json(changed=False, errors=[])


if __name__ == "__main__":
    main()
