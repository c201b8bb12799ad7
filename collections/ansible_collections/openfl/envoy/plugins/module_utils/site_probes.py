# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read-only probes of what a rollout needs from its environment, each returning its errors (and
warnings) as text that names the inventory variable and the way out: a site's Kubernetes API and
identity, a site's KubeFATE service, the chart, and the CA. ``site_checks`` runs them once per site.

Nothing here changes anything: Kubernetes is asked by SelfSubjectAccessReview, KubeFATE by login
and ``GET /v1/version/``, the chart is packaged in memory, the CA key is opened and dropped.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.chart_upload import ChartPackage
from ansible_collections.openfl.envoy.plugins.module_utils.k8s_client import K8sError, RestApi, call, new_api_client
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import (
    KubefateAuthError,
    KubefateClient,
    KubefateError,
    KubefateTransportError,
)

# What the rollout does on a site's cluster (envoy_objects, envoy_health): (verb, resource, group, subresource).
K8S_PERMISSIONS: tuple[tuple[str, str, str, str], ...] = (
    ("get", "namespaces", "", ""),
    ("create", "namespaces", "", ""),
    ("patch", "namespaces", "", ""),
    ("get", "secrets", "", ""),
    ("create", "secrets", "", ""),
    ("update", "secrets", "", ""),
    ("get", "configmaps", "", ""),
    ("create", "configmaps", "", ""),
    ("update", "configmaps", "", ""),
    ("list", "pods", "", ""),
    ("get", "pods", "", "log"),
    ("get", "deployments", "apps", ""),
)

# KubeFATE service versions (GET /v1/version/) the client is written for: KubeFATE v1.6.0 (v1.4.1) to
# v2.0.0 (v1.4.5). Older services have another job shape (no states, no job stop); newer ones are untested.
KUBEFATE_OLDEST = (1, 4, 1)
KUBEFATE_NEWEST = (1, 4, 5)
KUBEFATE_SUPPORTED = "v1.4.1 to v1.4.5 (KubeFATE v1.6.0 to v2.0.0)"
# One retry and a short wait: preflight should say "does not answer" in seconds, not after a backoff storm.
PROBE_RETRIES = 1
PROBE_TIMEOUT = 10

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


def default_kubeconfig() -> str:
    return (os.environ.get("KUBECONFIG") or "~/.kube/config").split(os.pathsep)[0]


# --- Kubernetes -------------------------------------------------------------------------------------


class K8sProbe:
    """The two read-only calls the probe makes, over one API client (tests give a fake)."""

    def __init__(self, kubeconfig: str, context: str | None) -> None:
        api = new_api_client(kubeconfig, context)
        self.endpoint = f"the Kubernetes API at {api.configuration.host}"
        self._version = self._authz = RestApi(api)

    def version(self) -> Any:
        return call(self.endpoint, "get version", self._version.get_code)

    def can(self, verb: str, resource: str, group: str, subresource: str, namespace: str) -> bool:
        attributes = {"verb": verb, "resource": resource, "group": group}
        if subresource:
            attributes["subresource"] = subresource
        if namespace and resource != "namespaces":
            attributes["namespace"] = namespace
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview"}
        body["spec"] = {"resourceAttributes": attributes}
        what = f"a SelfSubjectAccessReview ({verb} {resource})"
        answer = call(self.endpoint, what, self._authz.create_self_subject_access_review, body)
        return bool(((answer or {}).get("status") or {}).get("allowed"))


