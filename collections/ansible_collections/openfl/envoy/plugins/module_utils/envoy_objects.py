# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An envoy's Kubernetes objects: its namespace, the ``envoy-cert`` Secret and the
``envoy-python-configs`` ConfigMap, decided and applied here (manual steps 13-15).

For each object: read it, compute the desired one, say whether and how it differs (a diff of
labels, annotations, key names with sha256 fingerprints for the secret: never values), and only
outside check mode write it. The secret and the configmap are replaced as a whole, so a key that
left the PKI or python directory leaves the object too, and no copy of the key lands in a
last-applied annotation.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils import envoy as names
from ansible_collections.openfl.envoy.plugins.module_utils.k8s_client import (
    HAS_KUBERNETES,
    K8sApi,
    K8sConnections,
    K8sError,
)
from ansible_collections.openfl.envoy.plugins.module_utils.validation import read_python_dir

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
NOT_ISSUED = "(certificate not issued yet)"


@dataclass
class EnvoyTarget:
    """One envoy as the playbooks' contract describes it."""

    name: str
    namespace: str
    pki_dir: str
    python_dir: str
    site: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> EnvoyTarget:
        return cls(
            name=entry["name"],
            namespace=entry["namespace"],
            pki_dir=entry["pki_dir"],
            python_dir=entry["python_dir"],
            site=entry.get("site") or "",
            labels=dict(entry.get("labels") or {}),
        )


def _step(changed: bool = False, diff: dict | None = None, msg: str = "", failed: bool = False) -> dict[str, Any]:
    step: dict[str, Any] = {"changed": changed, "failed": failed, "msg": msg}
    if diff is not None:
        step["diff"] = diff
    return step


def _fingerprints(data: dict[str, bytes]) -> dict[str, str]:
    return {key: "sha256:" + hashlib.sha256(value).hexdigest() for key, value in sorted(data.items())}


def _visible_annotations(meta: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}


class EnvoyObjects:
    """Decides and applies one envoy's namespace, secret and configmap over one API connection."""

    def __init__(self, api: K8sApi, target: EnvoyTarget, check_mode: bool) -> None:
        self.api = api
        self.target = target
        self.check_mode = check_mode
        self.labels = {**target.labels, **names.object_labels(target.name)}
        self.namespace: dict[str, Any] | None = None

    # -- namespace and secret --------------------------------------------------------------

    def _pki_files(self) -> dict[str, bytes] | None:
        files = {}
        for key in names.SECRET_KEYS:
            try:
                with open(os.path.join(self.target.pki_dir, key), "rb") as handle:
                    files[key] = handle.read()
            except OSError:
                return None
        return files

    def apply_namespace_and_secret(self) -> dict[str, Any]:
        t = self.target
        self.namespace = self.api.namespace(t.namespace)
        meta = (self.namespace or {}).get("metadata") or {}
        owner = (meta.get("labels") or {}).get(names.ENVOY_LABEL, "")
        if owner not in ("", t.name):
            return _step(
                failed=True,
                msg=f"{t.name}: openfl_envoy_namespace '{t.namespace}' belongs to envoy '{owner}' "
                f"(label {names.ENVOY_LABEL}); each envoy needs its own namespace",
            )
        files = self._pki_files()
        if files is None and not self.check_mode:
            return _step(
                failed=True,
                msg=f"{t.name}: PKI files missing in {t.pki_dir}: needs {', '.join(names.SECRET_KEYS)}; "
                "run the PKI stage (playbooks/pki.yml) first",
            )
        ns_changed, ns_diff = self._namespace(meta)
        secret_changed, secret_diff = self._secret(files)
        changed = ns_changed or secret_changed
        diff = {"before": {"namespace": ns_diff[0], "secret": secret_diff[0]}}
        diff["after"] = {"namespace": ns_diff[1], "secret": secret_diff[1]}
        return _step(changed, diff if changed else None)

    def _namespace(self, meta: dict[str, Any]) -> tuple[bool, tuple[Any, Any]]:
        t = self.target
        created_by_us = self.namespace is None or names.CREATED_BY_ANNOTATION in (meta.get("annotations") or {})
        ours = {names.CREATED_BY_ANNOTATION: names.MANAGED_BY} if created_by_us else {}
        if t.site:
            ours[names.SITE_ANNOTATION] = t.site
        before = None
        if self.namespace is not None:
            before = {"labels": dict(meta.get("labels") or {}), "annotations": _visible_annotations(meta)}
        after = {
            "labels": {**(before or {}).get("labels", {}), **self.labels},
            "annotations": {**(before or {}).get("annotations", {}), **ours},
        }
        if before == after:
            return False, (before, after)
        if not self.check_mode:
            if self.namespace is None:
                body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": t.namespace, **after}}
                self.namespace = self.api.create_namespace(body)
            else:
                self.api.patch_namespace(t.namespace, {"metadata": {"labels": self.labels, "annotations": ours}})
        return True, (before, after)

    def _secret(self, files: dict[str, bytes] | None) -> tuple[bool, tuple[Any, Any]]:
        ns = self.target.namespace
        existing = self.api.read("secret", ns, names.SECRET_NAME) if self.namespace is not None else None
        before = None
        if existing is not None:
            current = {k: base64.b64decode(v) for k, v in (existing.get("data") or {}).items()}
            before = {"type": existing.get("type", "Opaque"), "data": _fingerprints(current)}
        if files is None:  # check mode before the PKI stage wrote the files
            return True, (before, {"type": "Opaque", "data": dict.fromkeys(names.SECRET_KEYS, NOT_ISSUED)})
        after = {"type": "Opaque", "data": _fingerprints(files)}
        labels_ok = existing is not None and self.labels.items() <= ((existing["metadata"].get("labels") or {}).items())
        if before == after and labels_ok:
            return False, (before, after)
        if not self.check_mode:
            meta = (existing or {}).get("metadata") or {}
            body = {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": {
                    "name": names.SECRET_NAME,
                    "namespace": self.target.namespace,
                    "labels": {**(meta.get("labels") or {}), **self.labels},
                },
                "data": {k: base64.b64encode(v).decode() for k, v in files.items()},
            }
            if existing is None:
                self.api.create("secret", ns, body)
            elif existing.get("type", "Opaque") != "Opaque":  # the type is immutable
                self.api.delete("secret", ns, names.SECRET_NAME)
                self.api.create("secret", ns, body)
            else:
                body["metadata"]["resourceVersion"] = meta.get("resourceVersion")
                self.api.replace("secret", ns, body)
        return True, (before, after)

    # -- configmap --------------------------------------------------------------------------

    def apply_configmap(self) -> dict[str, Any]:
        t = self.target
        pydir = read_python_dir(t.name, t.python_dir)
        if pydir.errors:
            return _step(failed=True, msg="; ".join(pydir.errors))
        if self.namespace is None:
            self.namespace = self.api.namespace(t.namespace)
        existing = (
            self.api.read("config_map", t.namespace, names.CONFIGMAP_NAME) if self.namespace is not None else None
        )
        before = None if existing is None else {"data": dict(existing.get("data") or {})}
        after = {"data": pydir.data}
        labels_ok = existing is not None and self.labels.items() <= ((existing["metadata"].get("labels") or {}).items())
        if before == after and labels_ok:
            return _step()
        if not self.check_mode:
            meta = (existing or {}).get("metadata") or {}
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": names.CONFIGMAP_NAME,
                    "namespace": t.namespace,
                    "labels": {**(meta.get("labels") or {}), **self.labels},
                },
                "data": pydir.data,
            }
            if existing is None:
                self.api.create("config_map", t.namespace, body)
            else:
                body["metadata"]["resourceVersion"] = meta.get("resourceVersion")
                self.api.replace("config_map", t.namespace, body)
        return _step(True, {"before": before or {}, "after": after})


