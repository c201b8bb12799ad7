"""What an emulated OpenFL `fx envoy start` (1.5, 1.6 or 1.7) prints, decided from the files the pod mounts.

Part of the sandbox test double: no gRPC happens. The director's checks are replayed instead: the
envoy certificate must chain to the mounted root CA, match the private key, be valid now, allow
client auth, and (as the aggregator later demands) carry CN == shard name; the shard's shapes must
equal the sandbox director's (files/director/director_config.yaml), or the director rejects it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ReadFile = Callable[[str], bytes | None]
FQDN_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
FLAGS = {
    "-n": "shard_name", "--shard-name": "shard_name",
    "-dh": "director_host", "--director-host": "director_host",
    "-dp": "director_port", "--director-port": "director_port",
    "-ec": "config", "--envoy-config-path": "config",
    "-rc": "root", "--root-cert-path": "root",
    "-pk": "key", "--private-key-path": "key",
    "-oc": "cert", "--public-cert-path": "cert",
}  # fmt: skip
PATH_FLAGS = {"config": "'-ec' / '--envoy-config-path'", "root": "'-rc' / '--root-cert-path'",
              "key": "'-pk' / '--private-key-path'", "cert": "'-oc' / '--public-cert-path'"}  # fmt: skip


# The lines each imitated release writes, (message, source file:line), as read in its wheel:
# openfl/interface/envoy.py (start), openfl/transport/grpc/director_client.py (report, wait) and
# openfl/component/envoy/envoy.py (accepted, rejected, failed: Envoy.start()).
OPENFL_LINES = {
    "1.5": {
        "start": ("🧿 Starting the Envoy.", "envoy.py:55"),
        "report": ("Send report UpdateShardInfo", "director_client.py:63"),
        "accepted": ("Shard accepted", "envoy.py:207"),
        "rejected": ("Report shard info was not accepted", "envoy.py:212"),
        "failed": ("Failed to report shard info: {}", "envoy.py:202"),
        "wait": ("Send WaitExperiment request", "director_client.py:83"),
    },
    "1.6": {
        "start": ("🧿 Starting the Envoy.", "envoy.py:113"),
        "report": ("Sending {} shard info to director", "director_client.py:104"),
        "accepted": ("Shard was accepted by director", "envoy.py:278"),
        "rejected": ("Report shard info was not accepted", "envoy.py:284"),
        "failed": ("Failed to report shard info: {}", "envoy.py:274"),
        "wait": ("Waiting for an experiment to run...", "director_client.py:128"),
    },
}
OPENFL_LINES["1.7"] = {**OPENFL_LINES["1.6"], "start": ("🧿 Starting the Envoy.", "envoy.py:114")}
OPENFL_VERSIONS = tuple(OPENFL_LINES)
DIRECTOR_CONFIG = Path(__file__).resolve().parents[2] / "files" / "director" / "director_config.yaml"


class EnvoyExit(Exception):
    """The emulated process stops with this log line."""


class ReportFailed(Exception):
    """The shard report failed (the gRPC error or the check, as the version's `failed` line shows it)."""


@dataclass
class Outcome:
    ok: bool
    lines: list[str] = field(default_factory=list)


def is_envoy(container: dict) -> bool:
    return "fx envoy start" in " ".join((container.get("command") or []) + (container.get("args") or []))


def _stamp(level: str, message: str, source: str) -> str:
    return f"[{datetime.now(UTC):%m/%d/%y %H:%M:%S}] {level:<8} {message}    {source}"


def _expand(text: str, env: dict[str, str]) -> str:
    text = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), text)
    return re.sub(
        r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)",
        lambda m: env.get(m.group(1) or m.group(2), ""),
        text,
    )


