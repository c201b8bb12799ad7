"""The verbs of the Kubernetes API test double (create, get, list, replace, patch, delete), free of HTTP."""

from __future__ import annotations

import json
import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import yaml

from . import patch as patches
from .errors import ApiError, Cause, already_exists, bad_request, conflict, not_found, unsupported_media_type
from .nodes import assign_node_ports
from .resources import CONFIGMAPS, NAMESPACES, RESOURCES, SERVICEACCOUNTS, Resource
from .selectors import field_predicate, label_predicate
from .store import Store, clone
from .validation import check_immutable, validate

# The test double has no cluster CA; the ConfigMap exists because clients may look for it.
ROOT_CA_PLACEHOLDER = "# sandbox test double: no cluster CA\n"
GENERATED_SUFFIX = string.ascii_lowercase + string.digits
# Kinds whose DELETE answers with the object (as the typed clients expect); the others answer a Status.
RETURNS_DELETED_OBJECT = ("pods", "services", "serviceaccounts")
# Metadata the server owns: client values are ignored on create and kept from the stored object on update.
SERVER_METADATA = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "selfLink")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Options:
    """Query options that change how a write is handled."""

    dry_run: bool = False
    field_validation: str = "Warn"
    subresource: str = ""
    field_manager: str = ""
    warnings: list[str] = field(default_factory=list)
    created: bool = False  # set when a write created the object (server-side apply)