def apply_envoy(api: K8sApi, target: EnvoyTarget, check_mode: bool) -> dict[str, Any]:
    """Both steps for one envoy; a failure of the first skips the second (nothing half-applied
    beyond what failed). API errors become the envoy's failure, naming the envoy and the object."""
    objects = EnvoyObjects(api, target, check_mode)
    entry: dict[str, Any] = {}
    try:
        entry["namespace_secret"] = objects.apply_namespace_and_secret()
        if entry["namespace_secret"]["failed"]:
            reason = entry["namespace_secret"]["msg"]
            entry["configmap"] = _step(failed=True, msg=f"{target.name}: not applied: {reason}")
        else:
            entry["configmap"] = objects.apply_configmap()
    except K8sError as err:
        failure = _step(failed=True, msg=f"{target.name} (namespace {target.namespace}): {err.msg}")
        entry.setdefault("namespace_secret", failure)
        entry["configmap"] = failure
    entry["changed"] = any(step["changed"] for step in entry.values())
    entry["failed"] = any(step["failed"] for step in entry.values() if isinstance(step, dict))
    return entry


ENVOY_SPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "site": {"type": "str", "default": ""},
    "pki_dir": {"type": "path", "required": True},
    "python_dir": {"type": "path", "required": True},
    "labels": {"type": "dict", "default": {}},
    "kubeconfig": {"type": "path"},
    "context": {"type": "str"},
}


def argument_spec() -> dict[str, Any]:
    """The options of envoy_objects (its module and its action plugin)."""
    return {"envoys": {"type": "list", "elements": "dict", "required": True, "options": ENVOY_SPEC}}


def run(params: dict[str, Any], check_mode: bool, diff: bool = False) -> dict[str, Any] | None:
    """envoy_objects' result, one API client per cluster; None without the kubernetes package (the module
    then runs, in an interpreter that may have it, and names it when missing)."""
    if not HAS_KUBERNETES:
        return None
    connections = K8sConnections()
    results: dict[str, Any] = {}
    for entry in params["envoys"]:
        target = EnvoyTarget.from_entry(entry)
        try:
            api = connections.get(entry["kubeconfig"], entry["context"])
        except K8sError as err:
            failure = {"changed": False, "failed": True, "msg": f"{target.name}: {err.msg}"}
            results[target.name] = {"namespace_secret": failure, "configmap": failure, "failed": True}
            continue
        results[target.name] = apply_envoy(api, target, check_mode)
    return {"changed": any(r.get("changed") for r in results.values()), "envoys": results}
