#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kubefate_cluster_info
short_description: Read KubeFATE clusters and their latest jobs
version_added: 0.1.0
description:
  - With O(name) and O(namespace), returns that cluster (C(cluster), null when KubeFATE holds none) and its
    latest job (C(job)), including an install job whose worker has not created the cluster yet.
  - Without them, returns every cluster KubeFATE holds (C(clusters)).
  - Never changes anything.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openfl.envoy.kubefate
options:
  name:
    description:
      - Cluster name. Needs O(namespace).
    type: str
  namespace:
    description:
      - Cluster namespace. Needs O(name).
    type: str
  include_deleted:
    description:
      - Also list deleted clusters (C(?all=true)); only used without O(name).
    type: bool
    default: false
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: Only reads.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the envoy's cluster and its latest job
  openfl.envoy.kubefate_cluster_info:
    name: envoy-1
    namespace: openfl-envoy-1
  register: envoy_cluster_info
"""

RETURN = r"""
cluster:
  description: The cluster (null when absent); C(namespace), C(status), C(chart_name), C(chart_version), C(revision),
    C(spec) (values under secret-looking keys masked).
  returned: when name is given
  type: dict
job:
  description: The cluster's latest job without C(meta_data) (null when none).
  returned: when name is given
  type: dict
clusters:
  description: Every cluster, in the same shape as RV(cluster).
  returned: when name is not given
  type: list
  elements: dict
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import (
    KubefateClient,
    KubefateError,
    cluster_summary,
    job_summary,
    kubefate_argument_spec,
)
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate_service import KubefateService


def main() -> None:
    module = AnsibleModule(
        argument_spec=kubefate_argument_spec(
            name={"type": "str"},
            namespace={"type": "str"},
            include_deleted={"type": "bool", "default": False},
        ),
        required_together=[("name", "namespace")],
        supports_check_mode=True,
    )
    params = module.params
    service = KubefateService(KubefateClient.from_params(params))
    result: dict[str, Any] = {"changed": False}
    try:
        if params["name"]:
            cluster = service.find_cluster(params["name"], params["namespace"])
            result["cluster"] = cluster_summary(cluster)
            result["job"] = job_summary(service.latest_job(cluster, params["name"], params["namespace"]))
        else:
            result["clusters"] = [cluster_summary(c) for c in service.list_clusters(params["include_deleted"])]
    except KubefateError as err:
        module.fail_json(msg=err.msg, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
