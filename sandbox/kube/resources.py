"""The resource kinds the Kubernetes API test double serves, with their discovery facts."""

from __future__ import annotations

from dataclasses import dataclass

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    """One served resource type (a REST collection) and how discovery describes it."""

    plural: str
    kind: str
    group: str
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    has_status: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """The name error messages use: `deployments.apps`, `secrets`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """The kind as 422 messages spell it: `Deployment.apps`, `Secret`."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def key(self) -> str:
        return f"{self.group or 'core'}/{self.plural}"


RESOURCES: tuple[Resource, ...] = (
    Resource("namespaces", "Namespace", "", "v1", False, ("ns",), has_status=True),
    Resource("nodes", "Node", "", "v1", False, ("no",), has_status=True),
    Resource("secrets", "Secret", "", "v1", True),
    Resource("configmaps", "ConfigMap", "", "v1", True, ("cm",)),
    Resource("serviceaccounts", "ServiceAccount", "", "v1", True, ("sa",)),
    Resource("services", "Service", "", "v1", True, ("svc",), has_status=True),
    Resource("pods", "Pod", "", "v1", True, ("po",), has_status=True),
    Resource("events", "Event", "", "v1", True, ("ev",)),
    Resource("deployments", "Deployment", "apps", "v1", True, ("deploy",), has_status=True),
)

BY_PATH: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KEY: dict[str, Resource] = {r.key: r for r in RESOURCES}
NAMESPACES = BY_PATH[("", "v1", "namespaces")]
PODS = BY_PATH[("", "v1", "pods")]
EVENTS = BY_PATH[("", "v1", "events")]
DEPLOYMENTS = BY_PATH[("apps", "v1", "deployments")]
SECRETS = BY_PATH[("", "v1", "secrets")]
CONFIGMAPS = BY_PATH[("", "v1", "configmaps")]
SERVICEACCOUNTS = BY_PATH[("", "v1", "serviceaccounts")]


def group_versions() -> dict[str, list[str]]:
    """Served API groups (core is "") and their versions."""
    groups: dict[str, list[str]] = {}
    for resource in RESOURCES:
        versions = groups.setdefault(resource.group, [])
        if resource.version not in versions:
            versions.append(resource.version)
    return groups


def resource_list(group: str, version: str) -> dict | None:
    """The APIResourceList discovery document of one group version, or None if not served."""
    served = [r for r in RESOURCES if r.group == group and r.version == version]
    if not served:
        return None
    entries: list[dict] = []
    for r in served:
        entry = {
            "name": r.plural,
            "singularName": r.kind.lower(),
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.plural in ("pods", "deployments", "services"):
            entry["categories"] = ["all"]
        entries.append(entry)
        if r.has_status:
            entries.append(_subresource(r, "status", ("get", "patch", "update")))
    if group == "" and version == "v1":
        entries.append(_subresource(BY_PATH[("", "v1", "pods")], "log", ("get",), kind="Pod"))
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}


def _subresource(r: Resource, sub: str, verbs: tuple[str, ...], kind: str | None = None) -> dict:
    return {
        "name": f"{r.plural}/{sub}",
        "singularName": "",
        "namespaced": r.namespaced,
        "kind": kind or r.kind,
        "verbs": list(verbs),
    }
