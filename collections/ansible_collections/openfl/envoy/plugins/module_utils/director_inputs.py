# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Preflight of the director the inventory deploys (group ``directors``): its own inputs, and its
shapes against every envoy's shard descriptor where the envoy config declares them (OpenFL's
director accepts a shard only when both shapes are equal, as text).

Every error names the director (or the envoy), the inventory variable and the rule, as the envoy
checks in ``validation`` do; the name, namespace, FQDN and port rules are theirs.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.validation import (
    FIELD_DIRECTOR_FQDN,
    FIELD_NAME,
    HELM_RELEASE_NAME_MAX,
    _err,
    director_fqdn_errors,
    dns1123_label_errors,
)

FIELD_NAMESPACE = "openfl_director_namespace"
FIELD_SAMPLE_SHAPE = "openfl_director_sample_shape"
FIELD_TARGET_SHAPE = "openfl_director_target_shape"
FIELD_HEALTH_PERIOD = "openfl_director_envoy_health_check_period"
FIELD_SERVICE_TYPE = "openfl_director_service_type"
FIELD_NODE_PORT = "openfl_director_node_port"
FIELD_AGG_NODE_PORT = "openfl_director_agg_node_port"
FIELD_NOTEBOOK_HASH = "openfl_director_notebook_password_hash"
SERVICE_TYPES = ("NodePort", "LoadBalancer", "ClusterIP")
NODE_PORT_RANGE = (30000, 32767)  # the API server's default --service-node-port-range
SHAPE_ITEM = re.compile(r"^[1-9][0-9]*$")
NOTEBOOK_HASH = re.compile(r"^(sha1:[0-9a-zA-Z]+:[0-9a-f]{40}|argon2:.+)$")


def as_shape(value: object) -> list[str] | None:
    """A shape as OpenFL compares it (a list of strings), or None when it is not one."""
    if not isinstance(value, (list, tuple)) or not value:
        return None
    items = [str(item) for item in value if not isinstance(item, bool)]
    if len(items) != len(value) or not all(SHAPE_ITEM.match(item) for item in items):
        return None
    return items


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def node_port_errors(director: str, field: str, value: object, service_type: object) -> list[str]:
    port = _int(value if value not in (None, "") else 0)
    low, high = NODE_PORT_RANGE
    if port is None or (port and not low <= port <= high):
        return [_err(director, field, value, f"must be 0 (allocated by the cluster) or a port from {low} to {high}")]
    if port and service_type == "ClusterIP":
        return [_err(director, field, value, f"is set but {FIELD_SERVICE_TYPE} is ClusterIP, which has no nodePorts")]
    return []


def envoy_errors(director: str, fqdn: object, shapes: dict[str, list[str]], envoy: dict[str, Any]) -> list[str]:
    """The name the envoy dials (the director's certificate names ``fqdn``) and its declared shapes
    (shard_descriptor.params.sample_shape/target_shape) against the director's."""
    errors = []
    if envoy.get("director_fqdn") not in (None, "", fqdn):
        errors.append(
            f"{envoy['name']}: {FIELD_DIRECTOR_FQDN} {envoy['director_fqdn']!r} differs from director {director}'s "
            f"{fqdn!r}, the name its certificate carries: the envoy's TLS check would fail; set it for every host "
            "(group_vars/all) or not at all on the envoy"
        )
    config = envoy.get("envoy_config")
    params = ((config.get("shard_descriptor") or {}).get("params") or {}) if isinstance(config, dict) else {}
    for key, field in (("sample_shape", FIELD_SAMPLE_SHAPE), ("target_shape", FIELD_TARGET_SHAPE)):
        if key not in params:
            continue
        declared = as_shape(params[key])
        if field in shapes and declared != shapes[field]:
            errors.append(
                f"{envoy['name']}: openfl_envoy_config shard_descriptor.params.{key} {params[key]!r} differs from "
                f"director {director}'s {field} {shapes[field]!r}: the director would refuse the shard "
                "(Request was not accepted); make them equal"
            )
    return errors


def director_errors(entry: dict[str, Any], envoys: list[dict[str, Any]]) -> list[str]:
    """Every error of the director's inputs, then every envoy whose declared shapes differ."""
    director = str(entry["name"])
    errors = dns1123_label_errors(director, FIELD_NAME, entry["name"], max_length=HELM_RELEASE_NAME_MAX)
    errors += dns1123_label_errors(director, FIELD_NAMESPACE, entry.get("namespace"))
    fqdn = entry.get("fqdn")
    errors += director_fqdn_errors(director, fqdn, FIELD_DIRECTOR_FQDN)
    if fqdn in [envoy["name"] for envoy in envoys]:
        errors.append(_err(director, FIELD_DIRECTOR_FQDN, fqdn, "equals an envoy's name; give the director its own"))
    shapes: dict[str, list[str]] = {}
    for field, key in ((FIELD_SAMPLE_SHAPE, "sample_shape"), (FIELD_TARGET_SHAPE, "target_shape")):
        shape = as_shape(entry.get(key))
        if shape is None:
            rule = 'must be a non-empty list of positive integers, e.g. ["28", "28", "1"]'
            errors.append(_err(director, field, entry.get(key), rule))
        else:
            shapes[field] = shape
    period = entry.get("envoy_health_check_period")
    if (_int(period) or 0) < 1:
        errors.append(_err(director, FIELD_HEALTH_PERIOD, period, "must be a number of seconds above 0"))
    service_type = entry.get("service_type")
    if service_type not in SERVICE_TYPES:
        errors.append(_err(director, FIELD_SERVICE_TYPE, service_type, f"must be one of {', '.join(SERVICE_TYPES)}"))
    ports = [(FIELD_NODE_PORT, entry.get("node_port")), (FIELD_AGG_NODE_PORT, entry.get("agg_node_port"))]
    for field, value in ports:
        errors += node_port_errors(director, field, value, service_type)
    numbers = [_int(value) for _field, value in ports]
    if numbers[0] and numbers[0] == numbers[1]:
        errors.append(_err(director, FIELD_AGG_NODE_PORT, ports[1][1], f"equals {FIELD_NODE_PORT}; they must differ"))
    if entry.get("notebook_enabled") and not NOTEBOOK_HASH.match(str(entry.get("notebook_password_hash") or "")):
        errors.append(
            f"{director}: {FIELD_NOTEBOOK_HASH} must be a Jupyter password hash (sha1:<salt>:<40 hex> or argon2:...) "
            "when the notebook is enabled; vault it (value not shown)"
        )
    for envoy in envoys:
        errors += envoy_errors(director, fqdn, shapes, envoy)
    return errors
