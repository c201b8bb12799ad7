# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Preflight of the environment, once per site for every envoy of the play: the inventory's shape
(each envoy in exactly one site group, each site group with its connection settings), then each
site's Kubernetes and KubeFATE (``site_probes``), the chart and the CA, once each. Every envoy gets
its site's errors and the shared ones; nothing is changed anywhere.

A **site group** is a group of the inventory whose hosts are all envoys, other than ``envoys``
itself (and ``all``, ``ungrouped``): the groups under ``envoys`` in ``hosts.yml``. Ansible merges
the variables of a host that sits in two of them, so such an envoy is an error, not a choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils import site_probes
from ansible_collections.openfl.envoy.plugins.module_utils.envoy_inputs import verdicts
from ansible_collections.openfl.envoy.plugins.module_utils.k8s_client import HAS_KUBERNETES
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import KUBEFATE_CONNECTION_SPEC, service_key

ENVOYS_GROUP = "envoys"
NOT_SITE_GROUPS = frozenset({"all", "ungrouped", ENVOYS_GROUP})
KUBEFATE_REQUIRED = ("url", "username", "password")


def site_groups(groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """The site groups of an inventory (``groups`` as Ansible gives it) with their envoys."""
    envoys = set(groups.get(ENVOYS_GROUP) or [])
    return {
        name: list(hosts)
        for name, hosts in sorted(groups.items())
        if name not in NOT_SITE_GROUPS and hosts and set(hosts) <= envoys
    }


def shape_errors(names: list[str], groups: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """({envoy: its one site group}, {envoy: errors}) for envoys in no site group or in several."""
    member: dict[str, list[str]] = {name: [] for name in names}
    for group, hosts in site_groups(groups).items():
        for host in hosts:
            if host in member:
                member[host].append(group)
    placed: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, found in member.items():
        if len(found) == 1:
            placed[name] = found[0]
        elif found:
            errors[name] = [
                f"{name}: inventory: the envoy is in {len(found)} site groups, {' and '.join(found)}; Ansible merges "
                "their variables, so it would be installed on one site only. Keep each envoy in exactly one group "
                f"under {ENVOYS_GROUP}"
            ]
        else:
            errors[name] = [
                f"{name}: inventory: the envoy is in no site group; put it in a group under {ENVOYS_GROUP} "
                f"(all: children: {ENVOYS_GROUP}: children: <site>: hosts: {name}:)"
            ]
    return placed, errors


@dataclass
class Target:
    """One thing to probe (a cluster or a KubeFATE service) and the envoys and site groups that use it."""

    envoys: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def add(self, envoy: str, site: str) -> None:
        self.envoys.append(envoy)
        if site not in self.sites:
            self.sites.append(site)

    def label(self) -> str:
        return f"site group {', '.join(self.sites)} ({', '.join(self.envoys)})"


def missing_settings(entry: dict[str, Any]) -> list[str]:
    kubefate = entry.get("kubefate") or {}
    return [f"openfl_kubefate_{key}" for key in KUBEFATE_REQUIRED if not kubefate.get(key)]


@dataclass
class Probes:
    """The probes to run (tests replace them with fakes)."""

    kubernetes: Any = site_probes.check_kubernetes
    kubefate: Any = site_probes.check_kubefate
    chart: Any = site_probes.check_chart
    ca: Any = site_probes.check_ca


def check_sites(
    entries: list[dict[str, Any]],
    groups: dict[str, list[str]],
    chart_path: str | None,
    ca: dict[str, Any] | None,
    any_errors_fatal: bool = True,
    probes: Probes | None = None,
) -> dict[str, Any]:
    """The module's result: ``envoys`` (one verdict each), ``errors``, ``bad``, ``bad_sites``, ``warnings``."""
    probes = probes or Probes()
    names = [entry["name"] for entry in entries]
    placed, shape = shape_errors(names, groups)
    errors = {name: shape.get(name, []) for name in names}
    clusters: dict[tuple[Any, Any], Target] = {}
    services: dict[tuple[Any, ...], Target] = {}
    bad_sites: set[str] = set()
    for entry in entries:
        name = entry["name"]
        site = placed.get(name)
        if site is None:
            continue
        missing = missing_settings(entry)
        if missing:
            errors[name].append(
                f"site group {site}: {name}: {', '.join(missing)} not set; set them in group_vars/{site}/ "
                "(the site's connection settings, README 'Inventory variables')"
            )
            bad_sites.add(site)
            continue
        kubernetes = entry.get("kubernetes") or {}
        cluster = clusters.setdefault((kubernetes.get("kubeconfig"), kubernetes.get("context")), Target())
        cluster.add(name, site)
        cluster.settings.setdefault("namespace", entry.get("namespace") or "")
        service = services.setdefault(service_key(entry["kubefate"]), Target(settings=entry["kubefate"]))
        service.add(name, site)

    warnings: list[str] = []
    for (kubeconfig, context), target in clusters.items():
        found = probes.kubernetes(kubeconfig, context, target.settings["namespace"])
        _blame(target, found, errors, bad_sites)
    for target in services.values():
        found, warned = probes.kubefate(target.settings)
        warnings.extend(f"{target.label()}: {w}" for w in warned)
        _blame(target, found, errors, bad_sites)

    shared: list[str] = []
    if chart_path:
        found, warned = probes.chart(chart_path)
        shared.extend(found)
        warnings.extend(warned)
    if ca:
        paths = (ca["certificate_path"], ca["private_key_path"])
        missing = not ca.get("passphrase_set", True) and not ca.get("allow_unencrypted_key")
        shared.extend(probes.ca(*paths, ca.get("passphrase"), ca["mode"], ca["valid_days"], missing))
    for name in names:
        errors[name].extend(shared)

    results, bad = verdicts(errors, any_errors_fatal, "preflight found a bad site or inventory for")
    every = list(dict.fromkeys(e for name in names for e in errors[name]))
    return {"envoys": results, "errors": every, "bad": bad, "bad_sites": sorted(bad_sites), "warnings": warnings}


def _blame(target: Target, found: list[str], errors: dict[str, list[str]], bad_sites: set[str]) -> None:
    """Every envoy of a bad cluster or service gets its errors, prefixed by the site group(s) and envoys."""
    for text in found:
        for name in target.envoys:
            errors[name].append(f"{target.label()}: {text}")
    if found:
        bad_sites.update(target.sites)


# The KubeFATE connection options, none required (preflight names a missing setting and its site group itself),
# without the timeout (the probes have their own).
KUBEFATE_SPEC: dict[str, Any] = {
    key: {name: value for name, value in option.items() if name != "required"}
    for key, option in KUBEFATE_CONNECTION_SPEC.items()
    if key != "timeout"
}
ENVOY_SPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "default": ""},
    "kubernetes": {
        "type": "dict",
        "default": {},
        "options": {"kubeconfig": {"type": "str"}, "context": {"type": "str"}},
    },
    "kubefate": {"type": "dict", "default": {}, "options": KUBEFATE_SPEC},
}
CA_SPEC: dict[str, Any] = {
    "certificate_path": {"type": "path", "required": True},
    "private_key_path": {"type": "path", "required": True},
    "passphrase": {"type": "str", "no_log": True},
    "mode": {"type": "str", "choices": ["create", "existing"], "default": "create"},
    "valid_days": {"type": "int", "default": 365},
    "passphrase_set": {"type": "bool", "default": True},
    "allow_unencrypted_key": {"type": "bool", "default": False},
}


