# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The director on its cluster: its fixed names, its exposed address read back, and whether it is up.

What FedLCM does after the director's install (participant_service.go): read Service ``director``,
ports ``director`` and ``agg``; for type NodePort, a node's ExternalIP (else its InternalIP) and the
two nodePorts; for LoadBalancer, the ingress IP (retried until a deadline: the cloud assigns it
later) and the Service ports. The envoys dial that IP (a hostAlias, so it must be an IP) with the
director's FQDN. Up means: Deployment ``director`` Available and its log shows the server listens.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.envoy_health import (
    deployment_available,
    find_marker,
    log_lines,
    log_tail,
)
from ansible_collections.openfl.envoy.plugins.module_utils.k8s_client import (
    K8sError,
    RestApi,
    call,
    endpoint_name,
    new_api_client,
)

# The chart's fixed names (charts/openfl-director) and the director-cert Secret the chart mounts.
SECRET_NAME = "director-cert"
SECRET_KEYS = ("director.crt", "priv.key", "root_ca.crt")
DEPLOYMENT_NAME = CONTAINER_NAME = SERVICE_NAME = "director"
POD_SELECTOR = "openfl=director"
DIRECTOR_PORT_NAME, AGG_PORT_NAME = "director", "agg"
# What OpenFL's director logs once its gRPC server is bound (1.5 and 1.6).
LISTEN_MARKERS = ("Starting server on",)
ADDRESS_PREFERENCE = ("ExternalIP", "InternalIP")


@dataclass
class Address:
    ip: str
    port: int
    agg_port: int
    service_type: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"ip": self.ip, "port": self.port, "agg_port": self.agg_port, "service_type": self.service_type,
                "source": self.source}  # fmt: skip


def _ports(service: dict[str, Any], key: str) -> dict[str, int | None]:
    ports = (service.get("spec") or {}).get("ports") or []
    return {p.get("name"): p.get(key) for p in ports}


def node_ip(nodes: list[dict[str, Any]]) -> tuple[str, str] | None:
    """(address, where it came from): the first node's ExternalIP, else its InternalIP."""
    for kind in ADDRESS_PREFERENCE:
        for node in nodes:
            for address in (node.get("status") or {}).get("addresses") or []:
                if address.get("type") == kind and address.get("address"):
                    return address["address"], f"node {node['metadata']['name']} {kind}"
    return None


