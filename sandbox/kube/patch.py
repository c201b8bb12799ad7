"""JSON patch (RFC 6902), JSON merge patch (RFC 7386) and Kubernetes strategic merge patch."""

from __future__ import annotations

import copy

from .errors import ApiError, bad_request

# List fields merged by key in strategic merge patches (the `patchMergeKey` of the official types
# that the served kinds contain); every other list is replaced whole.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "secrets": "name",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}
# Service ports are keyed by `port`, container ports by `containerPort`.
SERVICE_PORT_KEY = "port"


def json_patch(target: dict, operations: object) -> dict:
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    document = copy.deepcopy(target)
    for operation in operations:
        document = _apply_operation(document, operation)
    return document


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"the server rejected our request due to an error in our request: invalid path {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(document: object, parts: list[str]) -> object:
    node = document
    for part in parts[:-1]:
        node = _child(node, part)
    return node


def _child(node: object, part: str) -> object:
    try:
        if isinstance(node, list):
            return node[int(part)]
        if isinstance(node, dict):
            return node[part]
    except (KeyError, IndexError, ValueError):
        pass
    raise ApiError(
        422, "Invalid", f"the server rejected our request due to an error in our request: missing path: {part}"
    )


def _get(document: object, parts: list[str]) -> object:
    node = document
    for part in parts:
        node = _child(node, part)
    return node


def _add(document: object, parts: list[str], value: object) -> object:
    if not parts:
        return value
    parent = _parent(document, parts)
    last = parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise bad_request(f"doc is missing path: {'/'.join(parts)}")
    return document


def _remove(document: object, parts: list[str]) -> tuple[object, object]:
    parent = _parent(document, parts)
    last = parts[-1]
    value = _child(parent, last)
    if isinstance(parent, list):
        del parent[int(last)]
    else:
        del parent[last]  # type: ignore[union-attr]
    return document, value


def _apply_operation(document: object, operation: dict) -> object:
    op, parts = operation.get("op"), _pointer(operation.get("path", ""))
    if op == "add":
        return _add(document, parts, copy.deepcopy(operation.get("value")))
    if op == "remove":
        return _remove(document, parts)[0]
    if op == "replace":
        _get(document, parts)
        document = _remove(document, parts)[0] if parts else document
        return _add(document, parts, copy.deepcopy(operation.get("value")))
    if op in ("move", "copy"):
        source = _pointer(operation.get("from", ""))
        if op == "move":
            document, value = _remove(document, source)
        else:
            value = copy.deepcopy(_get(document, source))
        return _add(document, parts, value)
    if op == "test":
        if _get(document, parts) != operation.get("value"):
            raise ApiError(
                422, "Invalid", f"the server rejected our request: testing value {operation.get('path')} failed"
            )
        return document
    raise bad_request(f"Unexpected kind: {op}")


def merge_patch(target: object, patch: object) -> object:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: object, patch: object, field: str = "") -> object:
    """Merge `patch` into `target` the way the API server does for built-in kinds."""
    if isinstance(patch, dict):
        return _merge_map(target, patch)
    if isinstance(patch, list) and isinstance(target, list):
        return _merge_list(target, patch, field)
    return copy.deepcopy(patch)


def _merge_map(target: object, patch: dict) -> dict:
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return {}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name) or [] if v not in value]
        elif value is None:
            result.pop(key, None)
        else:
            result[key] = strategic_merge(result.get(key), value, key)
    return result


def _merge_key(field: str, items: list) -> str | None:
    key = MERGE_KEYS.get(field)
    if field == "ports" and items and isinstance(items[0], dict) and "containerPort" not in items[0]:
        return SERVICE_PORT_KEY
    return key


def _merge_list(target: list, patch: list, field: str) -> list:
    key = _merge_key(field, patch or target)
    if key is None or not all(isinstance(i, dict) for i in patch):
        if patch and isinstance(patch[0], dict) and patch[0].get("$patch") == "replace":
            return []
        return copy.deepcopy(patch)
    result = copy.deepcopy(target)
    for item in patch:
        directive = item.get("$patch")
        position = next((i for i, t in enumerate(result) if isinstance(t, dict) and t.get(key) == item.get(key)), None)
        if directive == "replace":
            return [copy.deepcopy({k: v for k, v in i.items() if k != "$patch"}) for i in patch]
        if directive == "delete":
            if position is not None:
                del result[position]
        elif position is None:
            result.append(_merge_map({}, item))
        else:
            result[position] = _merge_map(result[position], item)
    return result
