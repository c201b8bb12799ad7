# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What an envoy is on the cluster: the names the chart and the envoy expect, fixed.

The playbooks derive an envoy's variable facts once (``playbooks/vars/envoy.yml``: name,
namespace, PKI and python paths); these are the facts that never vary, shared by every module
and by the tests that look at the cluster the way an operator would.
"""

from __future__ import annotations

import hashlib
import json

# The chart mounts these by name (templates/deployment.yaml); the envoy reads the files by name.
SECRET_NAME = "envoy-cert"
SECRET_KEYS = ("envoy.crt", "priv.key", "root_ca.crt")
CERTIFICATE_FILE, PRIVATE_KEY_FILE, ROOT_CA_FILE = SECRET_KEYS
CONFIGMAP_NAME = "envoy-python-configs"
DEPLOYMENT_NAME = "envoy"
CONTAINER_NAME = "envoy"
POD_LABEL_SELECTOR = "openfl=envoy"

# Ours on every object we create; teardown deletes a namespace only when it carries CREATED_BY.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "openfl-envoy-deploy"
ENVOY_LABEL = "openfl.envoy/name"
CREATED_BY_ANNOTATION = "openfl.envoy/created-by"
SITE_ANNOTATION = "openfl.envoy/site"

# Pod annotations of the cluster spec: a new certificate or python file restarts the envoy.
CERT_CHECKSUM_ANNOTATION = "checksum/envoy-cert"
PYTHON_CHECKSUM_ANNOTATION = "checksum/envoy-python-configs"

# What OpenFL's envoy logs about its shard in Envoy.start() (openfl/component/envoy/envoy.py of each
# release's wheel; 1.7's file is 1.6's): accepted, rejected by the director (the envoy then exits 1, so
# the pod restarts), or the report itself failed (gRPC error: director unreachable, TLS; no retry).
OPENFL_LOG_MARKERS = {
    "1.5": {
        "accepted": "Shard accepted",  # 1.5 and 1.5.1, line 207
        "rejected": "Report shard info was not accepted",  # line 212
        "unreported": "Failed to report shard info",  # line 202
    },
    "1.6": {
        "accepted": "Shard was accepted by director",  # line 278
        "rejected": "Report shard info was not accepted",  # line 284
        "unreported": "Failed to report shard info",  # line 274
    },
    "1.7": {
        "accepted": "Shard was accepted by director",  # line 278
        "rejected": "Report shard info was not accepted",  # line 284
        "unreported": "Failed to report shard info",  # line 274
    },
}
REGISTRATION_MARKERS = tuple(dict.fromkeys(m["accepted"] for m in OPENFL_LOG_MARKERS.values()))
# What a failure marker means for the operator (a verdict's reason, before the log line).
REJECTION_REASONS = {
    "rejected": "the director did not accept the shard (its sample_shape or target_shape differs from the"
    " director's; the director's log says so)",
    "unreported": "the envoy could not report its shard to the director (director address or port"
    " unreachable, or TLS failed)",
}
REJECTION_MARKERS = {m[kind]: why for m in OPENFL_LOG_MARKERS.values() for kind, why in REJECTION_REASONS.items()}


def object_labels(envoy: str) -> dict[str, str]:
    """The labels of every object this tool keeps for an envoy."""
    return {MANAGED_BY_LABEL: MANAGED_BY, ENVOY_LABEL: envoy}


def cert_checksum(certificate_pem: str | None) -> str:
    """The restart fingerprint of the envoy's certificate ('' before it exists)."""
    if certificate_pem is None:
        return ""
    return hashlib.sha256(certificate_pem.rstrip().encode()).hexdigest()


def python_checksum(files: dict[str, str]) -> str:
    """The restart fingerprint of the python dir: its file names and contents, sorted by name."""
    pairs = [[name, files[name]] for name in sorted(files)]
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()


def registered(log: str) -> bool:
    """Whether an envoy log shows that the director accepted the shard."""
    return any(marker in log for marker in REGISTRATION_MARKERS)


def rejection(lines: list[str]) -> str | None:
    """Why the director did not register the shard, with the envoy's log line; None when no line says so."""
    for line in lines:
        for marker, why in REJECTION_MARKERS.items():
            if marker in line:
                return f"{why}: {line.strip()}"
    return None
