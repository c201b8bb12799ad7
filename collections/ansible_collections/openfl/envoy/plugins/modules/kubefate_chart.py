#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kubefate_chart
short_description: Package a chart directory and upload it to KubeFATE only when it is missing or different
version_added: 0.1.0
description:
  - Packages O(chart_path) the way C(helm package) does, deterministically (same files, same archive bytes).
  - Uploads the package (C(POST /v1/chart), multipart part C(file)) only when KubeFATE holds no chart of the
    same name and version, or holds one whose content differs.
  - KubeFATE keeps no digest, so content is compared file by file against what it stores for that
    name and version (C(Chart.yaml), C(values.yaml), C(values-template.yaml), C(values-template-example.yaml)
    and every C(templates/) file); other files of the package are not kept by KubeFATE and not compared.
  - A re-upload replaces the stored chart and changes its uuid; clusters refer to charts by name and version.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openfl.envoy.kubefate
options:
  chart_path:
    description:
      - Chart directory on the control node (it holds C(Chart.yaml)).
    type: path
    required: true
  force:
    description:
      - Upload even when KubeFATE already holds the same content.
    type: bool
    default: false
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: Packages and compares; never uploads.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Upload the envoy chart when the service lacks it
  openfl.envoy.kubefate_chart:
    url: http://10.0.0.5:8080
    host_header: example.com
    username: admin
    password: "{{ vault_kubefate_password }}"
    chart_path: "{{ playbook_dir }}/../charts/openfl-envoy"
"""

RETURN = r"""
name:
  description: Chart name, from C(Chart.yaml).
  returned: always
  type: str
  sample: openfl-envoy
version:
  description: Chart version, from C(Chart.yaml).
  returned: always
  type: str
  sample: v0.3.0
uploaded:
  description: Whether the module uploaded the package (or would have, in check mode).
  returned: always
  type: bool
reason:
  description: Why it uploaded or not.
  returned: always
  type: str
  choices: [missing, content differs, force, same content]
differences:
  description: Files whose stored text differs from the package's (empty when missing or identical).
  returned: always
  type: list
  elements: str
  sample: [values-template.yaml, templates/envoy/deployment.yaml]
uuid:
  description: KubeFATE's uuid of the chart now stored (null in check mode when an upload would happen).
  returned: always
  type: str
filename:
  description: File name of the package, as C(helm package) names it.
  returned: always
  type: str
  sample: openfl-envoy-v0.3.0.tgz
digest:
  description: Digest of the package bytes (stable across runs for unchanged chart files).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openfl.envoy.plugins.module_utils.chart_upload import ChartPackage, ensure_chart
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import (
    KubefateClient,
    KubefateError,
    kubefate_argument_spec,
)
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate_service import KubefateService


def main() -> None:
    module = AnsibleModule(
        argument_spec=kubefate_argument_spec(
            chart_path={"type": "path", "required": True},
            force={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        package = ChartPackage(params["chart_path"])
    except KubefateError as err:
        module.fail_json(msg=err.msg)
    service = KubefateService(KubefateClient.from_params(params))
    try:
        result = ensure_chart(service, package, params["force"], module.check_mode)
    except KubefateError as err:
        module.fail_json(msg=f"chart {package.name} {package.version}: {err.msg}", **package.facts())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
