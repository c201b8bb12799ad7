# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Preflight for many envoys at once: every envoy's own inputs (``validation``), the CN of a
certificate an earlier run issued, and namespaces two envoys claim on one cluster."""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.validation import (
    FIELD_CERTIFICATE,
    FIELD_NAMESPACE,
    EnvoyInput,
    validate_envoy,
)

# --- the certificate an envoy already has ---------------------------------------------------------


def certificate_cn(envoy: str, path: str | None) -> tuple[str | None, list[str]]:
    """The subject CN of the envoy certificate at ``path`` when that file exists (issued by an
    earlier run), with an error when it cannot be read. Needs the cryptography library."""
    if not path or not os.path.exists(path):
        return None, []
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        with open(path, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
    except (OSError, ValueError) as exc:
        return None, [f"{envoy}: {FIELD_CERTIFICATE} {path!r} is not a readable PEM certificate: {exc}"]
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = attrs[0].value if attrs else ""
    return (cn if isinstance(cn, str) else cn.decode()), []


def key_errors(envoy: str, path: str | None, key: dict[str, Any] | None) -> list[str]:
    """What the pki stage would stop at in the envoy's existing key (``key``: the key asked for and the
    regenerate policy); none without ``key``, or when there is no key yet."""
    if not key or not path:
        return []
    from ansible_collections.openfl.envoy.plugins.module_utils.pki_certificate import existing_key_error
    from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import KeySpec, PKIError

    try:
        problem = existing_key_error(path, KeySpec.from_params(key), key["regenerate"])
    except PKIError as exc:  # a bad key option: the envoy_cert role's argument check names it too
        problem = str(exc)
    return [f"{envoy}: {problem}"] if problem else []


# --- many envoys at once --------------------------------------------------------------------------


def shared_namespace_errors(claims: list[tuple[str, str, str]]) -> dict[str, list[str]]:
    """Errors for envoys that claim one namespace on one cluster; ``claims`` are (envoy, cluster, namespace)."""
    by_slot: dict[tuple[str, str], list[str]] = {}
    for envoy, cluster, namespace in claims:
        by_slot.setdefault((cluster, namespace), []).append(envoy)
    errors: dict[str, list[str]] = {}
    for (_cluster, namespace), envoys in by_slot.items():
        for envoy in envoys if len(envoys) > 1 else []:
            others = ", ".join(e for e in envoys if e != envoy)
            errors.setdefault(envoy, []).append(
                f"{envoy}: {FIELD_NAMESPACE} '{namespace}' is also used by {others} on the same cluster; "
                "each envoy needs its own namespace"
            )
    return errors


INPUTS = (
    "namespace",
    "python_dir",
    "envoy_config",
    "director_fqdn",
    "director_ip",
    "director_port",
    "director_agg_port",
    "registry",
    "image",
    "image_tag",
)


def envoy_errors(entry: dict[str, Any], key: dict[str, Any] | None = None) -> list[str]:
    cert_cn, cert_errors = certificate_cn(entry["name"], entry["certificate_path"])
    report = validate_envoy(EnvoyInput(name=entry["name"], cert_cn=cert_cn, **{k: entry[k] for k in INPUTS}))
    return cert_errors + key_errors(entry["name"], entry.get("private_key_path"), key) + report.errors


def check_envoys(
    entries: list[dict[str, Any]], any_errors_fatal: bool, key: dict[str, Any] | None = None
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """(one entry per envoy with its failure and errors, the bad envoys). With ``any_errors_fatal``
    a good envoy fails too, naming the bad ones: nothing is half-applied. ``key``: see key_errors."""
    errors = {entry["name"]: envoy_errors(entry, key) for entry in entries}
    claims = [(e["name"], e["cluster"], e["namespace"]) for e in entries if e["namespace"]]
    for name, shared in shared_namespace_errors(claims).items():
        errors[name].extend(shared)
    return verdicts(errors, any_errors_fatal, "preflight found bad input for")


def verdicts(
    errors: dict[str, list[str]], any_errors_fatal: bool, found: str
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """(one entry per envoy with its failure and errors, the bad envoys). With ``any_errors_fatal`` a good
    envoy fails too, its message naming the bad ones (``found`` says what was found): nothing is half-applied."""
    bad = [name for name, errs in errors.items() if errs]
    results: dict[str, dict[str, Any]] = {}
    for name, errs in errors.items():
        if errs:
            results[name] = {"failed": True, "msg": "; ".join(errs), "errors": errs}
        elif bad and any_errors_fatal:
            results[name] = {
                "failed": True,
                "msg": f"not started: {found} {', '.join(bad)} and "
                "envoy_preflight_any_errors_fatal is true; nothing was changed",
                "errors": [],
            }
        else:
            results[name] = {"failed": False, "errors": []}
    return results, bad


# --- the module: its options and its result (modules/envoy_inputs.py and its action plugin) -------

ENVOY_SPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "cluster": {"type": "str", "default": ""},
    "certificate_path": {"type": "path"},
    "namespace": {"type": "str"},
    "python_dir": {"type": "path"},
    "envoy_config": {"type": "raw"},
    "director_fqdn": {"type": "str"},
    "director_ip": {"type": "str"},
    "director_port": {"type": "raw"},
    "director_agg_port": {"type": "raw"},
    "registry": {"type": "str"},
    "image": {"type": "str"},
    "image_tag": {"type": "raw"},
    "private_key_path": {"type": "path"},
}


def argument_spec() -> dict[str, Any]:
    """The options of openfl.envoy.envoy_inputs (the module documents them)."""
    from ansible_collections.openfl.envoy.plugins.module_utils.pki_certificate import REGENERATE_OPTION
    from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import key_argument_spec

    key = {
        **key_argument_spec(key_size=2048),
        "regenerate": dict(REGENERATE_OPTION),
    }
    return {
        "envoys": {"type": "list", "elements": "dict", "required": True, "options": ENVOY_SPEC},
        "key": {"type": "dict", "options": key, "no_log": False},
        "any_errors_fatal": {"type": "bool", "default": True},
    }


def run(params: dict[str, Any], check_mode: bool = False, diff: bool = False) -> dict[str, Any]:
    """The module's result for validated ``params``; read-only, so check mode and diff change nothing."""
    results, bad = check_envoys(params["envoys"], params["any_errors_fatal"], params["key"])
    errors = [error for entry in results.values() for error in entry["errors"]]
    return {"changed": False, "envoys": results, "errors": errors, "bad": bad}
