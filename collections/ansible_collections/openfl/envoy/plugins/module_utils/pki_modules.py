# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The PKI modules' options and results: x509_ca, x509_certificate and envoy_certificates.

Each module's main() and its action plugin (plugin_utils/controller_module: the PKI lives on the
control node, so the plays run these in the controller's worker, without a module process) read
the same argument spec and call the same run function here.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.envoy_certificates import issue_all
from ansible_collections.openfl.envoy.plugins.module_utils.pki_ca import CA_MODES, CABackend, SigningCA
from ansible_collections.openfl.envoy.plugins.module_utils.pki_certificate import (
    PROFILES,
    REGENERATE_OPTION,
    CertificateBackend,
)
from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import (
    KeySpec,
    PKIError,
    key_argument_spec,
    pki_result,
)

# --- x509_ca ------------------------------------------------------------------------------------


def ca_argument_spec() -> dict[str, Any]:
    return {
        "certificate_path": {"type": "path", "required": True},
        "private_key_path": {"type": "path", "required": True},
        "passphrase": {"type": "str", "no_log": True},
        "mode": {"type": "str", "choices": list(CA_MODES), "default": "create"},
        "common_name": {"type": "str", "default": "OpenFL Federation Root CA"},
        "organization_name": {"type": "str"},
        **key_argument_spec(key_size=4096),
        "valid_days": {"type": "int", "default": 7300},
        "path_length": {"type": "int", "default": 0},
        "allow_unencrypted_key": {"type": "bool", "default": False},
        "min_remaining_days": {"type": "int", "default": 0},
        "private_dirs": {"type": "list", "elements": "path", "default": []},
    }


def run_ca(p: dict[str, Any], check_mode: bool, diff: bool) -> dict[str, Any]:
    def build() -> CABackend:
        return CABackend(
            certificate_path=p["certificate_path"],
            private_key_path=p["private_key_path"],
            passphrase=p["passphrase"],
            common_name=p["common_name"],
            organization_name=p["organization_name"],
            key_spec=KeySpec.from_params(p),
            valid_days=p["valid_days"],
            path_length=None if p["path_length"] < 0 else p["path_length"],
            allow_unencrypted_key=p["allow_unencrypted_key"],
            mode=p["mode"],
            min_remaining_days=p["min_remaining_days"],
        )

    return pki_result(build, check_mode, diff, "", p["private_key_path"], p["private_dirs"])


# --- x509_certificate ---------------------------------------------------------------------------


def certificate_argument_spec() -> dict[str, Any]:
    return {
        "certificate_path": {"type": "path", "required": True},
        "private_key_path": {"type": "path", "required": True},
        "root_ca_path": {"type": "path"},
        "ca_certificate_path": {"type": "path", "required": True},
        "ca_private_key_path": {"type": "path", "required": True},
        "ca_passphrase": {"type": "str", "no_log": True},
        "ca_chain_path": {"type": "path"},
        "common_name": {"type": "str", "required": True},
        "subject_alt_names": {"type": "list", "elements": "str", "default": []},
        "organization_name": {"type": "str"},
        "profile": {"type": "str", "choices": list(PROFILES), "default": "client"},
        **key_argument_spec(key_size=2048),
        "valid_days": {"type": "int", "default": 365},
        "renew_before_days": {"type": "int", "default": 30},
        "force": {"type": "bool", "default": False},
        "regenerate": dict(REGENERATE_OPTION),
    }


def run_certificate(p: dict[str, Any], check_mode: bool, diff: bool) -> dict[str, Any]:
    def build() -> CertificateBackend:
        ca = SigningCA(
            p["ca_certificate_path"], p["ca_private_key_path"], p["ca_passphrase"], p["ca_chain_path"],
            allow_missing=check_mode,
        )  # fmt: skip
        return CertificateBackend(
            ca=ca,
            certificate_path=p["certificate_path"],
            private_key_path=p["private_key_path"],
            root_ca_path=p["root_ca_path"],
            common_name=p["common_name"],
            subject_alt_names=p["subject_alt_names"],
            organization_name=p["organization_name"],
            profile=p["profile"],
            key_spec=KeySpec.from_params(p),
            valid_days=p["valid_days"],
            renew_before_days=p["renew_before_days"],
            force=p["force"],
            regenerate=p["regenerate"],
        )

    return pki_result(build, check_mode, diff, f"{p['common_name']}: ", p["certificate_path"])


# --- envoy_certificates -------------------------------------------------------------------------

ENVOY_SPEC: dict[str, Any] = {
    "common_name": {"type": "str", "required": True},
    "certificate_path": {"type": "path", "required": True},
    "private_key_path": {"type": "path", "required": True},
    "root_ca_path": {"type": "path", "required": True},
    "subject_alt_names": {"type": "list", "elements": "str", "default": []},
    "force": {"type": "bool", "default": False},
    "regenerate": dict(REGENERATE_OPTION),
}


def envoy_certificates_argument_spec() -> dict[str, Any]:
    return {
        "envoys": {"type": "list", "elements": "dict", "required": True, "options": ENVOY_SPEC},
        "ca_certificate_path": {"type": "path", "required": True},
        "ca_private_key_path": {"type": "path", "required": True},
        "ca_passphrase": {"type": "str", "no_log": True},
        "ca_chain_path": {"type": "path"},
        "organization_name": {"type": "str"},
        **key_argument_spec(key_size=2048),
        "valid_days": {"type": "int", "default": 365},
        "renew_before_days": {"type": "int", "default": 30},
    }


def run_envoy_certificates(params: dict[str, Any], check_mode: bool, diff: bool) -> dict[str, Any]:
    try:
        results = issue_all(params, check_mode)
    except PKIError as exc:  # the signing CA or the key options: every envoy is blocked
        return {"changed": False, "failed": True, "msg": str(exc)}
    except OSError as exc:
        return {"changed": False, "failed": True, "msg": f"{exc.filename}: {exc.strerror}"}
    return {"changed": any(r.get("changed") for r in results.values()), "envoys": results}
