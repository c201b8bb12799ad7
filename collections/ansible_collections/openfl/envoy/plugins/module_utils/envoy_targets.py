# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the health check and the summary take of an envoy (its argument spec, its connections) and
read of its certificate."""

from __future__ import annotations

from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import KUBEFATE_CONNECTION_SPEC


def envoy_target_spec(wait: bool = True, **extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The argument spec of one envoy to check (its connections included), plus ``extra`` options;
    ``wait=False``: for a snapshot only (no job to wait for, nothing to skip)."""
    spec: dict[str, dict[str, Any]] = {
        "name": {"type": "str", "required": True},
        "namespace": {"type": "str", "required": True},
        "kubefate": {"type": "dict", "options": {k: dict(v) for k, v in KUBEFATE_CONNECTION_SPEC.items()}},
        "kubernetes": {"type": "dict", "options": {"kubeconfig": {"type": "path"}, "context": {"type": "str"}}},
        "certificate_path": {"type": "path"},
        **extra,
    }
    if wait:
        spec.update(job_uuid={"type": "str"}, skip={"type": "bool", "default": False})
    return spec


def certificate_expiry(path: str | None) -> str | None:
    """When the envoy's certificate expires ("YYYY-MM-DD HH:MM UTC"), None when it is missing or unreadable."""
    if not path:
        return None
    try:
        from cryptography import x509

        with open(path, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
    except (ImportError, OSError, ValueError):
        return None
    return cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")
