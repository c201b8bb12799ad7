# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Keys and certificates of many envoys from one signing CA, in one process (manual steps 10-12).

The CA is read once and its key opened only when some certificate is due; each envoy's key and
certificate are decided by the PKI backend (``CertificateBackend``) exactly as for one envoy.
An existing key is replaced only as the envoy's ``regenerate`` policy allows (by default an
unreadable key or one of another type or size fails that envoy with the way out). A regenerated
key or certificate comes with a warning naming the envoy and the reason, so that a key swap
(which updates the secret and restarts the pod) never reads as a plain "changed".
"""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.pki_ca import SigningCA
from ansible_collections.openfl.envoy.plugins.module_utils.pki_certificate import CertificateBackend
from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import KeySpec, PKIError, recover_unit


def issue(backend: CertificateBackend, check_mode: bool) -> dict[str, Any]:
    """Decide, and outside check mode write, one key and certificate; the result with its diff.
    A write a crash interrupted is finished (or dropped) first."""
    recovered = None if check_mode else recover_unit(os.path.dirname(os.path.abspath(backend.certificate_path)))
    backend.set_existing()
    if backend.needs_regeneration() and not check_mode:
        backend.generate()
    if backend.changed and not check_mode:
        backend.write()
    result = dict(backend.dump(), changed=backend.changed, diff=backend.diff())
    if recovered:
        result["warnings"] = [f"{backend.common_name}: {backend.certificate_path}: {recovered}"]
    return result


# Reasons of a first issue: nothing was replaced, so nothing to warn about.
FIRST_ISSUE = frozenset({"key missing", "certificate missing"})


def regeneration_warning(name: str, result: dict[str, Any]) -> str | None:
    """The warning for a key or certificate that replaced an existing one (None for a first issue)."""
    if result.get("reason") in FIRST_ISSUE:
        return None
    if result.get("key_regenerated"):
        return f"{name}: new private key ({result['reason']}); its secret is updated and the envoy restarts"
    if result.get("certificate_regenerated"):
        return f"{name}: certificate re-issued ({result['reason']}); its secret is updated and the envoy restarts"
    return None


def issue_all(params: dict[str, Any], check_mode: bool) -> dict[str, dict[str, Any]]:
    """Every envoy's key and certificate over one SigningCA; failures stay the envoy's own."""
    ca = SigningCA(
        params["ca_certificate_path"],
        params["ca_private_key_path"],
        params["ca_passphrase"],
        params["ca_chain_path"],
        allow_missing=check_mode,
    )
    key_spec = KeySpec.from_params(params)
    results: dict[str, dict[str, Any]] = {}
    for envoy in params["envoys"]:
        name = envoy["common_name"]
        try:
            backend = CertificateBackend(
                ca=ca,
                certificate_path=envoy["certificate_path"],
                private_key_path=envoy["private_key_path"],
                root_ca_path=envoy["root_ca_path"],
                common_name=name,
                subject_alt_names=envoy["subject_alt_names"],
                organization_name=params["organization_name"],
                profile="client",
                key_spec=key_spec,
                valid_days=params["valid_days"],
                renew_before_days=params["renew_before_days"],
                force=envoy["force"],
                regenerate=envoy["regenerate"],
            )
            result = issue(backend, check_mode)
        except PKIError as exc:
            result = {"changed": False, "failed": True, "msg": f"{name}: {exc}"}
        except OSError as exc:
            where = exc.filename or envoy["certificate_path"]
            result = {"changed": False, "failed": True, "msg": f"{name}: {where}: {exc.strerror}"}
        warning = regeneration_warning(name, result)
        if warning:
            result["warnings"] = [*result.get("warnings", []), warning]
        results[name] = result
    return results
