# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every envoy's KubeFATE cluster, planned and submitted together (manual steps 16-18).

Per KubeFATE service: one login, one listing of clusters and one of jobs, shared by the plans of
all its envoys; then the installs and updates are sent one after the other without waiting, so
that N installs take about as long as the slowest. Each envoy's spec gets the restart
fingerprints of its certificate and python files (a renewed certificate or a changed shard
descriptor restarts the envoy), and its audit copy is written next to the other artifacts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils import envoy as names
from ansible_collections.openfl.envoy.plugins.module_utils.artifacts import read_text, write_text
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import (
    KUBEFATE_CONNECTION_SPEC,
    KubefateClient,
    KubefateError,
    cluster_summary,
    job_summary,
    normalize,
    sanitize,
    service_key,
)
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate_service import ClusterPlan, KubefateService
from ansible_collections.openfl.envoy.plugins.module_utils.validation import read_python_dir

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False


@dataclass
class EnvoyCluster:
    """One envoy's desired cluster: the seed's cluster-yaml keys, and where its inputs live."""

    name: str
    namespace: str
    spec: dict[str, Any]
    certificate_path: str
    python_dir: str
    spec_file: str | None


def desired_spec(envoy: EnvoyCluster) -> dict[str, Any]:
    """The spec with the restart fingerprints as pod annotations (the user's own annotations kept)."""
    spec = {"name": envoy.name, "namespace": envoy.namespace, **envoy.spec}
    section = dict(spec.get("envoy") or {})
    section["podAnnotations"] = {
        **(section.get("podAnnotations") or {}),
        names.CERT_CHECKSUM_ANNOTATION: names.cert_checksum(read_text(envoy.certificate_path)),
        names.PYTHON_CHECKSUM_ANNOTATION: names.python_checksum(read_python_dir(envoy.name, envoy.python_dir).data),
    }
    spec["envoy"] = section
    return spec


def audit_text(spec: dict[str, Any]) -> str:
    """The audit copy of a cluster yaml (secret-looking values masked)."""
    spec = sanitize(spec)
    if not HAS_YAML:  # JSON is YAML too
        return json.dumps(spec, indent=2) + "\n"
    return yaml.safe_dump(spec, indent=2, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _diff(plan: ClusterPlan, spec: dict[str, Any]) -> dict[str, Any]:
    cluster = plan.cluster
    before: dict[str, Any] = {}
    if cluster:
        before = dict(sanitize(normalize(cluster.get("Spec") or {})))
        before["(kubefate chart)"] = f"{cluster.get('chart_name')} {cluster.get('chart_version')}"
    after = dict(sanitize(normalize(spec)))
    after["(kubefate chart)"] = f"{spec['chartName']} {spec['chartVersion']}"
    return {"before": before, "after": after}


def submit_service(
    service: KubefateService, envoys: list[EnvoyCluster], check_mode: bool, cover: bool
) -> dict[str, dict[str, Any]]:
    """Plan and submit the clusters of the envoys of one KubeFATE service."""
    results: dict[str, dict[str, Any]] = {}
    try:
        clusters, jobs = service.list_clusters(), service.list_jobs()
    except KubefateError as err:
        for envoy in envoys:
            results[envoy.name] = _failure(envoy, err.msg)
        return results
    for envoy in envoys:
        results[envoy.name] = submit_envoy(service, envoy, clusters, jobs, check_mode, cover)
    return results


def _failure(envoy: EnvoyCluster, reason: str, **extra: Any) -> dict[str, Any]:
    return {"changed": False, "failed": True, "msg": f"{envoy.name} (namespace {envoy.namespace}): {reason}", **extra}


def submit_envoy(
    service: KubefateService,
    envoy: EnvoyCluster,
    clusters: list[dict[str, Any]],
    jobs: list[dict[str, Any]],
    check_mode: bool,
    cover: bool,
) -> dict[str, Any]:
    spec = desired_spec(envoy)
    plan = service.plan_cluster(envoy.name, envoy.namespace, spec, clusters, jobs)
    entry: dict[str, Any] = {"action": plan.action, "cluster": cluster_summary(plan.cluster), "spec": sanitize(spec)}
    if plan.error:
        return _failure(envoy, plan.error, job=job_summary(plan.job), **entry)
    audit_changed = bool(envoy.spec_file) and write_text(envoy.spec_file, audit_text(spec), check_mode)
    try:
        job = plan.job if check_mode else service.apply_plan(plan, cover)
    except KubefateError as err:
        return _failure(envoy, err.msg, **entry)
    entry.update(
        changed=plan.changed or audit_changed,
        failed=False,
        job=job_summary(job),
        job_uuid=(job or {}).get("uuid"),
        msg=f"{plan.action} submitted" if plan.changed else "",
    )
    if plan.changed:
        entry["diff"] = _diff(plan, spec)
    return entry


def submit_all(entries: list[dict[str, Any]], check_mode: bool, cover: bool) -> dict[str, dict[str, Any]]:
    """Group the envoys by KubeFATE service and submit each group over its own client."""
    groups: dict[tuple, tuple[dict[str, Any], list[EnvoyCluster]]] = {}
    for entry in entries:
        connection = entry["kubefate"]
        envoy = EnvoyCluster(
            name=entry["name"],
            namespace=entry["namespace"],
            spec=entry["spec"],
            certificate_path=entry["certificate_path"],
            python_dir=entry["python_dir"],
            spec_file=entry.get("spec_file"),
        )
        groups.setdefault(service_key(connection), (connection, []))[1].append(envoy)
    results: dict[str, dict[str, Any]] = {}
    for connection, envoys in groups.values():
        service = KubefateService(KubefateClient.from_params(connection))
        results.update(submit_service(service, envoys, check_mode, cover))
    return results


ENVOY_SPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "spec": {"type": "dict", "required": True},
    "certificate_path": {"type": "path", "required": True},
    "python_dir": {"type": "path", "required": True},
    "spec_file": {"type": "path"},
    "kubefate": {"type": "dict", "required": True, "options": KUBEFATE_CONNECTION_SPEC},
}


def argument_spec() -> dict[str, Any]:
    """The options of envoy_clusters (its module and its action plugin)."""
    return {
        "envoys": {"type": "list", "elements": "dict", "required": True, "options": ENVOY_SPEC},
        "cover": {"type": "bool", "default": False},
    }


def run(params: dict[str, Any], check_mode: bool, diff: bool = False) -> dict[str, Any]:
    results = submit_all(params["envoys"], check_mode, params["cover"])
    return {"changed": any(r.get("changed") for r in results.values()), "envoys": results}
