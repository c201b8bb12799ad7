"""Go behaviours the KubeFATE test double must reproduce byte for byte.

The real service is written in Go; clients see Go's `encoding/json` binding errors, Go's base64
errors, Go's `time.Time` JSON and `sigs.k8s.io/yaml` parsing. This module mimics just those
observable behaviours (texts and rules), not the Go implementations.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import yaml

ZERO_TIME = "0001-01-01T00:00:00Z"
_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


class BindError(Exception):
    """A request-binding problem: the real service answers HTTP 400 `{"error": <text>}`."""


def now() -> dt.datetime:
    """Server-local time, aware (the real service's MySQL DSN uses loc=Local)."""
    return dt.datetime.now().astimezone()


def go_time(moment: dt.datetime | None) -> str:
    """Go `time.Time` JSON (RFC 3339, fraction trimmed, `Z` for UTC); millisecond precision as MySQL stores it."""
    if moment is None:
        return ZERO_TIME
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = moment.microsecond // 1000
    if millis:
        text += f".{millis:03d}".rstrip("0")
    return text + _zone(moment)


def go_time_seconds(moment: dt.datetime) -> str:
    """`time.RFC3339` without fraction (gin-jwt's `expire`)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + _zone(moment)


def _zone(moment: dt.datetime) -> str:
    offset = moment.utcoffset() or dt.timedelta(0)
    if not offset:
        return "Z"
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def go_duration(delta: dt.timedelta) -> str:
    """Go `time.Duration.String()` rounded to seconds (e.g. `1h2m3s`, `0s`)."""
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


# ---------------------------------------------------------------------------------------------
# encoding/json: syntax errors, case-insensitive struct binding, type errors


def _go_quote_char(char: str) -> str:
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + json.dumps(char)[1:-1] + "'"


def _syntax_error(text: str, error: json.JSONDecodeError) -> str:
    """Go's `SyntaxError` text for the first offending character (or `unexpected EOF`)."""
    pos = error.pos
    if pos >= len(text.rstrip()) and not error.msg.startswith("Extra data"):
        return "unexpected EOF"
    char = text[pos] if pos < len(text) else ""
    context = {
        "Expecting value": "looking for beginning of value",
        "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
        "Expecting ':' delimiter": "after object key",
        "Expecting ',' delimiter": "after object key:value pair"
        if _inside_object(text, pos)
        else "after array element",
        "Invalid control character at": "in string literal",
        "Invalid \\escape": "in string escape code",
    }
    for prefix, where in context.items():
        if error.msg.startswith(prefix):
            return f"invalid character {_go_quote_char(char)} {where}"
    return f"invalid character {_go_quote_char(char)} looking for beginning of value"


def _inside_object(text: str, pos: int) -> bool:
    """Whether `pos` sits directly inside an object (not an array), by bracket depth outside strings."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text[:pos]:
        if in_string:
            escaped = not escaped and char == "\\"
            if char == '"' and not escaped:
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
        elif char in "]}" and stack:
            stack.pop()
    return bool(stack) and stack[-1] == "{"


class _Object(list):
    """A decoded JSON object as its (key, value) pairs, duplicates and order kept (Go: last wins)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def decode_json(body: bytes) -> Any:
    """Decode the first JSON value of `body` as Go's `json.Decoder.Decode` does (trailing data ignored)."""
    text = body.decode("utf-8", errors="replace")
    start = len(text) - len(text.lstrip(" \t\r\n"))
    if start == len(text):
        raise BindError("EOF")
    decoder = json.JSONDecoder(object_pairs_hook=_Object, parse_constant=_reject_constant)
    try:
        value, _end = decoder.raw_decode(text, start)
    except json.JSONDecodeError as error:
        raise BindError(_syntax_error(text, error)) from None
    except ValueError as error:  # NaN/Infinity: not JSON for Go
        index = text.find(str(error), start)
        raise BindError(
            f"invalid character {_go_quote_char(text[max(index, 0)])} looking for beginning of value"
        ) from None
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, _Object | dict):
        return "object"
    return "array"


@dataclass(frozen=True)
class Field:
    """One Go struct field: its JSON key, Go type name, and kind (`string`, `bool`, `bytes`)."""

    key: str
    go_type: str