def exposed_address(service: dict[str, Any], nodes: list[dict[str, Any]]) -> tuple[Address | None, str]:
    """The address the envoys dial, or None and why not (yet)."""
    kind = (service.get("spec") or {}).get("type") or "ClusterIP"
    if kind == "NodePort":
        found = node_ip(nodes)
        if found is None:
            return None, "no node reports an ExternalIP or InternalIP address"
        ip, source, ports = *found, _ports(service, "nodePort")
    elif kind == "LoadBalancer":
        ingress = (((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [{}])[0]
        if ingress.get("hostname") and not ingress.get("ip"):
            return None, (
                f"the load balancer's ingress is the host name {ingress['hostname']}, not an IP (the envoys need an IP "
                "for their hostAliases): set openfl_director_ip to its address"
            )
        if not ingress.get("ip"):
            return None, "the load balancer has no ingress IP yet"
        ip, source, ports = ingress["ip"], "load balancer ingress", _ports(service, "port")
    else:
        ip, source, ports = (service.get("spec") or {}).get("clusterIP") or "", "cluster IP", _ports(service, "port")
    missing = [name for name in (DIRECTOR_PORT_NAME, AGG_PORT_NAME) if not ports.get(name)]
    if missing or not ip:
        return None, f"Service {SERVICE_NAME} has no {' and no '.join(missing) or 'address'} port (type {kind})"
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return None, f"Service {SERVICE_NAME} ({kind}) exposes {ip!r}, which is not an IP address"
    return Address(ip, int(ports[DIRECTOR_PORT_NAME]), int(ports[AGG_PORT_NAME]), kind, source), ""


@dataclass
class DirectorState:
    """One read of the director's objects."""

    exists: bool = False
    available: bool = False
    listening: bool = False
    address: Address | None = None
    waiting_for: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.waiting_for


class DirectorReader:
    """Reads the director's Deployment, pod log, Service and the nodes from one Kubernetes API (read-only)."""

    def __init__(self, kubeconfig: str | None, context: str | None, namespace: str) -> None:
        api = new_api_client(kubeconfig, context)
        self.core = self.apps = RestApi(api)
        self.namespace = namespace
        self.endpoint = endpoint_name(api, context)

    def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        return call(self.endpoint, what, method, *args, **kwargs)

    def service(self) -> dict[str, Any] | None:
        what = f"read Service {SERVICE_NAME} in {self.namespace}"
        return self._call(what, self.core.read_namespaced_service, SERVICE_NAME, self.namespace)

    def nodes(self) -> list[dict[str, Any]]:
        try:
            return list((self._call("list nodes", self.core.list_node) or {}).get("items") or [])
        except K8sError as err:
            if err.status == 403:
                raise K8sError(
                    f"{err.msg}; reading a NodePort director's address needs get/list on nodes: grant it, or set "
                    "openfl_director_ip (the address the envoys dial) in the inventory",
                    err.status,
                ) from None
            raise

    def read(self, health: bool, markers: tuple[str, ...], excerpt: int) -> DirectorState:
        state = DirectorState()
        service = self.service()
        state.exists = service is not None
        if service is None:
            state.waiting_for.append(f"Service {SERVICE_NAME} (not found in namespace {self.namespace})")
        else:
            nodes = self.nodes() if (service.get("spec") or {}).get("type") == "NodePort" else []
            state.address, why = exposed_address(service, nodes)
            if state.address is None:
                state.waiting_for.append(f"the exposed address: {why}")
        if not health:
            return state
        what = f"read Deployment {DEPLOYMENT_NAME} in {self.namespace}"
        state.available = deployment_available(
            self._call(what, self.apps.read_namespaced_deployment, DEPLOYMENT_NAME, self.namespace)
        )
        if not state.available:
            state.waiting_for.append(f"Deployment {DEPLOYMENT_NAME} Available")
        lines = self._log()
        state.listening = find_marker(lines, markers) is not None
        state.log = log_tail(lines, excerpt)
        if not state.listening:
            state.waiting_for.append(f'"{markers[0]}" in the director log')
        return state

    def _log(self) -> list[str]:
        what = f"list pods in {self.namespace}"
        pods = (self._call(what, self.core.list_namespaced_pod, self.namespace, label_selector=POD_SELECTOR) or {}).get(
            "items"
        ) or []
        live = sorted(
            (p for p in pods if not p["metadata"].get("deletionTimestamp")),
            key=lambda p: p["metadata"].get("creationTimestamp") or "",
        )
        if not live:
            return []
        pod = live[-1]["metadata"]["name"]
        try:
            what = f"read the log of pod {pod} in {self.namespace}"
            method = self.core.read_namespaced_pod_log
            return log_lines(self._call(what, method, pod, self.namespace, container=CONTAINER_NAME, raw=True))
        except K8sError as err:
            if err.status == 400:  # the container is not running yet
                return []
            raise


def wait_director(reader: DirectorReader, timeout: float, interval: float, markers: tuple[str, ...], excerpt: int):
    """Poll until the director is up and its address known, or the deadline: the last state."""
    deadline = time.monotonic() + timeout
    while True:
        state = reader.read(True, markers, excerpt)
        if state.healthy or time.monotonic() >= deadline:
            return state
        time.sleep(max(0.0, min(interval, deadline - time.monotonic())))


DIRECTOR_SETTINGS = (("openfl_director_ip", "ip"), ("openfl_director_port", "port"),
                     ("openfl_director_agg_port", "agg_port"))  # fmt: skip


def address_checks(
    address: Address | None, waiting_for: list[str], envoys: list[dict[str, Any]], director: str, require: bool
) -> dict[str, dict[str, Any]]:
    """Per envoy: an error for each director setting it sets to another value than the read-back one;
    with ``require``, also for each one it leaves unset while nothing could be read back."""
    results: dict[str, dict[str, Any]] = {}
    for envoy in envoys:
        unset = [variable for variable, key in DIRECTOR_SETTINGS if envoy.get(key) in (None, "")]
        errors = []
        if address is None and require and unset:
            errors.append(
                f"{envoy['name']}: {', '.join(unset)} not set and director {director} has no address to read back "
                f"(waiting for {'; '.join(waiting_for)}): run the director stage first (site.yml without --limit, or "
                f"--limit {director}), or set them in the inventory"
            )
        elif address is not None:
            read_back = address.as_dict()
            errors += [
                f"{envoy['name']}: {variable} {envoy[key]!r} differs from the director's read-back {read_back[key]!r} "
                f"({address.service_type}, {address.source}): remove {variable} from the inventory to use the "
                "read-back value, or fix it"
                for variable, key in DIRECTOR_SETTINGS
                if variable not in unset and str(envoy[key]) != str(read_back[key])
            ]
        results[envoy["name"]] = {"changed": False, "failed": bool(errors), "msg": "; ".join(errors)}
    return results
