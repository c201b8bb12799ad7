# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Deterministic Helm chart packaging, without a helm binary.

Stable API (the KubeFATE chart upload module depends on it)::

    filename, data = package_chart("charts/openfl-envoy")
    # filename == "openfl-envoy-0.4.0.tgz" (Chart.yaml name and version)
    digest = chart_digest(data)            # "sha256:<64 hex>"
    metadata = read_chart_metadata("charts/openfl-envoy")   # {"name": ..., "version": ...}
    files = chart_files("charts/openfl-envoy")              # sorted, after .helmignore
    meta = chart_metadata(data)                             # Chart.yaml of a package, parsed
    changed = chart_differences(stored_chart, data)         # files a stored KubeFATE chart differs in

``package_chart`` produces what ``helm package`` would put in the archive, as Helm's loader
(and therefore KubeFATE's upload) reads it: a gzip'd tar whose entries all sit under one
top-level directory ``<chart name>/``, with ``Chart.yaml`` in it. The same chart directory
always gives the same bytes (same Python/zlib): entries sorted by path, regular files only,
mode 0644, mtime 0, uid/gid 0, empty user and group names, no directory entries, PAX format,
gzip header mtime 0 and no file name.

``.helmignore`` follows Helm's rules (helm pkg/ignore), including their quirks:

* blank lines and lines starting with ``#`` are skipped; surrounding spaces are trimmed;
* ``**`` is rejected (Helm does not support it);
* a pattern ending in ``/`` matches directories only (an ignored directory is not entered);
* a pattern without ``/`` is matched against the base name, at any depth; a pattern with a
  ``/`` is matched against the whole path relative to the chart (a leading ``/`` is dropped);
  matching is ``filepath.Match`` (``*``, ``?``, ``[...]``; ``*`` does not cross ``/``);
* rules are evaluated in order and the first match ignores the path. A negated rule ``!pat``
  ignores every path that does **not** match ``pat`` (and every file, when ``pat/`` names
  directories), and lets matching paths go on to the next rule. This is what Helm does, not
  what git does;
* Helm's default rule ``templates/.?*`` (dot files in templates/) always applies.

Only the standard library is required; PyYAML, when present, reads Chart.yaml, otherwise a
small reader for its top-level ``name:`` and ``version:`` scalars is used.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import os
import re
import stat
import tarfile
from functools import lru_cache
from typing import Any

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - exercised only where PyYAML is missing
    HAS_YAML = False

HELMIGNORE = ".helmignore"
CHART_FILE = "Chart.yaml"
DEFAULT_IGNORE_RULES = ("templates/.?*",)
# Fixed archive metadata: nothing of the packaging machine or the time leaks into the bytes.
ARCHIVE_MTIME = 0
FILE_MODE = 0o644
# Helm's loader refuses archives over these sizes (pkg/chart/loader/archive.go).
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_CHART_BYTES = 100 * 1024 * 1024
_SEMVER = re.compile(
    r"^v?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?(\.(0|[1-9][0-9]*))?"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)


class ChartError(Exception):
    """The chart directory cannot be packaged; the message says which file and why."""


class _Rule:
    def __init__(self, raw: str, pattern: str, negate: bool, must_dir: bool, anchored: bool) -> None:
        self.raw = raw
        self.pattern = pattern
        self.negate = negate
        self.must_dir = must_dir
        # Helm: "/pat" and "a/b" match the whole relative path, "pat" only the base name.
        self.base_only = not anchored and "/" not in pattern

    def matches(self, path: str) -> bool:
        subject = path.rsplit("/", 1)[-1] if self.base_only else path
        return _go_match(self.pattern, subject)


class IgnoreRules:
    """Helm's .helmignore rules (see the module docstring for the exact semantics)."""

    def __init__(self, lines: list[str] | tuple[str, ...] = ()) -> None:
        self.rules: list[_Rule] = []
        for line in (*DEFAULT_IGNORE_RULES, *lines):
            self.add(line)

    @classmethod
    def from_file(cls, path: str) -> IgnoreRules:
        if not os.path.isfile(path):
            return cls()
        with open(path, encoding="utf-8") as handle:
            return cls(handle.read().splitlines())

    def add(self, line: str) -> None:
        rule = line.strip()
        if not rule or rule.startswith("#"):
            return
        if "**" in rule:
            raise ChartError(f"{HELMIGNORE}: {rule!r}: double-star (**) syntax is not supported")
        raw = rule
        negate = rule.startswith("!")
        if negate:
            rule = rule[1:]
        must_dir = rule.endswith("/")
        if must_dir:
            rule = rule[:-1]
        anchored = rule.startswith("/")
        if anchored:
            rule = rule[1:]
        try:
            _go_pattern(rule)
        except ValueError as error:
            raise ChartError(f"{HELMIGNORE}: {raw!r}: {error}") from None
        self.rules.append(_Rule(raw, rule, negate, must_dir, anchored))

    def ignored(self, path: str, is_dir: bool) -> bool:
        """Whether ``path`` (relative to the chart, ``/``-separated) is left out."""
        if path in ("", ".", "./"):
            return False
        for rule in self.rules:
            if rule.negate:
                if rule.must_dir and not is_dir:
                    return True
                if not rule.matches(path):
                    return True
                continue
            if rule.must_dir and not is_dir:
                continue
            if rule.matches(path):
                return True
        return False


@lru_cache(maxsize=256)
def _go_pattern(pattern: str) -> re.Pattern[str]:
    """Translate a Go ``filepath.Match`` pattern to a regular expression."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\":
            index += 1
            if index >= len(pattern):
                raise ValueError("syntax error in pattern")
            out.append(re.escape(pattern[index]))
        elif char == "[":
            index += 1
            negated = index < len(pattern) and pattern[index] == "^"
            if negated:
                index += 1
            parts: list[str] = []
            while True:
                if index >= len(pattern):
                    raise ValueError("syntax error in pattern")
                char = pattern[index]
                if char == "]":
                    if not parts:
                        raise ValueError("syntax error in pattern")
                    break
                if char == "\\":
                    index += 1
                    if index >= len(pattern):
                        raise ValueError("syntax error in pattern")
                    parts.append(re.escape(pattern[index]))
                else:
                    parts.append("-" if char == "-" else re.escape(char))
                index += 1
            # A class never matches the separator, negated or not (Go filepath.Match).
            out.append(f"(?!/)[{'^' if negated else ''}{''.join(parts)}]")
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _go_match(pattern: str, name: str) -> bool:
    return _go_pattern(pattern).match(name) is not None


def read_chart_metadata(chart_dir: str) -> dict[str, str]:
    """``{"name", "version", "appVersion"?}`` from the chart's Chart.yaml, checked like Helm."""
    path = os.path.join(chart_dir, CHART_FILE)
    if not os.path.isfile(path):
        raise ChartError(f"{chart_dir}: {CHART_FILE} file is missing")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    data = _parse_chart_yaml(text, path)
    metadata = {}
    for key in ("name", "version", "appVersion"):
        value = data.get(key)
        if value is not None:
            metadata[key] = str(value)
    if not metadata.get("name"):
        raise ChartError(f"{path}: validation: chart.metadata.name is required")
    if "/" in metadata["name"] or "\\" in metadata["name"]:
        raise ChartError(f"{path}: chart name {metadata['name']!r} must not contain a path separator")
    if not metadata.get("version"):
        raise ChartError(f"{path}: validation: chart.metadata.version is required")
    if not _SEMVER.match(metadata["version"]):
        raise ChartError(f"{path}: validation: chart.metadata.version {metadata['version']!r} is invalid")
    return metadata


def _parse_chart_yaml(text: str, path: str) -> dict:
    if HAS_YAML:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ChartError(f"{path}: not valid YAML: {error}") from None
        if not isinstance(data, dict):
            raise ChartError(f"{path}: must be a YAML mapping")
        return data
    data = {}
    for line in text.splitlines():
        match = re.match(r"^(name|version|appVersion):\s*(.*?)\s*(#.*)?$", line)
        if match:
            value = match.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            data[match.group(1)] = value
    return data


def chart_files(chart_dir: str) -> list[str]:
    """Relative ``/``-separated paths of the files the package holds, sorted."""
    if not os.path.isdir(chart_dir):
        raise ChartError(f"{chart_dir}: not a directory")
    rules = IgnoreRules.from_file(os.path.join(chart_dir, HELMIGNORE))
    found: list[str] = []
    for root, dirs, files in os.walk(chart_dir):
        rel_root = os.path.relpath(root, chart_dir).replace(os.sep, "/")
        rel_root = "" if rel_root == "." else rel_root + "/"
        dirs[:] = sorted(d for d in dirs if not rules.ignored(rel_root + d, True))
        for name in sorted(files):
            rel = rel_root + name
            if rules.ignored(rel, False):
                continue
            mode = os.stat(os.path.join(root, name)).st_mode
            if not stat.S_ISREG(mode):
                raise ChartError(f"{chart_dir}: cannot load irregular file {rel}")
            found.append(rel)
    return sorted(found)


def package_chart(chart_dir: str) -> tuple[str, bytes]:
    """Package ``chart_dir``: returns ``("<name>-<version>.tgz", archive bytes)``.

    Raises ChartError when Chart.yaml is missing or invalid, a .helmignore rule is invalid,
    a file is not regular, or the chart exceeds what Helm's loader accepts.
    """
    metadata = read_chart_metadata(chart_dir)
    name, version = metadata["name"], metadata["version"]
    paths = chart_files(chart_dir)
    if CHART_FILE not in paths:
        raise ChartError(f"{chart_dir}: {CHART_FILE} is excluded by {HELMIGNORE}")
    tar_buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for rel in paths:
            with open(os.path.join(chart_dir, *rel.split("/")), "rb") as handle:
                content = handle.read()
            if len(content) > MAX_FILE_BYTES:
                raise ChartError(f"{chart_dir}: {rel} is larger than Helm's {MAX_FILE_BYTES} byte limit")
            total += len(content)
            if total > MAX_CHART_BYTES:
                raise ChartError(f"{chart_dir}: chart is larger than Helm's {MAX_CHART_BYTES} byte limit")
            archive.addfile(_tar_info(f"{name}/{rel}", len(content)), io.BytesIO(content))
    gz_buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buffer, mtime=ARCHIVE_MTIME, compresslevel=9) as gz:
        gz.write(tar_buffer.getvalue())
    return f"{name}-{version}.tgz", gz_buffer.getvalue()


