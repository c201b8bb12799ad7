# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Input rules for one OpenFL envoy: the one place every check lives.

Every rule is a function that returns a list of error strings (empty when the
input is fine). Each error names the envoy, the field (the inventory variable
an operator edits) or the file, and the rule, for example::

    envoy-2: openfl_director_ip 'director.example' is not an IP address

Pure standard library, so modules, tests and other helpers can import it.
Sources of the rules: Kubernetes name and ConfigMap key validation, Helm's
release-name limit, OpenFL 1.5 (``fx envoy start`` and the envoy config it
reads, ``openfl/interface/envoy.py``) and the values of the FedLCM
openfl-envoy chart (director FQDN, IP and ports, image, python configmap).
"""

from __future__ import annotations

import ast
import ipaddress
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Field names as operators know them (the site contract's inventory variables).
FIELD_NAME = "inventory_hostname"
FIELD_NAMESPACE = "openfl_envoy_namespace"
FIELD_PYTHON_DIR = "openfl_envoy_python_dir"
FIELD_ENVOY_CONFIG = "openfl_envoy_config"
FIELD_DIRECTOR_FQDN = "openfl_director_fqdn"
FIELD_DIRECTOR_IP = "openfl_director_ip"
FIELD_DIRECTOR_PORT = "openfl_director_port"
FIELD_DIRECTOR_AGG_PORT = "openfl_director_agg_port"
FIELD_REGISTRY = "openfl_envoy_registry"
FIELD_IMAGE = "openfl_envoy_image"
FIELD_IMAGE_TAG = "openfl_envoy_image_tag"
FIELD_CERTIFICATE = "envoy certificate"

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
HELM_RELEASE_NAME_MAX = 53
CONFIGMAP_KEY_MAX = 253
# Kubernetes rejects a ConfigMap whose keys plus values exceed 1 MiB.
CONFIGMAP_MAX_BYTES = 1024 * 1024
# The envoy reads these files; a shard descriptor "module.Class" must be one of them.
PYTHON_SUFFIX = ".py"

RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# OpenFL 1.5 click type FQDN (openfl/utilities/utils.py is_fqdn): per label, case-insensitive.
_OPENFL_FQDN_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
_CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_PY_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Docker reference grammar (distribution/reference), simplified to what a chart value may hold.
_REGISTRY = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
    r"|\[[0-9a-fA-F:.]+\](?::[0-9]+)?)"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_IMAGE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_IMAGE_TAG = re.compile(r"^[\w][\w.-]{0,127}$")

ENVOY_CONFIG_KEYS = frozenset({"params", "optional_plugin_components", "shard_descriptor"})
ENVOY_PARAMS_KEYS = frozenset({"cuda_devices", "install_requirements", "review_experiment"})


def _err(envoy: str, field_name: str, value: object, rule: str) -> str:
    return f"{envoy}: {field_name} {value!r} {rule}"


def _file_err(envoy: str, name: str, rule: str, field_name: str = FIELD_PYTHON_DIR) -> str:
    return f"{envoy}: {field_name} file {name!r} {rule}"


# --- names ---------------------------------------------------------------------------------------


def dns1123_label_errors(envoy: str, field_name: str, value: object, max_length: int = DNS1123_LABEL_MAX) -> list[str]:
    """A Kubernetes DNS-1123 label: lowercase alphanumerics and '-', alphanumeric at both ends."""
    if not isinstance(value, str) or not value:
        return [_err(envoy, field_name, value, "must be a non-empty string")]
    errors = []
    if not _DNS1123_LABEL.match(value):
        errors.append(
            _err(
                envoy,
                field_name,
                value,
                "is not a DNS-1123 label (lowercase letters, digits and '-', "
                "starting and ending with a letter or digit)",
            )
        )
    if len(value) > max_length:
        errors.append(_err(envoy, field_name, value, f"is {len(value)} characters long; the limit is {max_length}"))
    return errors


def dns1123_subdomain_errors(envoy: str, field_name: str, value: object) -> list[str]:
    """A Kubernetes DNS-1123 subdomain: dot-separated DNS-1123 labels, at most 253 characters."""
    if not isinstance(value, str) or not value:
        return [_err(envoy, field_name, value, "must be a non-empty string")]
    errors = []
    if not _DNS1123_SUBDOMAIN.match(value):
        errors.append(_err(envoy, field_name, value, "is not a DNS-1123 subdomain (dot-separated DNS-1123 labels)"))
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errors.append(
            _err(envoy, field_name, value, f"is {len(value)} characters long; the limit is {DNS1123_SUBDOMAIN_MAX}")
        )
    return errors


def envoy_name_errors(name: object, cert_cn: str | None = None) -> list[str]:
    """The envoy name: shard name, Helm release name, certificate CN and namespace suffix at once.

    It must be a DNS-1123 label of at most 53 characters (the Helm release limit),
    and, when the certificate's common name is known, equal to it exactly: the
    aggregator compares the CN with the shard name, case-sensitively.
    """
    envoy = str(name)
    errors = dns1123_label_errors(envoy, FIELD_NAME, name, max_length=HELM_RELEASE_NAME_MAX)
    if cert_cn is not None and cert_cn != name:
        errors.append(
            _err(
                envoy,
                FIELD_NAME,
                name,
                f"differs from the certificate common name {cert_cn!r}; OpenFL's aggregator requires them to be equal",
            )
        )
    return errors


def namespace_errors(envoy: str, namespace: object) -> list[str]:
    """The envoy's namespace: a DNS-1123 label, not a system namespace (one envoy per namespace)."""
    errors = dns1123_label_errors(envoy, FIELD_NAMESPACE, namespace)
    if isinstance(namespace, str) and (namespace in RESERVED_NAMESPACES or namespace.startswith("kube-")):
        errors.append(
            _err(envoy, FIELD_NAMESPACE, namespace, "is a reserved Kubernetes namespace; each envoy needs its own")
        )
    return errors