def argument_spec() -> dict[str, Any]:
    """The options of envoy_sites (its module and its action plugin)."""
    return {
        "envoys": {"type": "list", "elements": "dict", "required": True, "options": ENVOY_SPEC},
        "groups": {"type": "dict", "required": True},
        "chart_path": {"type": "path"},
        "ca": {"type": "dict", "options": CA_SPEC},
        "not_checked": {"type": "list", "elements": "str", "default": []},
        "any_errors_fatal": {"type": "bool", "default": True},
    }


def run(params: dict[str, Any], check_mode: bool, diff: bool = False) -> dict[str, Any] | None:
    """envoy_sites' result in the action plugin; None without the kubernetes package: the module then runs, in
    an interpreter that may have it (else its probe names the missing package per site)."""
    return site_result(params, check_mode, diff) if HAS_KUBERNETES else None


def site_result(params: dict[str, Any], check_mode: bool = False, diff: bool = False) -> dict[str, Any]:
    """envoy_sites' result (read-only, so check mode and diff change nothing)."""
    try:
        result = check_sites(
            params["envoys"], params["groups"], params["chart_path"], params["ca"], params["any_errors_fatal"]
        )
    except Exception as err:  # a probe that breaks must still say why, not leave every envoy without a result
        msg = f"the site checks could not run: {type(err).__name__}: {err}"
        return {"changed": False, "failed": True, "msg": msg, "envoys": {}}
    if params["not_checked"]:
        result["warnings"].append(
            f"not checked: {', '.join(params['not_checked'])} (outside this run, e.g. --limit); "
            "they are neither checked nor changed"
        )
    return dict(result, changed=False)
