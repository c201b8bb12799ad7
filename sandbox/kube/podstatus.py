"""The sandbox kubelet's pure helpers: the status it reports for pods and deployments, and the
bytes of Secret and ConfigMap data (no state, no threads)."""

from __future__ import annotations

import base64
from typing import Any

from .api import now

BACKOFF_FIRST, BACKOFF_MAX = 10.0, 300.0  # Kubernetes' container restart back-off, in seconds


def object_data(obj: dict) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    encoded = obj.get("kind") == "Secret"
    for key, value in (obj.get("data") or {}).items():
        files[key] = base64.b64decode(value) if encoded else str(value).encode()
    for key, value in (obj.get("binaryData") or {}).items():
        files[key] = base64.b64decode(value)
    return files


def pod_ready(pod: dict) -> bool:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return bool(statuses) and all(s.get("ready") for s in statuses)


def max_unavailable(deployment: dict, wanted: int) -> int:
    strategy = deployment["spec"].get("strategy") or {}
    value = (
        (strategy.get("rollingUpdate") or {}).get("maxUnavailable", 0) if strategy.get("type") == "RollingUpdate" else 0
    )
    if isinstance(value, str) and value.endswith("%"):
        return wanted * int(value[:-1]) // 100
    return int(value or 0)


def condition(old: dict | None, kind: str, ok: bool, reason: str, message: str) -> dict:
    value = "True" if ok else "False"
    stamp = now()
    same = old is not None and old.get("status") == value
    unchanged = same and old.get("reason") == reason and old.get("message") == message
    return {
        "type": kind,
        "status": value,
        "lastUpdateTime": old["lastUpdateTime"] if unchanged else stamp,
        "lastTransitionTime": old["lastTransitionTime"] if same else stamp,
        "reason": reason,
        "message": message,
    }


def pod_status(pod: dict, runtime: Any, waiting: str) -> dict:
    started = pod.get("status", {}).get("startTime") or now()
    ready = not waiting
    containers = []
    for container in pod["spec"].get("containers") or []:
        status = {
            "name": container["name"],
            "image": container.get("image", ""),
            "imageID": "",
            "ready": ready,
            "started": ready,
            "restartCount": runtime.restarts,
            "state": {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": runtime.started_at}},
        }
        if waiting == "CrashLoopBackOff":
            name = container["name"]
            delay = f"{runtime.backoff or BACKOFF_FIRST:.0f}s"
            status["state"]["waiting"]["message"] = (
                f"back-off {delay} restarting failed container={name} pod={pod['metadata']['name']}"
            )
        if waiting == "CrashLoopBackOff" or (runtime.finished_at and not waiting):
            code = runtime.exit_code
            status["lastState"] = {
                "terminated": {
                    "exitCode": code,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": runtime.started_at,
                    "finishedAt": runtime.finished_at or runtime.started_at,
                }
            }
        containers.append(status)
    phase = "Pending" if waiting == "ContainerCreating" else "Running"
    flag = "True" if ready else "False"
    conditions = [
        {"type": "PodScheduled", "status": "True"},
        {"type": "Initialized", "status": "True"},
        {"type": "ContainersReady", "status": flag},
        {"type": "Ready", "status": flag},
    ]
    old = {c["type"]: c for c in pod.get("status", {}).get("conditions") or []}
    for entry in conditions:
        previous = old.get(entry["type"])
        entry["lastTransitionTime"] = (
            previous["lastTransitionTime"] if previous and previous["status"] == entry["status"] else now()
        )
        entry["lastProbeTime"] = None
    status = {"phase": phase, "conditions": conditions, "hostIP": "10.0.0.10", "startTime": started}
    if phase == "Running":
        status["podIP"] = "10.244.0.10"
    return {**status, "containerStatuses": containers, "qosClass": "BestEffort"}
