"""Helm as KubeFATE drives it, for the test double: values-template, render, install/upgrade/rollback/uninstall.

Rendering is Helm's own engine (`helm_python`); applying is plain create/replace/delete through
the Kubernetes API. Releases are remembered in memory (what each revision created), which is
what lets an upgrade remove objects it no longer renders and an uninstall remove everything.
Texts of the errors are Helm v3's where a client could see them in a job's `states`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import yaml
from helm_python.chart import Chart
from helm_python.errors import HelmError

from .charts import build_chart
from .kube import KubeClient, KubeError
from .models import HelmChart

_TPL_CHART_YAML = "apiVersion: v2\nname: kubefate-values-template\nversion: 0.0.1\n"
MANAGED_BY = ("app.kubernetes.io/managed-by", "Helm")
RELEASE_NAME = "meta.helm.sh/release-name"
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"


class HelmFailure(Exception):
    """A helm action failed; the text is what KubeFATE records in the job's states."""


@cache
def _tpl_chart() -> Chart:
    """A throw-away chart whose only template runs `tpl` on a text with a context (reference §15).

    Helm loads the chart into memory, so its directory is removed at once (nothing is left in the
    system temp dir).
    """
    with TemporaryDirectory(prefix="kubefate-tpl-") as name:
        directory = Path(name)
        (directory / "templates").mkdir()
        (directory / "Chart.yaml").write_text(_TPL_CHART_YAML)
        (directory / "templates" / "values.yaml").write_text("{{ tpl .Values.t .Values.s }}")
        return Chart.load(directory)


def values_from_template(row: HelmChart, spec: dict[str, Any]) -> dict[str, Any]:
    """KubeFATE §8: execute values-template.yaml with the cluster spec as `.`, parse the result as values."""
    if not row.values_template:
        raise HelmFailure("FateChart ValuesTemplate not exist")
    try:
        rendered = _tpl_chart().render({"t": row.values_template, "s": spec}, name="kubefate")
    except HelmError as error:
        raise HelmFailure(str(error)) from None
    text = "".join(rendered.values()).replace("<no value>", "")
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise HelmFailure(f"error converting YAML to JSON: {error}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise HelmFailure(
            "error unmarshaling JSON: json: cannot unmarshal array into Go value of type map[string]interface {}"
        )
    return values


def render_objects(row: HelmChart, values: dict[str, Any], name: str, namespace: str, upgrade: bool) -> list[dict]:
    """The manifests `helm install/upgrade` would send, in template order, with Helm's ownership metadata."""
    try:
        with build_chart(row) as chart:
            rendered = chart.render(values, name=name, namespace=namespace, is_install=not upgrade, is_upgrade=upgrade)
    except HelmError as error:
        raise HelmFailure(str(error)) from None
    objects: list[dict] = []
    for path in sorted(rendered):
        if path.endswith("NOTES.txt"):
            continue
        try:
            documents = list(yaml.safe_load_all(rendered[path]))
        except yaml.YAMLError as error:
            raise HelmFailure(f"YAML parse error on {path}: {error}") from None
        objects.extend(_owned(doc, name, namespace) for doc in documents if isinstance(doc, dict) and doc)
    return objects


def _owned(obj: dict, release: str, namespace: str) -> dict:
    metadata = obj.setdefault("metadata", {}) or {}
    obj["metadata"] = metadata
    metadata.setdefault("labels", {})
    metadata["labels"] = dict(metadata["labels"] or {}, **{MANAGED_BY[0]: MANAGED_BY[1]})
    metadata["annotations"] = dict(
        metadata.get("annotations") or {}, **{RELEASE_NAME: release, RELEASE_NAMESPACE: namespace}
    )
    return obj


@dataclass
class Release:
    name: str
    namespace: str
    revisions: list[list[dict]] = field(default_factory=list)  # objects applied per revision

    @property
    def current(self) -> list[dict]:
        return self.revisions[-1] if self.revisions else []


def _ref(obj: dict) -> tuple[str, str, str]:
    return (str(obj.get("apiVersion", "")), str(obj.get("kind", "")), str(obj.get("metadata", {}).get("name", "")))


