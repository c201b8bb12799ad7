# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The envoy chart on a KubeFATE service (manual steps 1-3): packaged deterministically, and
uploaded only when the service holds no chart of that name and version, or one with other content
(KubeFATE keeps no digest, so the stored files are compared)."""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.chart import (
    chart_differences,
    chart_digest,
    chart_metadata,
    package_chart,
)
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import (
    KUBEFATE_CONNECTION_SPEC,
    KubefateClient,
    KubefateError,
    service_key,
)
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate_service import KubefateService


class ChartPackage:
    """The chart directory as the package KubeFATE gets; ``KubefateError`` names what is wrong."""

    def __init__(self, chart_path: str) -> None:
        if not os.path.isfile(os.path.join(chart_path, "Chart.yaml")):
            raise KubefateError(f"chart_path {chart_path}: no Chart.yaml there")
        try:
            self.filename, self.data = package_chart(chart_path)
            meta = chart_metadata(self.data)
        except Exception as err:  # packaging errors come from the chart helper; name the chart
            raise KubefateError(f"chart_path {chart_path}: cannot package the chart: {err}") from None
        self.name, self.version = str(meta["name"]), str(meta["version"])

    def facts(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "filename": self.filename,
            "digest": chart_digest(self.data),
        }


def ensure_chart(service: KubefateService, package: ChartPackage, force: bool, check_mode: bool) -> dict[str, Any]:
    """Upload the package when the service lacks it (or with ``force``); the result as modules return it."""
    result: dict[str, Any] = {**package.facts(), "changed": False, "uploaded": False, "differences": [], "uuid": None}
    stored = service.find_chart(package.name, package.version)
    if stored is None:
        result["reason"] = "missing"
    else:
        result["differences"] = chart_differences(stored, package.data)
        result["uuid"] = stored.get("uuid")
        result["reason"] = "content differs" if result["differences"] else ("force" if force else "same content")
    result["uploaded"] = result["changed"] = result["reason"] != "same content"
    if result["uploaded"]:
        result["uuid"] = None
        if not check_mode:
            result["uuid"] = service.upload_chart(package.filename, package.data, package.name, package.version) or None
    return result


def argument_spec() -> dict[str, Any]:
    """The options of envoy_charts (its module and its action plugin)."""
    return {
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
    }


def upload_all(params: dict[str, Any], check_mode: bool, diff: bool = False) -> dict[str, Any]:
    """envoy_charts' result: the chart packaged once, then ensured once per KubeFATE service of the envoys."""
    try:
        package = ChartPackage(params["chart_path"])
    except KubefateError as err:
        return {"changed": False, "failed": True, "msg": err.msg}
    services: dict[tuple, tuple[dict[str, Any], list[str]]] = {}
    for envoy in params["envoys"]:
        services.setdefault(service_key(envoy["kubefate"]), (envoy["kubefate"], []))[1].append(envoy["name"])
    results: dict[str, dict[str, Any]] = {}
    for connection, names in services.values():
        url = connection["url"]
        try:
            service = KubefateService(KubefateClient.from_params(connection))
            outcome = dict(ensure_chart(service, package, params["force"], check_mode), failed=False)
        except KubefateError as err:
            outcome = dict(package.facts(), changed=False, failed=True)
            outcome["msg"] = f"the chart upload of {package.name} {package.version} to {url} failed: {err.msg}"
        for index, name in enumerate(names):
            # One change per service: on its first envoy.
            results[name] = dict(outcome, changed=outcome["changed"] and index == 0)
            if outcome["failed"]:
                results[name]["msg"] = f"{name}: {outcome['msg']}"
    return {"changed": any(r["changed"] for r in results.values()), "envoys": results}
