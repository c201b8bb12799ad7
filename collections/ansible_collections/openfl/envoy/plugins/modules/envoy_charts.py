#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: envoy_charts
short_description: Upload the envoy chart once to every KubeFATE service the envoys use
version_added: 0.2.0
description:
  - Packages O(chart_path) deterministically once and, for every distinct KubeFATE service (URL, Host header and user)
    among the envoys given, uploads it only when the service holds no chart of that name and version, or one with
    other content (as M(openfl.envoy.kubefate_chart) does for one service) - manual steps 1-3.
  - Every envoy's entry carries its service's result; the change is reported on the first envoy of each service, so
    a service that got the chart counts one change. When a service's upload fails, every envoy on it fails, naming
    the service.
  - Meant to run once per play (C(run_once)), followed by M(openfl.envoy.envoy_result) per envoy.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openfl.envoy.attributes
options:
  chart_path:
    description: The chart directory on the control node.
    type: path
    required: true
  force:
    description: Upload even when a service holds the same content.
    type: bool
    default: false
  envoys:
    description: The envoys and the KubeFATE service each uses.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The envoy's name.
        type: str
        required: true
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
"""

EXAMPLES = r"""
- name: Upload the envoy chart to every KubeFATE service (once per service)
  openfl.envoy.envoy_charts:
    chart_path: "{{ playbook_dir }}/../charts/openfl-envoy"
    envoys: "{{ ansible_play_batch | map('extract', hostvars, 'kubefate_chart_entry') | list }}"
  run_once: true
  register: kubefate_chart_batch
"""

RETURN = r"""
envoys:
  description:
    - One entry per envoy, by name, with its service's upload result - C(name), C(version), C(filename), C(digest),
      C(uploaded), C(reason) (missing, content differs, force, same content), C(differences), C(uuid) - and
      C(changed), C(failed), C(msg).
  returned: always
  type: dict
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openfl.envoy.plugins.module_utils.chart_upload import ChartPackage, ensure_chart
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import (
    KUBEFATE_CONNECTION_SPEC,
    KubefateClient,
    KubefateError,
    service_key,
)
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate_service import KubefateService


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "chart_path": {"type": "path", "required": True},
            "force": {"type": "bool", "default": False},
            "envoys": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "kubefate": {"type": "dict", "required": True, "options": KUBEFATE_CONNECTION_SPEC},
                },
            },
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        package = ChartPackage(params["chart_path"])
    except KubefateError as err:
        module.fail_json(msg=err.msg)
    services: dict[tuple, tuple[dict[str, Any], list[str]]] = {}
    for envoy in params["envoys"]:
        services.setdefault(service_key(envoy["kubefate"]), (envoy["kubefate"], []))[1].append(envoy["name"])
    results: dict[str, dict[str, Any]] = {}
    for connection, names in services.values():
        url = connection["url"]
        try:
            service = KubefateService(KubefateClient.from_params(connection))
            outcome = dict(ensure_chart(service, package, params["force"], module.check_mode), failed=False)
        except KubefateError as err:
            outcome = dict(package.facts(), changed=False, failed=True)
            outcome["msg"] = f"the chart upload of {package.name} {package.version} to {url} failed: {err.msg}"
        for index, name in enumerate(names):
            # One change per service: on its first envoy.
            results[name] = dict(outcome, changed=outcome["changed"] and index == 0)
            if outcome["failed"]:
                results[name]["msg"] = f"{name}: {outcome['msg']}"
    module.exit_json(changed=any(r["changed"] for r in results.values()), envoys=results)


if __name__ == "__main__":
    main()