def parse_flags(container: dict, env: dict[str, str]) -> dict[str, str]:
    script = " ".join((container.get("command") or []) + (container.get("args") or []))
    tail = script.split("fx envoy start", 1)[1].replace("\\\n", " ")
    tail = re.split(r"[;\n&|]", tail, maxsplit=1)[0]
    words = [_expand(w, env) for w in shlex.split(tail)]
    flags = {"config": "envoy_config.yaml", "tls": "true"}
    for index, word in enumerate(words):
        if word in FLAGS and index + 1 < len(words):
            flags[FLAGS[word]] = words[index + 1]
        elif word == "--disable-tls":
            flags["tls"] = ""
    return flags


def run(container: dict, env: dict[str, str], read: ReadFile, version: str = "1.5") -> Outcome:
    """Emulate one start of the envoy container as OpenFL `version` would; `read(path)` gives a mounted
    file (relative to workingDir)."""
    lines = OPENFL_LINES[version]
    outcome = Outcome(ok=False, lines=_pip(container, read))
    try:
        flags = parse_flags(container, env)
        _check_cli(flags, read)
        outcome.lines.append(_line("INFO", lines["start"]))
        config = _check_config(read(flags["config"]) or b"", read)
        outcome.lines.append(_line("INFO", lines["report"], flags["shard_name"]))
        if flags["tls"]:
            _check_tls(flags, read)
        _check_shapes(config, lines["rejected"])
    except EnvoyExit as exit_line:
        outcome.lines.extend(str(exit_line).splitlines())
        return outcome
    except ReportFailed as failure:
        outcome.lines.append(_line("ERROR", lines["failed"], str(failure)))
        return outcome
    outcome.ok = True
    outcome.lines += [_line("INFO", lines["accepted"]), _line("INFO", lines["wait"])]
    return outcome


def _line(level: str, line: tuple[str, str], *values: str) -> str:
    message, source = line
    return _stamp(level, message.format(*values), source)


def _check_shapes(config: dict, rejected: tuple[str, str]) -> None:
    """The director accepts a shard only with its own sample and target shapes (director.py
    acknowledge_shard); shapes the envoy config does not set are taken as the director's."""
    params = (config.get("shard_descriptor") or {}).get("params") or {}
    settings = (yaml.safe_load(DIRECTOR_CONFIG.read_text()) or {}).get("settings") or {}
    for key in ("sample_shape", "target_shape"):
        if key in params and [str(v) for v in params[key] or []] != [str(v) for v in settings.get(key) or []]:
            raise EnvoyExit(_line("ERROR", rejected))


def _pip(container: dict, read: ReadFile) -> list[str]:
    script = " ".join((container.get("command") or []) + (container.get("args") or []))
    if "pip install" not in script:
        return []
    requirements = read("python/requirements.txt")
    if requirements is None:
        guarded = "-f python/requirements.txt" in script
        return (
            []
            if guarded
            else [
                "ERROR: Could not open requirements file: [Errno 2] No such file or directory: "
                "'python/requirements.txt'"
            ]
        )
    lines = [line.strip() for line in requirements.decode(errors="replace").splitlines()]
    return [f"Requirement already satisfied: {line}" for line in lines if line and not line.startswith("#")]


def _usage_error(message: str) -> EnvoyExit:
    return EnvoyExit(f"Usage: fx envoy start [OPTIONS]\nTry 'fx envoy start --help' for help.\n\nError: {message}")


def _check_cli(flags: dict[str, str], read: ReadFile) -> None:
    for name, option in (("shard_name", "'-n' / '--shard-name'"), ("director_host", "'-dh' / '--director-host'"),
                         ("director_port", "'-dp' / '--director-port'")):  # fmt: skip
        if not flags.get(name):
            raise _usage_error(f"Missing option {option}.")
    host = flags["director_host"]
    if not 2 <= len(host) <= 252 or not all(FQDN_LABEL.match(label) for label in host.split(".")):
        raise _usage_error(f"Invalid value for '-dh' / '--director-host': {host!r} is not a valid FQDN.")
    if not flags["director_port"].isdigit() or not 1 <= int(flags["director_port"]) <= 65535:
        raise _usage_error(
            f"Invalid value for '-dp' / '--director-port': {flags['director_port']!r} is not in the range 1<=x<=65535."
        )
    for key, option in PATH_FLAGS.items():
        if key in flags and read(flags[key]) is None:
            raise _usage_error(f"Invalid value for {option}: Path {flags[key]!r} does not exist.")


