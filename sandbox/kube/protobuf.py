"""Just enough of the Kubernetes protobuf encoding to read what `kubectl create <kind>` sends.

kubectl's typed clients POST `application/vnd.kubernetes.protobuf` (a `k8s\\0` magic, then a
`runtime.Unknown` wrapping the object) and do not fall back to JSON, so the test double decodes the
few kinds kubectl's generators create: Namespace, Secret, ConfigMap and ServiceAccount.
"""

from __future__ import annotations

import base64

from .errors import ApiError

MAGIC = b"k8s\x00"
Schema = dict[int, tuple[str, str]]
OBJECT_META: Schema = {
    1: ("name", "string"),
    2: ("generateName", "string"),
    3: ("namespace", "string"),
    5: ("uid", "string"),
    6: ("resourceVersion", "string"),
    11: ("labels", "map_string"),
    12: ("annotations", "map_string"),
    14: ("finalizers", "strings"),
}
KINDS: dict[str, Schema] = {
    "Namespace": {1: ("metadata", "meta"), 2: ("spec", "namespace_spec")},
    "Secret": {1: ("metadata", "meta"), 2: ("data", "map_bytes"), 3: ("type", "string"),
               4: ("stringData", "map_string"), 5: ("immutable", "bool")},
    "ConfigMap": {1: ("metadata", "meta"), 2: ("data", "map_string"), 3: ("binaryData", "map_bytes"),
                  4: ("immutable", "bool")},
    "ServiceAccount": {1: ("metadata", "meta"), 4: ("automountServiceAccountToken", "bool")},
}  # fmt: skip
NESTED: dict[str, Schema] = {"meta": OBJECT_META, "namespace_spec": {1: ("finalizers", "strings")}}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of one message: varints as int, length-delimited as bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _varint(data, pos)
            out.append((number, data[pos : pos + size]))
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _message(data: bytes, schema: Schema) -> dict:
    result: dict = {}
    for number, value in fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if kind == "string" and isinstance(value, bytes):
            if value:
                result[name] = value.decode()
        elif kind == "bool":
            result[name] = bool(value)
        elif kind == "strings" and isinstance(value, bytes):
            result.setdefault(name, []).append(value.decode())
        elif kind.startswith("map_") and isinstance(value, bytes):
            entry = dict(fields(value))
            key, item = bytes(entry.get(1, b"")).decode(), bytes(entry.get(2, b""))
            result.setdefault(name, {})[key] = base64.b64encode(item).decode() if kind == "map_bytes" else item.decode()
        elif kind in NESTED and isinstance(value, bytes):
            nested = _message(value, NESTED[kind])
            if nested:
                result[name] = nested
    return result


def decode(body: bytes) -> dict:
    """A JSON-shaped object from a protobuf request body; 415 for kinds this double cannot read."""
    if not body.startswith(MAGIC):
        raise ApiError(
            400, "BadRequest", "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        )
    unknown = dict(fields(body[len(MAGIC) :]))
    type_meta = dict(fields(bytes(unknown.get(1, b""))))
    api_version, kind = bytes(type_meta.get(1, b"")).decode(), bytes(type_meta.get(2, b"")).decode()
    if kind not in KINDS:
        raise ApiError(
            415, "UnsupportedMediaType", f"the sandbox reads protobuf only for {sorted(KINDS)}, not {kind}; send JSON"
        )
    return {"apiVersion": api_version, "kind": kind, **_message(bytes(unknown.get(2, b"")), KINDS[kind])}
