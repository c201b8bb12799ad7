#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kubefate_cluster
short_description: Install, update or delete a KubeFATE cluster (one Helm release) idempotently
version_added: 0.1.0
description:
  - With O(state=present), installs the cluster (C(POST /v1/cluster)) when KubeFATE holds no cluster of
    this name in this namespace, updates it (C(PUT /v1/cluster)) when its stored C(Spec), chart name or
    chart version differ from the desired ones, and does nothing when they are equal.
  - The comparison is done here, on the parsed spec (numbers compared by value), because KubeFATE
    either rejects or blindly re-applies an unchanged update depending on its version.
  - With O(state=absent), deletes the cluster (C(DELETE /v1/cluster/{uuid})) when it exists.
  - KubeFATE answers a mutating call with a job. The module returns that job (or, with nothing to
    change, the cluster's latest job) and waits for it only with O(wait=true); otherwise use
    M(openfl.envoy.kubefate_job) later, so that many installs run at the same time.
  - A request whose answer got lost is only sent again after checking that KubeFATE created no job and
    no cluster for it, so retries never install a cluster twice.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openfl.envoy.kubefate
options:
  name:
    description:
      - Cluster name; KubeFATE uses it as the Helm release name and the chart's C(name) label.
    type: str
    required: true
  namespace:
    description:
      - Kubernetes namespace of the cluster. It must exist; KubeFATE never creates it.
    type: str
    required: true
  state:
    description:
      - V(present) installs or updates the cluster, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  spec:
    description:
      - The cluster configuration (what C(kubefate cluster install -f) reads), as a mapping.
      - Required with O(state=present).
      - Its C(name) and C(namespace) are set to O(name) and O(namespace) when missing and must equal them otherwise;
        likewise C(chartName) and C(chartVersion) with O(chart_name) and O(chart_version).
    type: dict
  chart_name:
    description:
      - Chart name; defaults to C(chartName) of O(spec). Required with O(state=present) when O(spec) has none.
    type: str
  chart_version:
    description:
      - Chart version; defaults to C(chartVersion) of O(spec). Required with O(state=present) when O(spec) has none.
    type: str
  cover:
    description:
      - On install only, ask KubeFATE to uninstall a Helm release of the same name that its database does not know.
    type: bool
    default: false
  wait:
    description:
      - Wait for the job to end before returning; fail unless it ends C(Success).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for the job with O(wait=true) (KubeFATE's own limit is one hour).
    type: int
    default: 600
  wait_interval:
    description:
      - Longest pause in seconds between two job polls; polling starts at half a second and grows up to this.
    type: float
    default: 5
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: Reads the cluster list and reports the decision; never calls a mutating endpoint.
  diff_mode:
    support: full
    details: Shows the spec and chart version before and after; values under secret-looking keys are masked.
notes:
  - The desired spec is sent as JSON text (sorted keys), base64-encoded in ClusterArgs C(data), as the kubefate
    CLI does.
"""

EXAMPLES = r"""
- name: Install or update the envoy's cluster, do not wait
  openfl.envoy.kubefate_cluster:
    url: https://kubefate.example.org
    username: admin
    password: "{{ vault_kubefate_password }}"
    name: envoy-1
    namespace: openfl-envoy-1
    spec:
      name: envoy-1
      namespace: openfl-envoy-1
      chartName: openfl-envoy
      chartVersion: v0.3.0
      modules: [envoy]
      envoy:
        image: fedlcm-openfl
        imageTag: v0.3.0
  register: envoy_cluster

- name: Delete it and wait for the delete job
  openfl.envoy.kubefate_cluster:
    name: envoy-1
    namespace: openfl-envoy-1
    state: absent
    wait: true
"""

RETURN = r"""
action:
  description: What the module did (or would do in check mode).
  returned: always
  type: str
  choices: [install, update, delete, none]
  sample: install
job_uuid:
  description: Uuid of the job the module started, or of the cluster's latest job when nothing changed; null if none.
  returned: always
  type: str
  sample: 0b5ac2c4-7bb8-4f0a-8a2b-3c4f0a1e7d11
job:
  description: That job (its C(meta_data) left out, it carries the whole config); null in check mode or when
    there is none.
  returned: always
  type: dict
  sample: {uuid: 0b5ac2c4-7bb8-4f0a-8a2b-3c4f0a1e7d11, method: ClusterInstall, status: Pending, states: null}
cluster:
  description: The cluster as KubeFATE held it before the change (null if absent), with C(namespace), C(status),
    C(chart_version), C(revision) and the parsed C(spec).
  returned: always
  type: dict
  sample: {name: envoy-1, namespace: openfl-envoy-1, status: Running, chart_version: v0.3.0, revision: 1}
spec:
  description: The desired spec as sent (values under secret-looking keys masked); absent with O(state=absent).
  returned: when state is present
  type: dict
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import (
    KubefateClient,
    KubefateError,
    KubefateJobError,
    cluster_summary,
    job_summary,
    kubefate_argument_spec,
    normalize,
    sanitize,
)
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate_service import KubefateService


def desired_spec(module: AnsibleModule) -> dict[str, Any]:
    """The spec with name/namespace/chartName/chartVersion filled in and checked against the body
    values (a mismatch makes KubeFATE watch the wrong workloads and fail after an hour)."""
    params = module.params
    spec = dict(params["spec"] or {})
    pairs = (
        ("name", "name"),
        ("namespace", "namespace"),
        ("chartName", "chart_name"),
        ("chartVersion", "chart_version"),
    )
    for key, option in pairs:
        value = params.get(option)
        if value is None:
            value = spec.get(key)
        if value in (None, ""):
            module.fail_json(msg=f"{params['name']}: spec.{key} or option {option} is required with state=present")
        if key in spec and str(spec[key]) != str(value):
            module.fail_json(
                msg=f"{params['name']}: spec.{key} {spec[key]!r} differs from option {option} {value!r};"
                " KubeFATE needs them equal"
            )
        spec[key] = str(value)
    return spec


def diff_of(cluster: dict[str, Any] | None, spec: dict[str, Any] | None) -> dict[str, Any]:
    before = sanitize(normalize(cluster.get("Spec") or {})) if cluster else {}
    if cluster:
        before = dict(before, **{"(kubefate chart)": f"{cluster.get('chart_name')} {cluster.get('chart_version')}"})
    after = sanitize(normalize(spec)) if spec is not None else {}
    if spec is not None:
        after = dict(after, **{"(kubefate chart)": f"{spec['chartName']} {spec['chartVersion']}"})
    return {"before": before, "after": after}


def main() -> None:
    module = AnsibleModule(
        argument_spec=kubefate_argument_spec(
            name={"type": "str", "required": True},
            namespace={"type": "str", "required": True},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            spec={"type": "dict"},
            chart_name={"type": "str"},
            chart_version={"type": "str"},
            cover={"type": "bool", "default": False},
            wait={"type": "bool", "default": False},
            wait_timeout={"type": "int", "default": 600},
            wait_interval={"type": "float", "default": 5.0},
        ),
        required_if=[("state", "present", ("spec",))],
        supports_check_mode=True,
    )
    params = module.params
    name, namespace = params["name"], params["namespace"]
    service = KubefateService(KubefateClient.from_params(params))
    result: dict[str, Any] = {"changed": False, "action": "none", "job_uuid": None, "job": None, "cluster": None}

    spec = None
    if params["state"] == "present":
        spec = desired_spec(module)
        result["spec"] = sanitize(spec)

    try:
        plan = service.plan_cluster(name, namespace, spec, service.list_clusters(), service.list_jobs())
        result["cluster"] = cluster_summary(plan.cluster)
        result["action"] = plan.action
        result["changed"] = plan.changed
        if plan.error:
            result["job"] = job_summary(plan.job)
            result["job_uuid"] = (plan.job or {}).get("uuid")
            module.fail_json(msg=f"{name} (namespace {namespace}): {plan.error}", **result)
        if module._diff and plan.changed:
            result["diff"] = diff_of(plan.cluster, spec)
        job = plan.job if module.check_mode else service.apply_plan(plan, params["cover"])
        result["job"] = job_summary(job)
        result["job_uuid"] = (job or {}).get("uuid")

        if params["wait"] and result["job_uuid"] and not module.check_mode:
            try:
                job = service.wait_job(result["job_uuid"], params["wait_timeout"], params["wait_interval"])
            except KubefateJobError as err:
                result["job"] = job_summary(err.job)
                module.fail_json(msg=f"{name}: {err.msg}", **result)
            result["job"] = job_summary(job)
    except KubefateError as err:
        module.fail_json(msg=f"{name} (namespace {namespace}): {err.msg}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