def director_fqdn_errors(envoy: str, fqdn: object, field_name: str = FIELD_DIRECTOR_FQDN) -> list[str]:
    """OpenFL 1.5's FQDN rule for ``fx envoy start --director-host``.

    Every dot-separated label matches ``^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$``
    (case-insensitive), the whole name is 2..252 characters, and a trailing dot
    fails (OpenFL never assigns the stripped value).
    """
    if not isinstance(fqdn, str) or not fqdn:
        return [_err(envoy, field_name, fqdn, "must be a non-empty string")]
    if not 2 <= len(fqdn) <= 252:
        return [_err(envoy, field_name, fqdn, f"is {len(fqdn)} characters long; OpenFL requires 2 to 252")]
    if fqdn.endswith("."):
        return [_err(envoy, field_name, fqdn, "ends with a dot, which OpenFL's director-host check rejects")]
    bad = [label for label in fqdn.split(".") if not _OPENFL_FQDN_LABEL.match(label)]
    if bad:
        return [
            _err(
                envoy,
                field_name,
                fqdn,
                f"is not a valid FQDN for OpenFL: label {bad[0]!r} must be 1-63 letters, digits or '-', "
                "starting and ending with a letter or digit",
            )
        ]
    return []


def ip_address_errors(envoy: str, value: object, field_name: str = FIELD_DIRECTOR_IP) -> list[str]:
    """An IPv4 or IPv6 address (it goes into the pod's hostAliases, which take IPs only)."""
    if not isinstance(value, str):
        return [_err(envoy, field_name, value, "is not an IP address")]
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return [_err(envoy, field_name, value, "is not an IP address")]
    return []


def port_errors(envoy: str, field_name: str, value: object) -> list[str]:
    """A TCP port, 1..65535, as an integer (or a string of digits, as inventories sometimes give)."""
    port: int | None = None
    if isinstance(value, bool):
        port = None
    elif isinstance(value, int):
        port = value
    elif isinstance(value, str) and value.isdigit() and value.isascii():
        port = int(value)
    if port is None or not 1 <= port <= 65535:
        return [_err(envoy, field_name, value, "is not a port number (an integer from 1 to 65535)")]
    return []


def configmap_key_errors(envoy: str, key: object, field_name: str = FIELD_PYTHON_DIR) -> list[str]:
    """Kubernetes' ConfigMap key rule: ``[-._a-zA-Z0-9]+``, at most 253 characters, not '.' or '..'."""
    if not isinstance(key, str) or not _CONFIGMAP_KEY.match(key):
        return [
            _file_err(
                envoy,
                str(key),
                "is not a valid ConfigMap key: only letters, digits, '-', '_' and '.' are allowed",
                field_name,
            )
        ]
    if len(key) > CONFIGMAP_KEY_MAX:
        return [_file_err(envoy, key, f"name is longer than {CONFIGMAP_KEY_MAX} characters (ConfigMap keys)")]
    if key in (".", "..") or key.startswith(".."):
        return [_file_err(envoy, key, "is not a valid ConfigMap key: it must not be '.' or start with '..'")]
    return []


