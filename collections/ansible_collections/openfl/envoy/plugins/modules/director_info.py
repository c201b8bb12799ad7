#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: director_info
short_description: Read the OpenFL director's exposed address back from its Service, and whether it is up
version_added: 0.3.0
description:
  - Reads Service C(director) of the openfl-director chart in O(namespace) and returns the address the envoys dial
    (what FedLCM reads after a director install). Type C(NodePort) - the first node's C(ExternalIP), else its
    C(InternalIP), and the nodePorts of the ports named C(director) and C(agg); C(LoadBalancer) - the ingress IP and
    the Service ports (a host name is refused, the envoys need an IP); C(ClusterIP) - the cluster IP and the
    Service ports.
  - With O(wait=true), polls until Deployment C(director) is Available, the director's log shows it listens
    (O(markers)) and the address is known (a load balancer's ingress IP comes later), or fails at O(timeout) naming
    what was missing, with the end of the log.
  - With O(envoys), compares each envoy's director settings with the read-back address and returns, per envoy, an
    error for each one set to another value (for M(openfl.envoy.envoy_result)).
  - Never changes anything.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  name:
    description: The director's name (its inventory host), for messages.
    type: str
    required: true
  namespace:
    description: The director's namespace.
    type: str
    required: true
  kubeconfig:
    description: Kubeconfig of the director's cluster; the client's default when not set.
    type: path
  context:
    description: Context in O(kubeconfig); its current one when not set.
    type: str
  wait:
    description: Wait until the director is up and its address known (else read once and report).
    type: bool
    default: false
  check_health:
    description: Without O(wait), also read once whether the director is up (Deployment Available, log marker).
    type: bool
    default: false
  certificate_path:
    description: The director's certificate; its expiry is returned as RV(certificate_expires).
    type: path
  timeout:
    description: Seconds to wait with O(wait=true).
    type: int
    default: 300
  interval:
    description: Seconds between two polls.
    type: float
    default: 2
  markers:
    description: Log lines meaning the director listens.
    type: list
    elements: str
    default: ["Starting server on"]
  excerpt_lines:
    description: Lines of the director's log returned (and shown on failure).
    type: int
    default: 20
  require:
    description:
      - Fail each envoy of O(envoys) that leaves a director setting unset while no address can be read back.
    type: bool
    default: false
  envoys:
    description:
      - Envoys whose director settings are compared with the read-back address; an unset (null or empty) setting
        is not compared (the read-back value applies).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The envoy's name.
        type: str
        required: true
      ip:
        description: The envoy's C(openfl_director_ip) as the inventory sets it.
        type: str
      port:
        description: The envoy's C(openfl_director_port).
        type: raw
      agg_port:
        description: The envoy's C(openfl_director_agg_port).
        type: raw
"""

EXAMPLES = r"""
- name: Wait for the director and read its exposed address back
  openfl.envoy.director_info:
    name: director
    namespace: openfl-director
    kubeconfig: ~/.kube/site-a
    context: site-a-admin
    wait: true
  register: director
- name: Show it
  ansible.builtin.debug:
    msg: "{{ director.address.ip }}:{{ director.address.port }} (agg {{ director.address.agg_port }})"
"""

RETURN = r"""
exists:
  description: Whether Service C(director) exists.
  returned: always
  type: bool
address:
  description: The read-back address (C(ip), C(port), C(agg_port), C(service_type), C(source)); null when unknown.
  returned: always
  type: dict
  sample: {ip: 203.0.113.20, port: 31051, agg_port: 31052, service_type: NodePort, source: node site-a-1 ExternalIP}
healthy:
  description:
    - With O(wait=true), whether the director is up and its address known; without it, whether the address is known.
  returned: always
  type: bool
available:
  description: Whether Deployment C(director) is Available (O(wait=true) or O(check_health=true) only).
  returned: always
  type: bool
listening:
  description: Whether the director's log shows it listens (O(wait=true) or O(check_health=true) only).
  returned: always
  type: bool
waiting_for:
  description: What is missing.
  returned: always
  type: list
  elements: str
log:
  description: The last O(excerpt_lines) lines of the director's log (O(wait=true) or O(check_health=true) only).
  returned: always
  type: list
  elements: str
certificate_expires:
  description: When O(certificate_path) expires (C(YYYY-MM-DD HH:MM UTC)); null when not given or unreadable.
  returned: always
  type: str
envoys:
  description:
    - Per envoy of O(envoys) C(failed) and C(msg) (each setting that differs from the read-back one, or, with
      O(require=true), that is unset while nothing could be read back).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openfl.envoy.plugins.module_utils.director import (
    DirectorReader,
    address_checks,
    wait_director,
)
from ansible_collections.openfl.envoy.plugins.module_utils.envoy_targets import certificate_expiry
from ansible_collections.openfl.envoy.plugins.module_utils.k8s_client import K8sError

ENVOY_SPEC = {
    "name": {"type": "str", "required": True},
    "ip": {"type": "str"},
    "port": {"type": "raw"},
    "agg_port": {"type": "raw"},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "namespace": {"type": "str", "required": True},
            "kubeconfig": {"type": "path"},
            "context": {"type": "str"},
            "wait": {"type": "bool", "default": False},
            "check_health": {"type": "bool", "default": False},
            "certificate_path": {"type": "path"},
            "timeout": {"type": "int", "default": 300},
            "interval": {"type": "float", "default": 2.0},
            "markers": {"type": "list", "elements": "str", "default": ["Starting server on"]},
            "excerpt_lines": {"type": "int", "default": 20},
            "require": {"type": "bool", "default": False},
            "envoys": {"type": "list", "elements": "dict", "default": [], "options": ENVOY_SPEC},
        },
        supports_check_mode=True,
    )
    params = module.params
    where = f"director {params['name']} (namespace {params['namespace']})"
    markers = tuple(params["markers"])
    try:
        reader = DirectorReader(params["kubeconfig"], params["context"], params["namespace"])
        if params["wait"]:
            state = wait_director(reader, params["timeout"], params["interval"], markers, params["excerpt_lines"])
        else:
            state = reader.read(params["check_health"], markers, params["excerpt_lines"])
    except K8sError as err:
        module.fail_json(msg=f"{where}: {err.msg}")
    result = {
        "changed": False,
        "exists": state.exists,
        "address": state.address.as_dict() if state.address else None,
        "healthy": state.healthy,
        "available": state.available,
        "listening": state.listening,
        "waiting_for": state.waiting_for,
        "log": state.log,
        "certificate_expires": certificate_expiry(params["certificate_path"]),
        "envoys": address_checks(state.address, state.waiting_for, params["envoys"], params["name"], params["require"]),
    }
    if params["wait"] and not state.healthy:
        tail = "".join(f"\n  {line}" for line in state.log) or " (none)"
        module.fail_json(
            msg=f"{where}: not up within {params['timeout']}s: waiting for {'; '.join(state.waiting_for)}; "
            f"last log lines:{tail}",
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
