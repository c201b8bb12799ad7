"""`meta.k8s.io/v1` Table rendering (what `kubectl get` asks for with `as=Table`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from .resources import Resource

Column = tuple[str, str, Callable[[dict], object]]


def age(obj: dict) -> str:
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    seconds = int(
        (datetime.now(UTC) - datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)).total_seconds()
    )
    seconds = max(seconds, 0)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60}s" if seconds < 600 else f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60}m" if seconds < 28800 else f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _pod_ready(pod: dict) -> str:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    total = len(pod.get("spec", {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def pod_status(pod: dict) -> str:
    """The STATUS column: a waiting reason if a container waits, else the phase."""
    for status in pod.get("status", {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting")
        if waiting:
            return waiting.get("reason", "Waiting")
    return pod.get("status", {}).get("phase", "Pending")


def _ports(service: dict) -> str:
    ports = service.get("spec", {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _status(obj: dict) -> dict:
    return obj.get("status") or {}


COLUMNS: dict[str, list[Column]] = {
    "Namespace": [("Status", "string", lambda o: _status(o).get("phase", ""))],
    "Secret": [
        ("Type", "string", lambda o: o.get("type", "")),
        ("Data", "string", lambda o: len(o.get("data") or {})),
    ],
    "ConfigMap": [("Data", "string", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))],
    "ServiceAccount": [("Secrets", "string", lambda o: len(o.get("secrets") or []))],
    "Service": [
        ("Type", "string", lambda o: o.get("spec", {}).get("type", "")),
        ("Cluster-IP", "string", lambda o: o.get("spec", {}).get("clusterIP", "")),
        ("External-IP", "string", lambda o: "<none>"),
        ("Port(s)", "string", _ports),
    ],
    "Deployment": [
        ("Ready", "string", lambda o: f"{_status(o).get('readyReplicas', 0)}/{o.get('spec', {}).get('replicas', 0)}"),
        ("Up-to-date", "integer", lambda o: _status(o).get("updatedReplicas", 0)),
        ("Available", "integer", lambda o: _status(o).get("availableReplicas", 0)),
    ],
    "Pod": [
        ("Ready", "string", _pod_ready),
        ("Status", "string", pod_status),
        (
            "Restarts",
            "string",
            lambda o: sum(s.get("restartCount", 0) for s in _status(o).get("containerStatuses") or []),
        ),
    ],
    "Event": [
        ("Type", "string", lambda o: o.get("type", "")),
        ("Reason", "string", lambda o: o.get("reason", "")),
        (
            "Object",
            "string",
            lambda o: (
                f"{o.get('involvedObject', {}).get('kind', '').lower()}/{o.get('involvedObject', {}).get('name', '')}"
            ),
        ),
        ("Message", "string", lambda o: o.get("message", "")),
    ],
}


def table(resource: Resource, items: list[dict], revision: str, include_object: str) -> dict:
    columns = [
        ("Name", "string", lambda o: o["metadata"]["name"]),
        *COLUMNS.get(resource.kind, []),
        ("Age", "string", age),
    ]
    definitions = [
        {"name": name, "type": kind, "format": "name" if name == "Name" else "", "description": name, "priority": 0}
        for name, kind, _ in columns
    ]
    rows = [
        {"cells": [cell(obj) for _, _, cell in columns], "object": _row_object(obj, include_object)} for obj in items
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": revision},
        "columnDefinitions": definitions,
        "rows": rows,
    }


def _row_object(obj: dict, include_object: str) -> dict | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