# --- image ---------------------------------------------------------------------------------------


def image_errors(envoy: str, registry: object, image: object, tag: object) -> list[str]:
    """Registry, image and tag must make a valid image reference ``<registry>/<image>:<tag>``."""
    errors = []
    if not isinstance(registry, str) or not registry:
        errors.append(
            _err(
                envoy,
                FIELD_REGISTRY,
                registry,
                "must be a non-empty registry or organisation (empty means Docker Hub's library, "
                "which has no envoy image)",
            )
        )
    elif not _REGISTRY.match(registry):
        errors.append(_err(envoy, FIELD_REGISTRY, registry, "is not a valid registry (host[:port][/path])"))
    if not isinstance(image, str) or not _IMAGE.match(image):
        errors.append(_err(envoy, FIELD_IMAGE, image, "is not a valid image name (lowercase path components, no tag)"))
    if not isinstance(tag, str) or not _IMAGE_TAG.match(tag):
        errors.append(
            _err(
                envoy,
                FIELD_IMAGE_TAG,
                tag,
                "is not a valid image tag (letters, digits, '_', '.', '-'; at most 128; quote numeric tags)",
            )
        )
    return errors


# --- envoy config (envoyConfigs) -----------------------------------------------------------------


def _template_errors(envoy: str, where: str, template: object) -> list[str]:
    if not isinstance(template, str) or not template:
        return [_err(envoy, f"{FIELD_ENVOY_CONFIG}.{where}", template, "is required: a 'module.Class' string")]
    parts = template.split(".")
    if len(parts) < 2 or not all(_PY_IDENTIFIER.match(p) for p in parts):
        return [_err(envoy, f"{FIELD_ENVOY_CONFIG}.{where}", template, "is not a 'module.Class' Python path")]
    return []


def envoy_config_errors(envoy: str, config: object) -> list[str]:
    """The shape OpenFL 1.5 expects of the envoy config YAML (the chart's envoyConfigs)."""
    field_name = FIELD_ENVOY_CONFIG
    if not isinstance(config, Mapping):
        return [_err(envoy, field_name, config, "must be a mapping (the envoy config YAML)")]
    errors = [
        f"{envoy}: {field_name} key {key!r} is unknown; OpenFL reads only " + ", ".join(sorted(ENVOY_CONFIG_KEYS))
        for key in config
        if key not in ENVOY_CONFIG_KEYS
    ]

    params = config.get("params")
    if params is not None:
        if not isinstance(params, Mapping):
            errors.append(_err(envoy, f"{field_name}.params", params, "must be a mapping"))
        else:
            errors.extend(_envoy_params_errors(envoy, params))

    plugins = config.get("optional_plugin_components")
    if plugins is not None:
        if not isinstance(plugins, Mapping):
            errors.append(_err(envoy, f"{field_name}.optional_plugin_components", plugins, "must be a mapping"))
        else:
            for name, plugin in plugins.items():
                where = f"optional_plugin_components.{name}"
                if not isinstance(plugin, Mapping):
                    errors.append(_err(envoy, f"{field_name}.{where}", plugin, "must be a mapping with 'template'"))
                    continue
                errors.extend(_template_errors(envoy, f"{where}.template", plugin.get("template")))
                if plugin.get("params") is not None and not isinstance(plugin.get("params"), Mapping):
                    errors.append(
                        _err(envoy, f"{field_name}.{where}.params", plugin.get("params"), "must be a mapping")
                    )

    shard = config.get("shard_descriptor")
    if not isinstance(shard, Mapping):
        errors.append(
            _err(envoy, f"{field_name}.shard_descriptor", shard, "is required: a mapping with 'template' and 'params'")
        )
    else:
        errors.extend(_template_errors(envoy, "shard_descriptor.template", shard.get("template")))
        if shard.get("params") is not None and not isinstance(shard.get("params"), Mapping):
            errors.append(
                _err(envoy, f"{field_name}.shard_descriptor.params", shard.get("params"), "must be a mapping")
            )
    return errors


