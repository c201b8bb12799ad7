"""A minimal OpenAPI v3 description: only what kubectl reads to learn that the server validates fields.

kubectl looks for the `fieldValidation` query parameter on each kind's PATCH operation; when it is
there, kubectl leaves validation to the server (which does it with the official schemas) instead
of downloading full schemas. No component schemas are served.
"""

from __future__ import annotations

from .resources import RESOURCES, Resource, group_versions

QUERY_PARAMETERS = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def index() -> dict:
    paths = {}
    for group, versions in group_versions().items():
        for version in versions:
            path = _gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash=sandbox"}
    return {"paths": paths}


def _operation(resource: Resource, verb: str) -> dict:
    return {
        "operationId": f"{verb}{resource.kind}",
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": {
            "group": resource.group,
            "version": resource.version,
            "kind": resource.kind,
        },
        "parameters": [{"name": name, "in": "query", "schema": {"type": "string"}} for name in QUERY_PARAMETERS],
        "responses": {"200": {"description": "OK"}},
    }


def document(path: str) -> dict | None:
    """The OpenAPI v3 document of one group version (`api/v1`, `apis/apps/v1`), or None."""
    paths = {}
    for resource in RESOURCES:
        prefix = "/" + _gv_path(resource.group, resource.version)
        if prefix != "/" + path:
            continue
        scope = "/namespaces/{namespace}" if resource.namespaced else ""
        paths[f"{prefix}{scope}/{resource.plural}/{{name}}"] = {
            "get": _operation(resource, "get"),
            "put": _operation(resource, "put"),
            "patch": _operation(resource, "patch"),
            "delete": _operation(resource, "delete"),
        }
        paths[f"{prefix}{scope}/{resource.plural}"] = {
            "post": _operation(resource, "post"),
            "get": _operation(resource, "list"),
        }
    if not paths:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (sandbox test double)", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }
