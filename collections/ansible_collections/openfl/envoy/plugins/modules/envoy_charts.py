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
  - ansible.builtin.action_common_attributes.flow
  - openfl.envoy.controller
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

from ansible_collections.openfl.envoy.plugins.module_utils.chart_upload import argument_spec, upload_all
from ansible_collections.openfl.envoy.plugins.module_utils.module_result import run_module


def main() -> None:
    # Plays run it in its action plugin, in the controller's worker; this is the same code.
    run_module(argument_spec(), upload_all)


if __name__ == "__main__":
    main()
