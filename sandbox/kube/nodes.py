"""The emulated cluster's one Node and its nodePorts: what a director's exposed address is read back from.

- Node `sandbox-node` (cluster-scoped, read-only in practice) with the addresses a cloud node
  reports: `InternalIP` 10.0.0.10 (the node network: not reachable from this machine, as a
  private address of another site would not be) and `ExternalIP` 127.0.0.1, where its nodePorts
  answer. A client that reads the address back must prefer ExternalIP, as FedLCM does.
- nodePorts: a Service of type NodePort or LoadBalancer gets one per port, kept across updates
  (matched by port name, else by number), allocated from 30000-32767 as the API server does but
  only among ports free on 127.0.0.1 (several sandboxes share the machine); a requested one must be
  in the range and not taken by another Service (422 otherwise, with the API server's wording).
  No kube-proxy: the kubelet has a real container bind its published ports on the ExternalIP
  itself (`published_ports`, read by podenv/sitecustomize.py), so a nodePort reaches the pod.
- LoadBalancer: there is no load-balancer controller, so `status.loadBalancer` stays empty.
"""

from __future__ import annotations

import random
import socket
import uuid

from .errors import Cause, invalid
from .resources import BY_PATH, Resource
from .store import Store

NODE_NAME = "sandbox-node"
INTERNAL_IP = "10.0.0.10"
EXTERNAL_IP = "127.0.0.1"
NODE_PORT_RANGE = (30000, 32767)
NODES = BY_PATH[("", "v1", "nodes")]
SERVICES = BY_PATH[("", "v1", "services")]
# Every nodePort this process handed out, over all its emulated clusters: they all bind 127.0.0.1.
_CLAIMED: set[int] = set()


def node_object(created: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "uid": str(uuid.uuid4()),
            "creationTimestamp": created,
            "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux"},
        },
        "spec": {},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": INTERNAL_IP},
                {"type": "ExternalIP", "address": EXTERNAL_IP},
                {"type": "Hostname", "address": NODE_NAME},
            ],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        },
    }


def seed_node(store: Store, created: str) -> None:
    """The node exists in every cluster (after a start, a reset or a restore)."""
    with store.lock:
        if store.get(NODES, "", NODE_NAME) is None:
            store.put(NODES, node_object(created), notify=False)


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((EXTERNAL_IP, port))
        except OSError:
            return False
    return True


def _allocate(taken: set[int]) -> int:
    low, high = NODE_PORT_RANGE
    candidates = [p for p in range(low, high + 1) if p not in taken and p not in _CLAIMED]
    random.shuffle(candidates)
    for port in candidates:
        if _bindable(port):
            _CLAIMED.add(port)
            return port
    raise OSError("no free nodePort on 127.0.0.1")


def assign_node_ports(store: Store, resource: Resource, obj: dict, existing: dict | None) -> None:
    """Fill in (or check) the nodePorts of a Service about to be stored, in place."""
    if resource is not SERVICES:
        return
    spec = obj.get("spec") or {}
    ports = spec.get("ports") or []
    name = obj["metadata"]["name"]
    if spec.get("type") not in ("NodePort", "LoadBalancer"):
        for port in ports:
            port.pop("nodePort", None)
        return
    namespace = obj["metadata"].get("namespace", "")
    taken = {
        p["nodePort"]
        for s in store.list(SERVICES)
        if (s["metadata"]["namespace"], s["metadata"]["name"]) != (namespace, name)
        for p in (s.get("spec") or {}).get("ports") or []
        if p.get("nodePort")
    }
    previous_ports = ((existing or {}).get("spec") or {}).get("ports") or []
    causes = []
    for index, port in enumerate(ports):
        field = f"spec.ports[{index}].nodePort"
        wanted = port.get("nodePort")
        if wanted:
            low, high = NODE_PORT_RANGE
            if not low <= wanted <= high:
                detail = f"provided port is not in the valid range. The range of valid ports is {low}-{high}"
                causes.append(Cause.invalid(field, wanted, detail))
            elif wanted in taken:
                causes.append(Cause.invalid(field, wanted, "provided port is already allocated"))
            taken.add(wanted)
            continue
        previous = next(
            (
                p.get("nodePort")
                for p in previous_ports
                if p.get("nodePort") and (p.get("name") == port.get("name") or p.get("port") == port.get("port"))
            ),
            None,
        )
        port["nodePort"] = previous if previous and previous not in taken else _allocate(taken)
        taken.add(port["nodePort"])
    if causes:
        raise invalid(resource, name, causes)


def published_ports(store: Store, pod: dict, container: dict) -> str:
    """`<containerPort>=<ip>:<nodePort>,...` for the container's ports a NodePort/LoadBalancer Service exposes."""
    labels = pod["metadata"].get("labels") or {}
    by_name = {p.get("name"): p.get("containerPort") for p in container.get("ports") or [] if p.get("name")}
    numbers = {p.get("containerPort") for p in container.get("ports") or []}
    pairs = []
    for service in store.list(SERVICES, pod["metadata"]["namespace"]):
        selector = (service.get("spec") or {}).get("selector") or {}
        if not selector or any(labels.get(key) != value for key, value in selector.items()):
            continue
        for port in service["spec"].get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            number = by_name.get(target) if isinstance(target, str) else target
            if port.get("nodePort") and number in numbers:
                pairs.append(f"{number}={EXTERNAL_IP}:{port['nodePort']}")
    return ",".join(sorted(pairs))