def bind_struct(body: bytes, struct: str, fields: tuple[Field, ...]) -> dict[str, Any]:
    """`ShouldBindJSON` into a flat Go struct: keys matched exactly, else case-insensitively; unknown keys ignored.

    Returns {json key: value} for the keys present (Go leaves absent fields at their zero value).
    Type errors name `<Struct>.<key>` as Go 1.17+ does; the first one is reported after decoding.
    """
    document = decode_json(body)
    if document is None:
        return {}
    if not isinstance(document, _Object):
        raise BindError(f"json: cannot unmarshal {_json_kind(document)} into Go value of type modules.{struct}")
    values: dict[str, Any] = {}
    first_error: str | None = None
    for key, raw in document:
        field = _match_field(key, fields)
        if field is None:
            continue
        try:
            values[field.key] = _convert(raw, field, struct)
        except BindError as error:
            first_error = first_error or str(error)
    if first_error:
        raise BindError(first_error)
    return values


def _match_field(key: str, fields: tuple[Field, ...]) -> Field | None:
    for field in fields:
        if field.key == key:
            return field
    for field in fields:
        if field.key.casefold() == key.casefold():
            return field
    return None


def _convert(raw: Any, field: Field, struct: str) -> Any:
    if raw is None:
        return None
    kind = _json_kind(raw)

    def mismatch() -> BindError:
        return BindError(
            f"json: cannot unmarshal {kind} into Go struct field {struct}.{field.key} of type {field.go_type}"
        )

    if field.go_type == "string":
        if kind != "string":
            raise mismatch()
        return raw
    if field.go_type == "bool":
        if kind != "bool":
            raise mismatch()
        return raw
    if field.go_type == "[]uint8":
        if kind == "string":
            return go_base64_decode(raw)
        if kind == "array" and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in raw):
            return bytes(raw)
        raise mismatch()
    raise AssertionError(field.go_type)


def go_base64_decode(text: str) -> bytes:
    """`base64.StdEncoding.Decode` with Go's `illegal base64 data at input byte N` offsets (CR/LF skipped)."""
    data = text.encode()
    index = 0
    while index < len(data):
        index = _check_quantum(data, index)
    cleaned = bytes(b for b in data if b not in b"\r\n")
    return base64.b64decode(cleaned) if cleaned else b""


def _corrupt(offset: int) -> BindError:
    return BindError(f"illegal base64 data at input byte {offset}")


def _check_quantum(src: bytes, si: int) -> int:
    """Validate one 4-character quantum starting at `si` as Go's decodeQuantum does; return the next index."""
    j = 0
    while j < 4:
        if si == len(src):
            if j == 0:
                return si
            raise _corrupt(si - j)
        char = src[si]
        si += 1
        if char in _B64_ALPHABET:
            j += 1
            continue
        if char in b"\r\n":
            continue
        if char != ord("=") or j in (0, 1):
            raise _corrupt(si - 1)
        if j == 2:
            si = _skip_newlines(src, si)
            if si == len(src):
                raise _corrupt(len(src))
            if src[si] != ord("="):
                raise _corrupt(si - 1)
            si += 1
        si = _skip_newlines(src, si)
        if si < len(src):
            raise _corrupt(si)
        return si
    return si


def _skip_newlines(src: bytes, si: int) -> int:
    while si < len(src) and src[si] in b"\r\n":
        si += 1
    return si


def go_base64_encode(data: bytes | None) -> str | None:
    """Go marshals a nil []byte as null and anything else as standard base64."""
    return None if data is None else base64.b64encode(data).decode()


# ---------------------------------------------------------------------------------------------
# sigs.k8s.io/yaml: YAML 1.1 → JSON-compatible map


class _SpecLoader(yaml.SafeLoader):
    """YAML 1.1 like go-yaml v2, but timestamps stay strings (sigs.k8s.io/yaml converts via JSON)."""


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_spec(text: str) -> dict[str, Any]:
    """Parse cluster yaml into a map as `yaml.Unmarshal(data, &map[string]interface{})`; errors use Go-like texts."""
    try:
        document = yaml.load(text, Loader=_SpecLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ValueError(f"error converting YAML to JSON: yaml: {line}{problem}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        kind = "array" if isinstance(document, list) else _json_kind(document)
        raise ValueError(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
            f"{kind} into Go value of type map[string]interface {{}}"
        )
    return _jsonable(document)


def _jsonable(value: Any) -> Any:
    """Map keys become strings and numbers become Go float64 values (integral ones printed without `.0`)."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, bool) else str(k).lower(): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dt.date | bytes):
        return str(value)
    return value