class Api:
    """What the API server does with each verb, on top of a `Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, resource: Resource, namespace: str, name: str) -> dict:
        obj = self.store.get(resource, namespace, name)
        if obj is None:
            raise not_found(resource, name)
        return _typed(resource, obj)

    def list(self, resource: Resource, namespace: str | None, labels: str | None, fields: str | None) -> dict:
        by_label, by_field = label_predicate(labels), field_predicate(fields)
        with self.store.lock:
            revision = self.store.revision
            items = [_typed(resource, o) for o in self.store.list(resource, namespace) if by_label(o) and by_field(o)]
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": {"resourceVersion": str(revision)},
            "items": items,
        }

    def create(self, resource: Resource, namespace: str, body: object, options: Options) -> dict:
        obj = self._prepare_body(resource, namespace, body)
        metadata = obj["metadata"]
        if metadata.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + "".join(secrets.choice(GENERATED_SUFFIX) for _ in range(5))
        for key in SERVER_METADATA:
            metadata.pop(key, None)
        if resource.kind in ("Deployment", "Pod"):
            obj.pop("status", None)
        with self.store.lock:
            if resource.namespaced:
                self._require_namespace(namespace)
            options.warnings += validate(resource, obj, options.field_validation)
            if self.store.get(resource, namespace, metadata["name"]) is not None:
                raise already_exists(resource, metadata["name"])
            assign_node_ports(self.store, resource, obj, None)
            metadata.update(uid=str(uuid.uuid4()), creationTimestamp=now())
            if resource.kind == "Deployment":
                metadata["generation"] = 1
            if options.dry_run:
                return _typed(resource, obj)
            stored = self.store.put(resource, obj)
            if resource is NAMESPACES:
                self._populate_namespace(metadata["name"])
            return _typed(resource, stored)

    def _populate_namespace(self, namespace: str) -> None:
        """What a cluster's controllers add to every new namespace: ServiceAccount `default` and `kube-root-ca.crt`."""
        for resource, body in (
            (SERVICEACCOUNTS, {"metadata": {"name": "default"}}),
            (CONFIGMAPS, {"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": ROOT_CA_PLACEHOLDER}}),
        ):
            obj = {"apiVersion": "v1", "kind": resource.kind, **body}
            obj["metadata"].update(namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=now())
            self.store.put(resource, obj)

    def replace(self, resource: Resource, namespace: str, name: str, body: object, options: Options) -> dict:
        obj = self._prepare_body(resource, namespace, body)
        if obj["metadata"].get("name") not in (None, name):
            raise bad_request(
                f"the name of the object ({obj['metadata']['name']}) does not match the name on the URL ({name})"
            )
        obj["metadata"]["name"] = name
        with self.store.lock:
            existing = self.get(resource, namespace, name)
            return self._update(resource, existing, obj, options)

    def patch(
        self, resource: Resource, namespace: str, name: str, raw: bytes, content_type: str, options: Options
    ) -> dict:
        kind = content_type.split(";")[0].strip()
        with self.store.lock:
            existing = self.store.get(resource, namespace, name)
            if kind == "application/apply-patch+yaml":
                return self._apply(resource, namespace, name, raw, existing, options)
            if existing is None:
                raise not_found(resource, name)
            document = _parse_json(raw)
            if kind == "application/json-patch+json":
                patched = patches.json_patch(existing, document)
            elif kind == "application/merge-patch+json":
                patched = patches.merge_patch(existing, document)
            elif kind == "application/strategic-merge-patch+json":
                patched = patches.strategic_merge(existing, document)
            else:
                raise unsupported_media_type(kind)
            if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
                raise bad_request("the patch removed or replaced the object's metadata")
            return self._update(resource, _typed(resource, existing), patched, options)

    def delete(self, resource: Resource, namespace: str, name: str, propagation: str, dry_run: bool) -> dict:
        with self.store.lock:
            existing = self.get(resource, namespace, name)
            if dry_run:
                return _deleted_status(resource, existing)
            if resource is NAMESPACES:
                return self._delete_namespace(existing)
            self._collect_dependents(existing["metadata"]["uid"], namespace, propagation)
            self.store.remove(resource, namespace, name)
            return _deleted_status(resource, existing)

    def delete_collection(
        self, resource: Resource, namespace: str | None, labels: str | None, fields: str | None
    ) -> dict:
        with self.store.lock:
            found = self.list(resource, namespace, labels, fields)
            for item in found["items"]:
                meta = item["metadata"]
                self.delete(resource, meta.get("namespace", ""), meta["name"], "Background", False)
            return found

    def _prepare_body(self, resource: Resource, namespace: str, body: object) -> dict:
        if not isinstance(body, dict):
            raise bad_request(f"Object '{resource.kind}' is missing in '{json.dumps(body)}'")
        obj = clone(body)
        if obj.setdefault("kind", resource.kind) != resource.kind:
            raise bad_request(f'{obj["kind"]} in version "{resource.version}" cannot be handled as a {resource.kind}')
        if obj.setdefault("apiVersion", resource.api_version) != resource.api_version:
            raise bad_request(
                f"the API version in the data ({obj['apiVersion']}) does not match the expected API version "
                f"({resource.api_version})"
            )
        metadata = obj.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        if resource.namespaced:
            if metadata.get("namespace") not in (None, "", namespace):
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        return obj

    def _require_namespace(self, namespace: str) -> None:
        if self.store.get(NAMESPACES, "", namespace) is None:
            raise not_found(NAMESPACES, namespace)

    def _update(self, resource: Resource, existing: dict, obj: dict, options: Options) -> dict:
        metadata, old_meta = obj["metadata"], existing["metadata"]
        if metadata.get("resourceVersion") not in (None, "", old_meta["resourceVersion"]):
            raise conflict(resource, old_meta["name"])
        for key in SERVER_METADATA:
            if key in old_meta:
                metadata[key] = old_meta[key]
            else:
                metadata.pop(key, None)
        metadata["resourceVersion"] = old_meta["resourceVersion"]
        obj = self._scope_to_subresource(resource, existing, obj, options.subresource)
        check_immutable(resource, existing, obj)
        options.warnings += validate(resource, obj, options.field_validation, existing)
        assign_node_ports(self.store, resource, obj, existing)
        if resource.kind == "Deployment" and obj.get("spec") != existing.get("spec"):
            metadata["generation"] = old_meta.get("generation", 1) + 1
        if obj == existing or options.dry_run:
            return _typed(resource, obj)
        return _typed(resource, self.store.put(resource, obj))

    @staticmethod
    def _scope_to_subresource(resource: Resource, existing: dict, obj: dict, subresource: str) -> dict:
        """Writes to the main resource keep the stored status; writes to /status change only status."""
        if subresource == "status":
            merged = clone(existing)
            merged["status"] = obj.get("status")
            return merged
        if resource.has_status:
            obj["status"] = clone(existing.get("status"))
            if obj["status"] is None:
                obj.pop("status")
        return obj

    def _apply(
        self, resource: Resource, namespace: str, name: str, raw: bytes, existing: dict | None, options: Options
    ) -> dict:
        """Server-side apply, approximated: create, or strategic-merge the applied configuration."""
        try:
            document = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            raise bad_request(f"error decoding YAML: {error}") from None
        if not isinstance(document, dict):
            raise bad_request("apply patch must be an object")
        if not options.field_manager:
            cause = Cause.required("fieldManager", "is required for apply patch")
            raise ApiError(422, "Invalid", f'PatchOptions.meta.k8s.io "" is invalid: {cause.text()}')
        document.setdefault("metadata", {}).setdefault("name", name)
        if existing is None:
            options.created = True
            return self.create(resource, namespace, document, options)
        return self._update(resource, _typed(resource, existing), patches.strategic_merge(existing, document), options)

    def _delete_namespace(self, namespace: dict) -> dict:
        name = namespace["metadata"]["name"]
        for resource in RESOURCES:
            if resource.namespaced:
                for obj in self.store.list(resource, name):
                    self.store.remove(resource, name, obj["metadata"]["name"], notify=False)
        self.store.remove(NAMESPACES, "", name)
        namespace["metadata"]["deletionTimestamp"] = now()
        namespace["status"] = {"phase": "Terminating"}
        return namespace

    def _collect_dependents(self, owner_uid: str, namespace: str, propagation: str) -> None:
        """Garbage collection of objects owned by a deleted one (orphaning removes the reference instead)."""
        for resource in RESOURCES:
            if not resource.namespaced:
                continue
            for obj in self.store.list(resource, namespace):
                owners = obj["metadata"].get("ownerReferences") or []
                if not any(o.get("uid") == owner_uid for o in owners):
                    continue
                if propagation == "Orphan":
                    obj["metadata"]["ownerReferences"] = [o for o in owners if o.get("uid") != owner_uid]
                    self.store.put(resource, obj, notify=False)
                else:
                    self.store.remove(resource, namespace, obj["metadata"]["name"], notify=False)
                    self._collect_dependents(obj["metadata"]["uid"], namespace, propagation)


def _typed(resource: Resource, obj: dict) -> dict:
    obj.setdefault("kind", resource.kind)
    obj.setdefault("apiVersion", resource.api_version)
    return obj


def _parse_json(raw: bytes) -> object:
    try:
        return json.loads(raw or b"null")
    except json.JSONDecodeError as error:
        raise bad_request(f"error decoding patch: {error}") from None


def _deleted_status(resource: Resource, obj: dict) -> dict:
    """What DELETE answers: the object for kinds whose registry returns it, else a success Status."""
    if resource.plural in RETURNS_DELETED_OBJECT:
        obj["metadata"]["deletionTimestamp"] = now()
        return obj
    details = {"name": obj["metadata"]["name"], "kind": resource.plural, "uid": obj["metadata"]["uid"]}
    if resource.group:
        details["group"] = resource.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