def _check_config(raw: bytes, read: ReadFile) -> dict:
    try:
        config = yaml.safe_load(raw) or {}
    except yaml.YAMLError as error:
        raise EnvoyExit(f"yaml.scanner.ScannerError: {error}") from None
    template = ((config.get("shard_descriptor") or {}) if isinstance(config, dict) else {}).get("template")
    if not template:
        raise EnvoyExit("dynaconf.validator.ValidationError: shard_descriptor.template is required in env main")
    module, _, class_name = template.rpartition(".")
    if module.startswith("openfl."):
        return config
    source = read(f"python/{module.replace('.', '/')}.py") or read(f"{module.replace('.', '/')}.py")
    if source is None:
        raise EnvoyExit(f"ModuleNotFoundError: No module named '{module}'")
    if not re.search(rf"^class {re.escape(class_name)}\b", source.decode(errors="replace"), re.M):
        raise EnvoyExit(f"AttributeError: module '{module}' has no attribute '{class_name}'")
    return config


def _rpc_failure(detail: str) -> ReportFailed:
    return ReportFailed(
        "<_InactiveRpcError of RPC that terminated with: status = StatusCode.UNAVAILABLE details = "
        f'"failed to connect to all addresses; last error: UNKNOWN: Ssl handshake failed: SSL_ERROR_SSL: {detail}">'
    )


def _load_certificates(raw: bytes, what: str) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(raw)
    except ValueError:
        certificates = []
    if not certificates:
        raise _rpc_failure(f"error:0480006C:PEM routines::no start line (certificate {what} could not be loaded)")
    return certificates


def _check_tls(flags: dict[str, str], read: ReadFile) -> None:
    roots = _load_certificates(read(flags["root"]) or b"", "root_ca.crt")
    chain = _load_certificates(read(flags["cert"]) or b"", "envoy.crt")
    leaf = chain[0]
    try:
        key = serialization.load_pem_private_key(read(flags["key"]) or b"", password=None)
    except (ValueError, TypeError):
        raise _rpc_failure("error:1E08010C:DECODER routines::unsupported (private key could not be loaded)") from None
    if key.public_key().public_bytes(*_SPKI) != leaf.public_key().public_bytes(*_SPKI):
        raise _rpc_failure("error:05800074:x509 certificate routines::key values mismatch")
    _verify_chain(chain, roots)
    names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else ""
    if common_name != flags["shard_name"]:
        raise ReportFailed(f"certificate CN '{common_name}' does not match shard name '{flags['shard_name']}'")


_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _verify_chain(chain: list[x509.Certificate], roots: list[x509.Certificate]) -> None:
    moment = datetime.now(UTC)
    for certificate in chain + roots:
        if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
            raise _rpc_failure("error:0A000086:SSL routines::certificate verify failed: certificate has expired")
    try:
        usage = chain[0].extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CLIENT_AUTH not in usage:
            raise _rpc_failure(
                "error:0A000086:SSL routines::certificate verify failed: unsupported certificate purpose"
            )
    except x509.ExtensionNotFound:
        pass
    current, pool = chain[0], chain[1:] + roots
    for _ in range(len(pool) + 1):
        if any(current == root for root in roots):
            return
        issuer = next((c for c in pool if c.subject == current.issuer and _signed_by(current, c)), None)
        if issuer is None:
            break
        if issuer in roots:
            return
        current = issuer
    raise _rpc_failure("error:0A000086:SSL routines::certificate verify failed: unable to get local issuer certificate")


def _signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    if not constraints.ca:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