def kubeconfig_contexts(path: str) -> tuple[list[str] | None, str]:
    """The context names of a kubeconfig file, or (None, why it cannot be used)."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as err:
        return None, f"cannot be read: {err.strerror or err}"
    except yaml.YAMLError as err:
        return None, f"is not YAML: {str(err).splitlines()[0]}"
    if not isinstance(data, dict) or not isinstance(data.get("contexts") or [], list):
        return None, "is not a kubeconfig (no contexts list)"
    return [str(c.get("name")) for c in data.get("contexts") or [] if isinstance(c, dict)], str(
        data.get("current-context") or ""
    )


def check_kubernetes(
    kubeconfig: str | None,
    context: str | None,
    namespace: str,
    probe_factory: Callable[[str, str | None], Any] = K8sProbe,
) -> list[str]:
    """Errors that stop the rollout on this cluster: kubeconfig, context, API, and the identity's rights
    (asked for the rollout's verbs, namespaced ones in ``namespace``, one of the site's envoy namespaces)."""
    given = kubeconfig or ""
    path = os.path.expanduser(given or default_kubeconfig())
    where = f"openfl_k8s_kubeconfig {given!r}" if given else f"openfl_k8s_kubeconfig (unset, default {path!r})"
    if not os.path.isfile(path):
        return [f"{where} does not exist; set openfl_k8s_kubeconfig to the site's kubeconfig file"]
    contexts, current = kubeconfig_contexts(path)
    if contexts is None:
        return [f"{where} {current}; set openfl_k8s_kubeconfig to a valid kubeconfig file"]
    if context and context not in contexts:
        return [
            f"openfl_k8s_context {context!r} is not a context of {path} (it has: {', '.join(contexts) or 'none'}); "
            "set openfl_k8s_context to one of them"
        ]
    if not context and not current:
        return [f"openfl_k8s_context is unset and {path} has no current-context; set openfl_k8s_context"]
    using = f"context {context or current!r} of {path}"
    try:
        probe = probe_factory(path, context or None)
        probe.version()
    except K8sError as err:
        if err.status in (401, 403):
            return [_refused(using, err)]
        return [
            f"the Kubernetes API of {using} does not answer: {err.msg}; check that the cluster is up and that "
            "openfl_k8s_kubeconfig and openfl_k8s_context point at it"
        ]
    denied: list[str] = []
    try:
        for verb, resource, group, subresource in K8S_PERMISSIONS:
            if not probe.can(verb, resource, group, subresource, namespace):
                denied.append(f"{verb} {resource}{'/' + subresource if subresource else ''}")
    except K8sError as err:
        if err.status == 401:
            return [_refused(using, err)]
        return [
            f"{using}: cannot ask the API what the identity may do (SelfSubjectAccessReview): {err.msg}; check "
            "openfl_k8s_kubeconfig and openfl_k8s_context"
        ]
    if denied:
        return [
            f"the identity of {using} may not {', '.join(denied)} (SelfSubjectAccessReview, namespace "
            f"{namespace!r}); bind it to a role that allows them, or set openfl_k8s_context to an identity "
            "that has them"
        ]
    return []


def _refused(using: str, err: K8sError) -> str:
    return (
        f"the Kubernetes API refused the credentials of {using} (HTTP {err.status}: {err.detail}); renew the token "
        "or certificate of that context in openfl_k8s_kubeconfig, or set openfl_k8s_context to an identity it accepts"
    )


# --- KubeFATE ---------------------------------------------------------------------------------------


def _kubefate_refusal(body: str | None) -> bool:
    """Whether a refused login reads like KubeFATE's own (gin-jwt: ``{"code": 401, "message": ...}``), not
    like a Kubernetes API server's Status (which has those keys too, with ``kind``)."""
    try:
        parsed = json.loads(body or "")
    except ValueError:
        return False
    return isinstance(parsed, dict) and {"code", "message"} <= set(parsed) and "kind" not in parsed


def parse_version(text: str) -> tuple[int, int, int] | None:
    found = _VERSION.match(str(text or "").strip())
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


def check_kubefate(
    connection: dict[str, Any], client_factory: Callable[..., Any] = KubefateClient.from_params
) -> tuple[list[str], list[str]]:
    """(errors, warnings) for one KubeFATE service: it answers, the login succeeds (once: a refused login
    is not retried), and its service version is one the client supports."""
    url = connection.get("url") or ""
    ca_path = connection.get("ca_path")
    if ca_path and not os.path.isfile(ca_path):
        return [f"openfl_kubefate_ca_path {ca_path!r} does not exist; set it to the PEM file of the CA of {url}"], []
    try:
        client = client_factory({**connection, "timeout": PROBE_TIMEOUT}, retries=PROBE_RETRIES)
        client.login()
        answer = client.request("GET", "/v1/version/")
    except KubefateAuthError as err:
        if not _kubefate_refusal(err.body):
            return [
                f"openfl_kubefate_url {url} answers the login with HTTP {err.status} but not as KubeFATE does "
                f"({err.server_error or 'no body'}); point openfl_kubefate_url at the KubeFATE service"
            ], []
        return [
            f"the login to KubeFATE at {url} as {connection.get('username')!r} was refused "
            f"(HTTP {err.status}); check openfl_kubefate_username and openfl_kubefate_password"
        ], []
    except KubefateTransportError as err:
        return [f"openfl_kubefate_url {url} does not answer: {err.msg}; check the URL and that KubeFATE is up"], []
    except KubefateError as err:
        return [f"KubeFATE at openfl_kubefate_url {url}: {err.msg}"], []
    reported = str((answer or {}).get("version") or "")
    version = parse_version(reported)
    if version is None:
        return [f"KubeFATE at openfl_kubefate_url {url} reports no service version ({reported!r})"], []
    if version < KUBEFATE_OLDEST:
        return [
            f"KubeFATE at openfl_kubefate_url {url} reports service version {reported}; this collection "
            f"supports {KUBEFATE_SUPPORTED}: upgrade KubeFATE"
        ], []
    if version > KUBEFATE_NEWEST:
        return [], [
            f"KubeFATE at openfl_kubefate_url {url} reports service version {reported}, newer than the "
            f"versions this collection is tested with ({KUBEFATE_SUPPORTED})"
        ]
    return [], []