def _envoy_params_errors(envoy: str, params: Mapping) -> list[str]:
    where = f"{FIELD_ENVOY_CONFIG}.params"
    errors = [
        f"{envoy}: {where} key {key!r} is unknown; OpenFL's Envoy takes " + ", ".join(sorted(ENVOY_PARAMS_KEYS))
        for key in params
        if key not in ENVOY_PARAMS_KEYS
    ]
    if params.get("review_experiment") is True:
        errors.append(
            _err(
                envoy,
                f"{where}.review_experiment",
                True,
                "must not be true in a pod: the approval prompt needs a terminal and would block every experiment",
            )
        )
    for key in ("review_experiment", "install_requirements"):
        if key in params and not isinstance(params[key], bool):
            errors.append(_err(envoy, f"{where}.{key}", params[key], "must be true or false"))
    devices = params.get("cuda_devices")
    if devices is not None and (
        not isinstance(devices, list)
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in devices)
    ):
        errors.append(_err(envoy, f"{where}.cuda_devices", devices, "must be a list of GPU indices (integers >= 0)"))
    return errors


def shard_template(config: object) -> str | None:
    """``shard_descriptor.template`` of an envoy config, or None when absent or malformed."""
    if isinstance(config, Mapping) and isinstance(config.get("shard_descriptor"), Mapping):
        template = config["shard_descriptor"].get("template")
        if isinstance(template, str) and template:
            return template
    return None


# --- python dir (ConfigMap envoy-python-configs) -------------------------------------------------


@dataclass
class PythonDir:
    """The python dir as the ConfigMap will hold it, plus every rule it breaks."""

    data: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # every regular file, readable or not

    @property
    def total_bytes(self) -> int:
        return sum(len(k.encode()) + len(v.encode()) for k, v in self.data.items())


def read_python_dir(envoy: str, path: object) -> PythonDir:
    """Read the envoy's python dir into ConfigMap data (file name -> text), checking every file.

    Rules: the directory exists; it holds only regular files (``kubectl create
    configmap --from-file=dir/`` silently skips subdirectories, so we refuse
    them); every name is a ConfigMap key; every file is UTF-8 text without NUL
    bytes (the ConfigMap's ``data`` holds text); names plus contents fit in 1 MiB.
    """
    result = PythonDir()
    if not isinstance(path, str) or not path:
        result.errors.append(_err(envoy, FIELD_PYTHON_DIR, path, "must be the path of a directory"))
        return result
    if not os.path.exists(path):
        result.errors.append(_err(envoy, FIELD_PYTHON_DIR, path, "does not exist"))
        return result
    if not os.path.isdir(path):
        result.errors.append(_err(envoy, FIELD_PYTHON_DIR, path, "is not a directory"))
        return result
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        result.errors.append(_err(envoy, FIELD_PYTHON_DIR, path, f"cannot be listed: {exc.strerror}"))
        return result
    if not names:
        result.errors.append(_err(envoy, FIELD_PYTHON_DIR, path, "is empty; it must hold the shard descriptor module"))
    for name in names:
        full = os.path.join(path, name)
        try:
            mode = os.stat(full).st_mode
        except OSError as exc:
            result.errors.append(_file_err(envoy, name, f"cannot be read: {exc.strerror}"))
            continue
        if stat.S_ISDIR(mode):
            result.errors.append(
                _file_err(
                    envoy,
                    name,
                    "is a subdirectory; the ConfigMap is flat (kubectl --from-file would silently skip it), "
                    "so move its files up or remove it",
                )
            )
            continue
        if not stat.S_ISREG(mode):
            result.errors.append(_file_err(envoy, name, "is not a regular file"))
            continue
        result.names.append(name)
        key_errors = configmap_key_errors(envoy, name)
        result.errors.extend(key_errors)
        try:
            with open(full, "rb") as handle:
                raw = handle.read(CONFIGMAP_MAX_BYTES + 1)
        except OSError as exc:
            result.errors.append(_file_err(envoy, name, f"cannot be read: {exc.strerror}"))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or "\x00" in text:
            result.errors.append(
                _file_err(envoy, name, "is not UTF-8 text (binary files cannot go into the ConfigMap's data)")
            )
            continue
        if not key_errors:
            result.data[name] = text
    total = sum(len(n.encode()) + os.path.getsize(os.path.join(path, n)) for n in result.names)
    if total > CONFIGMAP_MAX_BYTES:
        result.errors.append(
            _err(
                envoy,
                FIELD_PYTHON_DIR,
                path,
                f"holds {total} bytes (file names plus contents), over the ConfigMap limit of "
                f"{CONFIGMAP_MAX_BYTES} bytes (1 MiB); keep data sets out of it",
            )
        )
    return result


