"""Server-side defaults the real API server fills in, so stored objects look like a cluster's."""

from __future__ import annotations

import base64
import random

from .resources import Resource


def _set(mapping: dict, key: str, value: object) -> None:
    if mapping.get(key) is None:
        mapping[key] = value


def _container(container: dict) -> None:
    image = container.get("image") or ""
    tag = image.rsplit("/", 1)[-1]
    always = ":" not in tag or tag.endswith(":latest")
    _set(container, "imagePullPolicy", "Always" if always and "@" not in tag else "IfNotPresent")
    _set(container, "terminationMessagePath", "/dev/termination-log")
    _set(container, "terminationMessagePolicy", "File")
    _set(container, "resources", {})
    for port in container.get("ports") or []:
        _set(port, "protocol", "TCP")
    for env in container.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if field_ref:
            _set(field_ref, "apiVersion", "v1")


def pod_spec(spec: dict) -> None:
    _set(spec, "restartPolicy", "Always")
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "schedulerName", "default-scheduler")
    _set(spec, "securityContext", {})
    _set(spec, "terminationGracePeriodSeconds", 30)
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        _container(container)
    for volume in spec.get("volumes") or []:
        for source in ("secret", "configMap"):
            if isinstance(volume.get(source), dict):
                _set(volume[source], "defaultMode", 420)


def _deployment(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "replicas", 1)
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _set(strategy, "rollingUpdate", {})
        _set(strategy["rollingUpdate"], "maxUnavailable", "25%")
        _set(strategy["rollingUpdate"], "maxSurge", "25%")
    template = spec.setdefault("template", {})
    _set(template, "metadata", {})
    pod_spec(template.setdefault("spec", {}))


def _service(obj: dict, existing: dict | None) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "type", "ClusterIP")
    _set(spec, "sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        kept = (existing or {}).get("spec", {}).get("clusterIP")
        _set(spec, "clusterIP", kept or f"10.96.{random.randint(0, 255)}.{random.randint(1, 254)}")
        _set(spec, "clusterIPs", [spec["clusterIP"]])
        _set(spec, "ipFamilies", ["IPv4"])
        _set(spec, "ipFamilyPolicy", "SingleStack")
        _set(spec, "internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        _set(port, "protocol", "TCP")
        _set(port, "targetPort", port.get("port"))
    _set(obj, "status", {"loadBalancer": {}})


def _secret(obj: dict) -> None:
    _set(obj, "type", "Opaque")
    string_data = obj.pop("stringData", None) or {}
    if string_data:
        data = obj.setdefault("data", {}) or {}
        obj["data"] = data
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _namespace(obj: dict) -> None:
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    _set(obj, "spec", {})
    _set(obj["spec"], "finalizers", ["kubernetes"])
    _set(obj, "status", {})
    _set(obj["status"], "phase", "Active")


def apply(resource: Resource, obj: dict, existing: dict | None = None) -> None:
    """Fill in defaults in place (after validation; before storing)."""
    if resource.kind == "Deployment":
        _deployment(obj)
    elif resource.kind == "Pod":
        pod_spec(obj.setdefault("spec", {}))
    elif resource.kind == "Service":
        _service(obj, existing)
    elif resource.kind == "Secret":
        _secret(obj)
    elif resource.kind == "Namespace":
        _namespace(obj)