class Helm:
    """Releases of one KubeFATE service on one Kubernetes API."""

    def __init__(self, kube: KubeClient) -> None:
        self.kube = kube
        self.releases: dict[tuple[str, str], Release] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self.releases.clear()

    def install(self, name: str, namespace: str, objects: list[dict]) -> None:
        """Helm checks namespace and ownership before it records a release; a later failure leaves a
        (failed) release whose manifest an uninstall removes."""
        with self._lock:
            if (namespace, name) in self.releases:
                raise HelmFailure("cannot re-use a name that is still in use")
        self._require_namespace(namespace)
        for obj in objects:
            self._check_adoptable(obj, name, namespace)
        with self._lock:
            if (namespace, name) in self.releases:
                raise HelmFailure("cannot re-use a name that is still in use")
            self.releases[(namespace, name)] = Release(name, namespace, [objects])
        self._apply_all(objects, namespace)

    def upgrade(self, name: str, namespace: str, objects: list[dict]) -> None:
        release = self._release(name, namespace, "UPGRADE FAILED: ")
        previous = release.current
        release.revisions.append(objects)
        try:
            self._apply_all(objects, namespace)
        except HelmFailure as error:
            raise HelmFailure(f"UPGRADE FAILED: {error}") from None
        self._delete_missing(previous, objects, namespace)

    def rollback(self, name: str, namespace: str) -> None:
        release = self._release(name, namespace, "")
        if len(release.revisions) < 2:
            raise HelmFailure(f'release: "{name}" has no 1 version')
        failed = release.revisions[-1]
        target = release.revisions[-2]
        release.revisions.append(target)
        self._apply_all(target, namespace)
        self._delete_missing(failed, target, namespace)

    def uninstall(self, name: str, namespace: str) -> None:
        with self._lock:
            release = self.releases.pop((namespace, name), None)
        if release is None:
            raise HelmFailure(f"uninstall: Release not loaded: {name}: release: not found")
        for obj in reversed(release.current):
            self._delete(obj, namespace)

    # -- internals -------------------------------------------------------------------------------
    def _release(self, name: str, namespace: str, prefix: str) -> Release:
        with self._lock:
            release = self.releases.get((namespace, name))
        if release is None:
            raise HelmFailure(f'{prefix}"{name}" has no deployed releases')
        return release

    def _require_namespace(self, namespace: str) -> None:
        # Helm stores the release record in the namespace first: that is where a missing one shows.
        try:
            self.kube.request("GET", f"/api/v1/namespaces/{namespace}")
        except KubeError as error:
            if error.status == 404:
                raise HelmFailure(f'create: failed to create: namespaces "{namespace}" not found') from None
            raise HelmFailure(f"Kubernetes cluster unreachable: {error.message}") from None

    def _check_adoptable(self, obj: dict, release: str, namespace: str) -> None:
        try:
            mapping = self.kube.mapping(obj.get("apiVersion", ""), obj.get("kind", ""))
            existing = self.kube.get(mapping, namespace, _ref(obj)[2])
        except KubeError as error:
            raise HelmFailure(_mapping_error(obj, namespace, error)) from None
        if existing is None:
            return
        annotations = existing.get("metadata", {}).get("annotations") or {}
        if annotations.get(RELEASE_NAME) != release or annotations.get(RELEASE_NAMESPACE) != namespace:
            raise HelmFailure(
                "rendered manifests contain a resource that already exists. Unable to continue with install: "
                f'{obj.get("kind")} "{_ref(obj)[2]}" in namespace "{namespace}" exists and cannot be imported '
                "into the current release: invalid ownership metadata"
            )

    def _apply_all(self, objects: list[dict], namespace: str) -> None:
        for obj in objects:
            self._apply(obj, namespace)

    def _apply(self, obj: dict, namespace: str) -> None:
        """Create the object, or replace it (Helm would patch; the outcome is the same rendered object)."""
        existing: dict | None = None
        try:
            mapping = self.kube.mapping(obj.get("apiVersion", ""), obj.get("kind", ""))
            name = _ref(obj)[2]
            body = dict(obj, metadata=dict(obj["metadata"]))
            if mapping.namespaced:
                body["metadata"]["namespace"] = namespace
            existing = self.kube.get(mapping, namespace, name)
            if existing is None:
                self.kube.request("POST", mapping.path(namespace), body)
            else:
                body["metadata"]["resourceVersion"] = existing["metadata"].get("resourceVersion")
                self.kube.request("PUT", mapping.path(namespace, name), body)
        except KubeError as error:
            raise HelmFailure(_apply_error(existing is None, obj, namespace, error)) from None

    def _delete(self, obj: dict, namespace: str) -> None:
        try:
            mapping = self.kube.mapping(obj.get("apiVersion", ""), obj.get("kind", ""))
            self.kube.request("DELETE", mapping.path(namespace, _ref(obj)[2]))
        except KubeError:
            pass  # Helm reports but ignores objects that are already gone

    def _delete_missing(self, before: list[dict], after: list[dict], namespace: str) -> None:
        kept = {_ref(o) for o in after}
        for obj in before:
            if _ref(obj) not in kept:
                self._delete(obj, namespace)


def _mapping_error(obj: dict, namespace: str, error: KubeError) -> str:
    name = _ref(obj)[2]
    return (
        f'unable to build kubernetes objects from release manifest: resource mapping not found for name: "{name}" '
        f'namespace: "{namespace}" from "": {error.message}'
    )


def _apply_error(creating: bool, obj: dict, namespace: str, error: KubeError) -> str:
    if creating:
        return f"create: failed to create: {error.message}"
    return f'failed to replace object: {obj.get("kind")} "{_ref(obj)[2]}" in namespace "{namespace}": {error.message}'