def _top_level_names(source: str) -> set[str] | None:
    """Names a module binds at top level, or None if that cannot be known (syntax error, star import)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.If, ast.Try)):
            return None  # conditional definitions: do not guess
    return names


def shard_descriptor_errors(
    envoy: str, template: str, files: Mapping[str, str], names: Iterable[str] | None = None
) -> list[str]:
    """``shard_descriptor.template`` ``module.Class``: ``module.py`` is a python dir file defining ``Class``.

    ``files`` maps readable file names to text; ``names`` lists every file present
    (default: the keys of ``files``), so an unreadable module is not reported missing.
    """
    present = set(files if names is None else names)
    field_name = f"{FIELD_ENVOY_CONFIG}.shard_descriptor.template"
    parts = template.split(".")
    if len(parts) != 2:
        return [
            _err(
                envoy,
                field_name,
                template,
                f"names module {'.'.join(parts[:-1])!r}, which cannot be a file of the flat python dir; "
                "use 'module.Class' with module.py in openfl_envoy_python_dir",
            )
        ]
    module, cls = parts
    filename = module + PYTHON_SUFFIX
    if filename not in present:
        return [
            _err(
                envoy,
                field_name,
                template,
                f"needs {filename!r} in {FIELD_PYTHON_DIR}, which holds " + (", ".join(sorted(present)) or "no files"),
            )
        ]
    if filename not in files:
        return []  # present but unreadable: that error is already reported
    try:
        compile(files[filename], filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return [_file_err(envoy, filename, f"is not valid Python: {exc.msg} (line {exc.lineno})")]
    names = _top_level_names(files[filename])
    if names is not None and cls not in names:
        return [_err(envoy, field_name, template, f"names class {cls!r}, which {filename!r} does not define")]
    return []


# --- the whole input set -------------------------------------------------------------------------


@dataclass
class EnvoyInput:
    """Everything one envoy needs, as the inventory gives it. None means "not given, not checked"."""

    name: object
    namespace: object = None
    python_dir: object = None
    envoy_config: object = None
    director_fqdn: object = None
    director_ip: object = None
    director_port: object = None
    director_agg_port: object = None
    registry: object = None
    image: object = None
    image_tag: object = None
    cert_cn: str | None = None


@dataclass
class Report:
    """All errors for one envoy, and the ConfigMap data of its python dir (empty unless read)."""

    errors: list[str] = field(default_factory=list)
    configmap_data: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_envoy(spec: EnvoyInput) -> Report:
    """Check every given input of one envoy and return every error at once."""
    envoy = str(spec.name)
    report = Report()
    errors = report.errors
    errors.extend(envoy_name_errors(spec.name, spec.cert_cn))
    if spec.namespace is not None:
        errors.extend(namespace_errors(envoy, spec.namespace))
    if spec.director_fqdn is not None:
        errors.extend(director_fqdn_errors(envoy, spec.director_fqdn))
    if spec.director_ip is not None:
        errors.extend(ip_address_errors(envoy, spec.director_ip))
    if spec.director_port is not None:
        errors.extend(port_errors(envoy, FIELD_DIRECTOR_PORT, spec.director_port))
    if spec.director_agg_port is not None:
        errors.extend(port_errors(envoy, FIELD_DIRECTOR_AGG_PORT, spec.director_agg_port))
    if (
        spec.director_port is not None
        and spec.director_agg_port is not None
        and str(spec.director_port) == str(spec.director_agg_port)
    ):
        errors.append(
            _err(
                envoy, FIELD_DIRECTOR_AGG_PORT, spec.director_agg_port, "equals openfl_director_port; they must differ"
            )
        )
    if spec.registry is not None or spec.image is not None or spec.image_tag is not None:
        errors.extend(image_errors(envoy, spec.registry, spec.image, spec.image_tag))
    if spec.envoy_config is not None:
        errors.extend(envoy_config_errors(envoy, spec.envoy_config))
    if spec.python_dir is not None:
        pydir = read_python_dir(envoy, spec.python_dir)
        errors.extend(pydir.errors)
        template = shard_template(spec.envoy_config)
        dir_usable = os.path.isdir(str(spec.python_dir))
        if template is not None and dir_usable and not _template_errors(envoy, "", template):
            errors.extend(shard_descriptor_errors(envoy, template, pydir.data, pydir.names))
        if not errors:
            report.configmap_data = pydir.data
    return report