def _tar_info(path: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.size = size
    info.mode = FILE_MODE
    info.mtime = ARCHIVE_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def chart_digest(data: bytes) -> str:
    """``"sha256:<hex>"`` of a package's bytes (the digest Helm repositories record)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- reading a package: what KubeFATE stores of it, and whether a stored chart is the same ------------

ROOT_CHART_FILES = {
    "Chart.yaml": "chart",
    "values.yaml": "values",
    "values-template.yaml": "values_template",
    "values-template-example.yaml": "values_template_example",
}


def chart_package_files(package: bytes) -> dict[str, bytes]:
    """The files KubeFATE stores from a chart package: the four root files (by their HelmChart key)
    and ``templates/...`` (by path relative to the chart root). Other files are dropped, as the
    server drops them."""
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(package), mode="r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            parts = member.name.split("/", 1)
            if len(parts) != 2:
                continue
            rel = parts[1]
            extracted = archive.extractfile(member)
            if extracted is None:
                continue
            content = extracted.read()
            if rel in ROOT_CHART_FILES:
                files[ROOT_CHART_FILES[rel]] = content
            elif rel.startswith("templates/"):
                files[rel] = content
    return files


def chart_metadata(package: bytes) -> dict[str, Any]:
    """Chart.yaml of a package, parsed."""
    raw = chart_package_files(package).get("chart")
    if raw is None:
        raise ChartError("the chart package has no Chart.yaml in its top-level directory")
    meta = _parse_chart_yaml(raw.decode("utf-8"), "the chart package's Chart.yaml")
    if not meta.get("name") or not meta.get("version"):
        raise ChartError("the chart package's Chart.yaml needs a name and a version")
    return meta


def _same_text(stored: str | None, local: bytes | None, parse_yaml: bool) -> bool:
    stored_text = stored or ""
    local_text = (local or b"").decode("utf-8", errors="replace")
    if stored_text == local_text or stored_text.strip() == local_text.strip():
        return True
    if parse_yaml and HAS_YAML:
        try:
            return yaml.safe_load(stored_text) == yaml.safe_load(local_text)
        except yaml.YAMLError:
            return False
    return False


def _template_name(name: str) -> str:
    return name if name.startswith("templates/") else "templates/" + name.lstrip("/")


def chart_differences(stored: dict[str, Any], package: bytes) -> list[str]:
    """Which stored files differ from the package's (empty list: same content). KubeFATE keeps
    no digest, so this compares the texts it stores: Chart.yaml, values.yaml, the values
    templates (YAML files also compare equal when they parse to the same data) and every
    template file (byte for byte)."""
    local = chart_package_files(package)
    diffs = []
    for filename, key in ROOT_CHART_FILES.items():
        if not _same_text(stored.get(key), local.get(key), parse_yaml=key != "values_template"):
            diffs.append(filename)
    stored_templates: dict[str, bytes] = {}
    for item in stored.get("templates") or []:
        if not isinstance(item, dict) or "name" not in item:
            continue
        data = item.get("data") or ""
        try:
            content = base64.b64decode(data) if isinstance(data, str) else bytes(data)
        except (ValueError, TypeError):
            content = str(data).encode()
        stored_templates[_template_name(str(item["name"]))] = content
    local_templates = {name: content for name, content in local.items() if name.startswith("templates/")}
    for name in sorted(set(stored_templates) | set(local_templates)):
        if stored_templates.get(name) != local_templates.get(name):
            diffs.append(name)
    return diffs
