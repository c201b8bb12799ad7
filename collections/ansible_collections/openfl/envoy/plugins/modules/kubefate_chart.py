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

import os
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openfl.envoy.plugins.module_utils.chart import chart_digest, package_chart
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import (
    KubefateClient,
    KubefateError,
    KubefateService,
    chart_differences,
    chart_metadata,
    kubefate_argument_spec,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=kubefate_argument_spec(
            chart_path={"type": "path", "required": True},
            force={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    params = module.params
    chart_path = params["chart_path"]
    if not os.path.isfile(os.path.join(chart_path, "Chart.yaml")):
        module.fail_json(msg=f"chart_path {chart_path}: no Chart.yaml there")
    try:
        filename, package = package_chart(chart_path)
        meta = chart_metadata(package)
    except Exception as err:  # packaging errors come from the chart helper; name the chart
        module.fail_json(msg=f"chart_path {chart_path}: cannot package the chart: {err}")
    name, version = str(meta["name"]), str(meta["version"])
    result: dict[str, Any] = {
        "changed": False,
        "name": name,
        "version": version,
        "filename": filename,
        "digest": chart_digest(package),
        "uploaded": False,
        "differences": [],
        "uuid": None,
    }
    service = KubefateService(KubefateClient.from_params(params))
    try:
        stored = service.find_chart(name, version)
        if stored is None:
            result["reason"] = "missing"
        else:
            result["differences"] = chart_differences(stored, package)
            result["uuid"] = stored.get("uuid")
            result["reason"] = (
                "content differs" if result["differences"] else ("force" if params["force"] else "same content")
            )
        result["uploaded"] = result["changed"] = result["reason"] != "same content"
        if result["uploaded"]:
            result["uuid"] = None
            if not module.check_mode:
                result["uuid"] = service.upload_chart(filename, package, name, version) or None
    except KubefateError as err:
        module.fail_json(msg=f"chart {name} {version}: {err.msg}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