# --- the chart --------------------------------------------------------------------------------------


def _lint_values(chart_path: str) -> dict[str, Any]:
    """The values the repository's chart lint gate uses (ci/lint-values.yaml), else none."""
    import yaml

    path = os.path.join(chart_path, "ci", "lint-values.yaml")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def check_chart(chart_path: str) -> tuple[list[str], list[str]]:
    """(errors, warnings): the chart packages as KubeFATE gets it (which checks that its version is SemVer, as
    Helm does), and Helm's own lint (helm_python, when installed) finds no error. Without helm_python the
    lint is skipped, saying so."""
    where = f"kubefate_chart_path {chart_path}"
    try:
        ChartPackage(chart_path)
    except KubefateError as err:
        return [f"kubefate_chart_path: {err.msg}; fix the chart or point kubefate_chart_path at a valid chart"], []
    try:
        import helm_python
    except ImportError:
        return [], [f"{where}: not linted (the helm_python package is not installed); packaging and version checked"]
    try:
        report = helm_python.lint(chart_path, _lint_values(chart_path))
    except Exception as err:  # the linter's own failure is the chart's problem to report, not a crash
        return [f"{where}: helm lint could not run: {err}"], []
    errors = [str(e).strip().replace("\n", " ") for e in report.get("errors") or []]
    return [f"{where}: helm lint: {e}" for e in errors], []


# --- the CA -----------------------------------------------------------------------------------------


def check_ca(
    certificate_path: str,
    private_key_path: str,
    passphrase: str | None,
    mode: str,
    envoy_valid_days: int,
    passphrase_missing: bool = False,
) -> list[str]:
    """Errors about the CA the pki stage would use: absent in mode ``existing``, or absent while a new CA key
    could not be made (``passphrase_missing``); present but not opening with the passphrase, not a usable CA,
    expired, or expiring before an envoy certificate it would sign."""
    from ansible_collections.openfl.envoy.plugins.module_utils.pki_ca import CABackend, check_ca_validity
    from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import (
        PKIError,
        load_private_key,
        read_file,
        utcnow,
    )

    key_data = read_file(private_key_path)
    if key_data is None and read_file(certificate_path) is None:
        if mode == "existing":
            return [f"ca_mode existing: no CA at {certificate_path}; put your CA there or use ca_mode create"]
        if passphrase_missing:
            return [
                f"no CA at {certificate_path} yet, and openfl_ca_passphrase is not set: the new CA key is encrypted "
                "with it; set openfl_ca_passphrase (in a vault), or ca_allow_unencrypted_key=true for a throw-away CA"
            ]
        return []  # the pki stage creates it
    if key_data is not None:
        try:
            load_private_key(key_data, private_key_path, passphrase)
        except PKIError as err:
            if "passphrase" in str(err):
                return [
                    f"openfl_ca_passphrase does not open the CA key {private_key_path} ({err}); give the "
                    "passphrase the CA was created with (vault it)"
                ]
            return [str(err)]
    try:
        backend = CABackend(certificate_path, private_key_path, passphrase, mode=mode)
        backend.set_existing()
        check_ca_validity(backend.existing_cert, certificate_path, utcnow(), envoy_valid_days)
    except PKIError as err:
        text = str(err)
        if "required" in text:
            text += f" (an envoy certificate lasts envoy_cert_valid_days={envoy_valid_days})"
        return [text]
    return []
