"""Object validation as the API server does it: official schemas, names, keys, sizes, encodings."""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache

import jsonschema
from kubernetes_validate.utils import schema_contents
from referencing import Registry
from referencing import Resource as SchemaResource

from . import defaults
from .errors import Cause, bad_request, invalid
from .resources import Resource
from .selectors import matches_label_selector

SCHEMA_DIR = "kubernetes-json-schema/v1.32.0-local-strict"
MAX_DATA_BYTES = 1024 * 1024
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
JSON_TYPES = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object"}


@cache
def _validator(kind: str, api_version: str) -> jsonschema.Validator:
    file_version = api_version.replace("/", "-")
    schema = schema_contents(f"{SCHEMA_DIR}/{kind.lower()}-{file_version}.json", "1.32")
    definitions = schema_contents(f"{SCHEMA_DIR}/_definitions.json", "1.32")
    registry = SchemaResource.from_contents(definitions) @ (SchemaResource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def _field_path(parts: list) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def check_schema(resource: Resource, obj: dict, field_validation: str) -> list[str]:
    """Validate `obj` against its official schema; drop or reject unknown fields; return warnings."""
    name = obj.get("metadata", {}).get("name", "")
    unknown: list[tuple[list, str]] = []
    causes: list[Cause] = []
    for error in _validator(resource.kind, resource.api_version).iter_errors(obj):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties":
            known = set(error.schema.get("properties", {}))
            unknown.extend((path, key) for key in error.instance if key not in known)
        elif error.validator == "type":
            go_type = error.validator_value[0] if isinstance(error.validator_value, list) else error.validator_value
            found = JSON_TYPES.get(type(error.instance), "value")
            raise bad_request(
                f'{resource.kind} in version "{resource.version}" cannot be handled as a {resource.kind}: json: '
                f"cannot unmarshal {found} into Go struct field {_field_path(path)} of type {go_type}"
            )
        elif error.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            causes.extend(Cause.required(_field_path([*path, m])) for m in missing)
        elif error.validator == "enum":
            causes.append(Cause.unsupported(_field_path(path), error.instance, list(error.validator_value)))
        else:
            causes.append(Cause.invalid(_field_path(path), error.instance, error.message))
    if causes:
        raise invalid(resource, name, causes)
    return _handle_unknown(obj, unknown, field_validation)


def _handle_unknown(obj: dict, unknown: list[tuple[list, str]], field_validation: str) -> list[str]:
    names = [_field_path([*path, key]) for path, key in unknown]
    if names and field_validation == "Strict":
        raise bad_request("strict decoding error: " + ", ".join(f'unknown field "{n}"' for n in names))
    for path, key in unknown:
        node: object = obj
        for part in path:
            node = node[part]  # type: ignore[index]
        node.pop(key, None)  # type: ignore[union-attr]
    return [] if field_validation == "Ignore" else [f'unknown field "{n}"' for n in names]


def check_name(resource: Resource, obj: dict) -> None:
    name = obj.get("metadata", {}).get("name") or ""
    if not name:
        raise invalid(resource, name, [Cause.required("metadata.name", "name or generateName is required")])
    if resource.plural == "namespaces":
        pattern, message, limit = DNS1123_LABEL, LABEL_MSG, 63
    elif resource.plural == "services":
        pattern, message, limit = DNS1035_LABEL, DNS1035_MSG, 63
    else:
        pattern, message, limit = DNS1123_SUBDOMAIN, SUBDOMAIN_MSG, 253
    if len(name) > limit:
        raise invalid(
            resource, name, [Cause.invalid("metadata.name", name, f"must be no more than {limit} characters")]
        )
    if not pattern.match(name):
        raise invalid(resource, name, [Cause.invalid("metadata.name", name, message)])


def check_labels(resource: Resource, obj: dict) -> None:
    causes = _label_causes("metadata.labels", obj.get("metadata", {}).get("labels") or {})
    template = (obj.get("spec") or {}).get("template") or {}
    causes += _label_causes("spec.template.metadata.labels", (template.get("metadata") or {}).get("labels") or {})
    if causes:
        raise invalid(resource, obj["metadata"]["name"], causes)


def _label_causes(field: str, labels: dict) -> list[Cause]:
    causes = []
    for key, value in labels.items():
        name = key.rsplit("/", 1)[-1]
        if len(name) > 63 or not LABEL_NAME.match(name):
            causes.append(
                Cause.invalid(field, key, "name part must consist of alphanumeric characters, '-', '_' or '.'")
            )
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            causes.append(Cause.invalid(field, value, LABEL_VALUE_MSG))
    return causes


def check_data(resource: Resource, obj: dict) -> None:
    """ConfigMap/Secret keys, Secret base64 and the 1 MiB data limit."""
    name = obj["metadata"]["name"]
    sizes = 0
    causes: list[Cause] = []
    for field in ("data", "binaryData"):
        for key, value in (obj.get(field) or {}).items():
            if len(key) > 253 or not CONFIG_KEY.match(key) or key in (".", ".."):
                causes.append(Cause.invalid(f"{field}[{key}]", key, KEY_MSG))
            if value is None:
                continue
            sizes += (
                len(_decode(resource, value))
                if resource.kind == "Secret" or field == "binaryData"
                else len(value.encode())
            )
    if causes:
        raise invalid(resource, name, causes)
    if sizes > MAX_DATA_BYTES:
        field = "data" if resource.kind == "Secret" else "[]"
        raise invalid(resource, name, [Cause.too_long(field, MAX_DATA_BYTES)])


def _decode(resource: Resource, value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        position = next((i for i, c in enumerate(value) if not re.match(r"[A-Za-z0-9+/=]", c)), len(value))
        raise bad_request(
            f'{resource.kind} in version "v1" cannot be handled as a {resource.kind}: '
            f"illegal base64 data at input byte {position}"
        ) from None


def check_deployment(resource: Resource, obj: dict) -> None:
    spec = obj.get("spec") or {}
    selector = spec.get("selector") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    name = obj["metadata"]["name"]
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        raise invalid(
            resource, name, [Cause.invalid("spec.selector", selector, "empty selector is invalid for deployment")]
        )
    if not matches_label_selector(selector, labels):
        raise invalid(
            resource,
            name,
            [Cause.invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")],
        )
    check_pod_spec(resource, name, "spec.template.spec", (spec.get("template") or {}).get("spec") or {})


def check_pod_spec(resource: Resource, name: str, field: str, pod_spec: dict) -> None:
    volumes = {v.get("name") for v in pod_spec.get("volumes") or []}
    causes = []
    for index, container in enumerate(pod_spec.get("containers") or []):
        for m_index, mount in enumerate(container.get("volumeMounts") or []):
            if mount.get("name") not in volumes:
                causes.append(
                    Cause(
                        "FieldValueNotFound",
                        f"{field}.containers[{index}].volumeMounts[{m_index}].name",
                        f'Not found: "{mount.get("name")}"',
                    )
                )
    if causes:
        raise invalid(resource, name, causes)


def check_immutable(resource: Resource, old: dict, new: dict) -> None:
    name = new["metadata"]["name"]
    if resource.kind == "Deployment" and old.get("spec", {}).get("selector") != new.get("spec", {}).get("selector"):
        raise invalid(
            resource, name, [Cause.invalid("spec.selector", new["spec"].get("selector"), "field is immutable")]
        )
    immutable = resource.kind in ("Secret", "ConfigMap") and old.get("immutable")
    if immutable and any(old.get(f) != new.get(f) for f in ("data", "binaryData")):
        raise invalid(resource, name, [Cause.forbidden("data", "field is immutable when `immutable` is set")])


def validate(resource: Resource, obj: dict, field_validation: str, existing: dict | None = None) -> list[str]:
    """Check and default (in place) one object about to be stored; return warnings (dropped unknown fields)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
        raise bad_request(f"Object '{resource.kind}' is missing in '{obj}'")
    warnings = check_schema(resource, obj, field_validation)
    defaults.apply(resource, obj, existing)
    check_name(resource, obj)
    check_labels(resource, obj)
    if resource.kind in ("ConfigMap", "Secret"):
        check_data(resource, obj)
    if resource.kind == "Deployment":
        check_deployment(resource, obj)
    if resource.kind == "Pod":
        check_pod_spec(resource, obj["metadata"]["name"], "spec", obj.get("spec") or {})
    return warnings
