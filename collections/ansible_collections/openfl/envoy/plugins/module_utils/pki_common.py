# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the CA and the leaf certificate backends share: keys, files, facts, names, dates.

The certificate logic of the collection is split by concern:

* ``pki_common`` (this file): key specs, reading/parsing/serialising keys and certificates,
  atomic writes with modes, facts for results and diffs, SAN parsing, dates, the cryptography
  import guard, and the key options' argument spec;
* ``pki_ca``: the root CA backend (``x509_ca``) and the CA that signs leaves (``SigningCA``);
* ``pki_certificate``: the leaf certificate backend (``x509_certificate``) and the leaf profiles.

The modules ``x509_ca`` and ``x509_certificate`` are thin: they build a backend
from their parameters and call, in this order (the community.crypto pattern)::

    backend.set_existing()         # read what is on disk (cheap; no key generation)
    backend.needs_regeneration()   # decide, with reasons; runs in check mode too
    backend.generate()             # build new key/certificate in memory (real runs only)
    backend.write()                # atomic writes (temp file in the same dir + os.replace)
    backend.dump()                 # parsed facts for the result and the diff; never key material

Errors the operator must act on raise ``PKIError`` with a message that names the
file, the rule and the way out. Nothing here ever returns a private key or a passphrase.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import secrets
import stat
import tempfile
import traceback
from collections.abc import Callable
from typing import Any

CRYPTOGRAPHY_IMPORT_ERROR: str | None
try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # pragma: no cover - exercised by ansible-test import sanity
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
    # pki_ca and pki_certificate import x509 and ExtendedKeyUsageOID from here, so that the modules still
    # load without cryptography and require_cryptography() can fail them with missing_required_lib.
    x509 = ExtendedKeyUsageOID = None
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

KEY_MODE = 0o600
CERT_MODE = 0o644
DIR_MODE = 0o700

KEY_TYPES = ("rsa", "ec")
RSA_KEY_SIZES = (2048, 3072, 4096)
CURVES = ("secp256r1", "secp384r1")

# Backdate notBefore a little so that peers with a slightly late clock accept a fresh certificate.
BACKDATE = datetime.timedelta(minutes=5)
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class PKIError(Exception):
    """A condition the operator must fix; the message names the file, the rule and the way out."""


def require_cryptography(module: Any) -> None:
    """Fail the Ansible module with ``missing_required_lib`` when cryptography is absent."""
    if not HAS_CRYPTOGRAPHY:
        from ansible.module_utils.basic import missing_required_lib

        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)


def pki_result(
    build: Callable[[], Any],
    check_mode: bool,
    diff: bool,
    error_prefix: str,
    path: str,
    private_dirs: list[str] | None = None,
) -> dict[str, Any]:
    """The result of x509_ca and x509_certificate: the backend's steps, as a module result (``failed``
    and ``msg`` on failure, ``warnings``).

    ``build`` makes the backend (inside the error handling, so a missing CA or a bad key option fails the module);
    every failure message starts with ``error_prefix``; ``path`` names the file of an OSError that names none;
    ``private_dirs`` are kept owner-only first (see keep_private_dirs).
    """
    narrowed: list[str] = []
    warnings: list[str] = []
    try:
        narrowed = keep_private_dirs(private_dirs or [], check_mode)
        backend = build()
        recovered = None if check_mode else recover_unit(os.path.dirname(os.path.abspath(backend.certificate_path)))
        if recovered:
            warnings.append(f"{error_prefix}{backend.certificate_path}: {recovered}")
        backend.set_existing()
        if backend.needs_regeneration() and not check_mode:
            backend.generate()
        if backend.changed and not check_mode:
            backend.write()
        result = backend.dump()
        if diff:
            result["diff"] = backend.diff()
    except (PKIError, OSError) as exc:
        where = f"{exc.filename or path}: {exc.strerror}" if isinstance(exc, OSError) else str(exc)
        failure = {"changed": False, "failed": True, "msg": f"{error_prefix}{where}"}
        return dict(failure, warnings=warnings) if warnings else failure  # what was recovered still shows
    warnings += backend.warnings
    if warnings:
        result["warnings"] = warnings
    if private_dirs is not None:
        result["private_dirs_changed"] = narrowed
    return dict(result, changed=backend.changed or bool(narrowed))


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def fmt_date(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime(DATE_FORMAT)


def to_bytes_passphrase(passphrase: str | None) -> bytes | None:
    if passphrase is None or passphrase == "":
        return None
    return passphrase.encode("utf-8")


def key_argument_spec(key_size: int) -> dict[str, Any]:
    """The key options of x509_ca and x509_certificate, as documented by the ``openfl.envoy.pki`` doc fragment.

    Only the default RSA size differs between the two modules (a CA key is larger).
    """
    return dict(
        key_type=dict(type="str", choices=list(KEY_TYPES), default="rsa"),
        key_size=dict(type="int", choices=list(RSA_KEY_SIZES), default=key_size),
        curve=dict(type="str", choices=list(CURVES), default="secp384r1"),
    )


class KeySpec:
    """The requested private key: type ``rsa`` (with a size) or ``ec`` (with a curve)."""

    def __init__(self, key_type: str = "rsa", key_size: int = 2048, curve: str = "secp384r1") -> None:
        if key_type not in KEY_TYPES:
            raise PKIError(f"key_type {key_type!r} is not one of {', '.join(KEY_TYPES)}")
        if key_type == "rsa" and key_size not in RSA_KEY_SIZES:
            raise PKIError(f"key_size {key_size} is not one of {', '.join(str(s) for s in RSA_KEY_SIZES)}")
        if key_type == "ec" and curve not in CURVES:
            raise PKIError(f"curve {curve!r} is not one of {', '.join(CURVES)}")
        self.key_type = key_type
        self.key_size = key_size
        self.curve = curve

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> KeySpec:
        """The key asked by a module's ``key_type``/``key_size``/``curve`` (see ``key_argument_spec``)."""
        return cls(params["key_type"], params["key_size"], params["curve"])

    def describe(self) -> str:
        return f"RSA {self.key_size}" if self.key_type == "rsa" else f"EC {self.curve}"

    def generate(self) -> Any:
        if self.key_type == "rsa":
            return rsa.generate_private_key(public_exponent=65537, key_size=self.key_size)
        return ec.generate_private_key(ec.SECP256R1() if self.curve == "secp256r1" else ec.SECP384R1())

    def mismatch(self, key: Any) -> str | None:
        """Why ``key`` is not what was asked, or None when it is."""
        actual = describe_key(key)
        if actual != self.describe():
            return f"key is {actual}, requested {self.describe()}"
        return None

    def hash_algorithm(self) -> Any:
        # Signature digest follows the signing key's strength (as OpenFL's own PKI does for P-384).
        return hashes.SHA384() if self.key_type == "ec" and self.curve == "secp384r1" else hashes.SHA256()


def describe_key(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return type(key).__name__


def signature_hash_for(key: Any) -> Any:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def public_key_fingerprint(key: Any) -> str:
    public = key.public_key() if hasattr(key, "private_bytes") else key
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return ":".join(f"{b:02x}" for b in digest.finalize())


def same_public_key(a: Any, b: Any) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return a.public_bytes(*fmt) == b.public_bytes(*fmt)


def random_serial() -> int:
    # 159 bits from the CSPRNG: positive, at most 20 octets, never zero (RFC 5280 4.1.2.2).
    return secrets.randbits(159) | 1


# ---------------------------------------------------------------------------------------------
# Files: read, parse, write atomically
# ---------------------------------------------------------------------------------------------


def read_file(path: str) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PKIError(f"{path}: cannot read: {exc.strerror}") from exc


def load_certificates(data: bytes, path: str) -> list[Any]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise PKIError(f"{path}: not a PEM certificate file ({exc})") from exc
    return certs


def load_private_key(data: bytes, path: str, passphrase: str | None, signs: bool = False) -> tuple[Any, bool]:
    """Parse a PEM private key; return (key, encrypted). Raise PKIError naming the cause.

    Only a key that will sign (``signs``) gets OpenSSL's RSA consistency check: it costs 26 ms for an
    RSA-2048 key and 190 ms for RSA-4096, twice per envoy and run, while every other load only reads
    the key's public half, type and size (the TLS library checks the envoy's key where it is used)."""
    skip = {"unsafe_skip_rsa_key_validation": not signs}
    try:
        return serialization.load_pem_private_key(data, password=None, **skip), False
    except TypeError:
        pass  # encrypted: needs a passphrase
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise PKIError(f"{path}: not a readable PEM private key ({exc})") from exc
    password = to_bytes_passphrase(passphrase)
    if password is None:
        raise PKIError(f"{path}: the key is encrypted and no passphrase was given")
    try:
        return serialization.load_pem_private_key(data, password=password, **skip), True
    except (TypeError, ValueError, UnsupportedAlgorithm) as exc:
        raise PKIError(f"{path}: the passphrase does not open this key (wrong passphrase or damaged key)") from exc


def serialize_key(key: Any, passphrase: str | None) -> bytes:
    password = to_bytes_passphrase(passphrase)
    encryption = (
        serialization.BestAvailableEncryption(password) if password is not None else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def cert_pem(certs: list[Any]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def ensure_dir(path: str) -> bool:
    """Create the directory (and parents) with mode 0700 when missing; True when created."""
    if os.path.isdir(path):
        return False
    parent = os.path.dirname(os.path.abspath(path))
    if parent != path:
        ensure_dir(parent)
    with contextlib.suppress(FileExistsError):  # another envoy's task made it meanwhile
        os.mkdir(path, DIR_MODE)
    return True


def keep_private_dirs(paths: list[str], check_mode: bool) -> list[str]:
    """Each directory exists with no group or other access: created 0700 when missing, narrowed when
    wider (a umask or a copy can widen it); the ones that changed (or would, in check mode)."""
    changed = []
    for path in paths:
        if not os.path.isdir(path):
            changed.append(path)
            if not check_mode:
                ensure_dir(path)
        elif os.stat(path).st_mode & 0o077:
            changed.append(path)
            if not check_mode:
                os.chmod(path, DIR_MODE)
    return changed


def write_atomic(path: str, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory and ``os.replace``."""
    directory = os.path.dirname(os.path.abspath(path))
    ensure_dir(directory)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


PENDING = ".pending"
UNIT_MANIFEST = ".pending-unit"


def write_unit(files: list[tuple[str, bytes, int]]) -> None:
    """Write files that belong together (a key and its certificate) so that a crash never leaves
    one without the other: each is staged as ``<path>.pending``, then a manifest listing them is
    written, then they are renamed into place and the manifest removed. ``recover_unit`` finishes
    (or discards) an interrupted unit before anything reads the files."""
    if len(files) < 2:
        for path, data, mode in files:
            write_atomic(path, data, mode)
        return
    for path, data, mode in files:
        write_atomic(path + PENDING, data, mode)
    manifest = os.path.join(os.path.dirname(os.path.abspath(files[0][0])), UNIT_MANIFEST)
    write_atomic(manifest, "\n".join(path for path, _data, _mode in files).encode(), 0o600)
    for path, _data, _mode in files:
        os.replace(path + PENDING, path)
    os.unlink(manifest)


def recover_unit(directory: str) -> str | None:
    """Finish a unit whose renames a crash interrupted (its manifest exists: every file was staged),
    or drop staged files without a manifest (the old files are still whole). Returns what it did."""
    manifest = os.path.join(directory, UNIT_MANIFEST)
    data = read_file(manifest)
    if data is not None:
        for path in data.decode().splitlines():
            if os.path.exists(path + PENDING):
                os.replace(path + PENDING, path)
        os.unlink(manifest)
        return "completed an interrupted write"
    staged = [name for name in os.listdir(directory) if name.endswith(PENDING)] if os.path.isdir(directory) else []
    for name in staged:
        os.unlink(os.path.join(directory, name))
    return "dropped an unfinished write" if staged else None


def file_mode(path: str) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


# ---------------------------------------------------------------------------------------------
# Facts (what results and diffs carry)
# ---------------------------------------------------------------------------------------------


def get_extension(cert: Any, ext_class: Any) -> Any:
    """The extension of ``ext_class`` in ``cert``, or None."""
    try:
        return cert.extensions.get_extension_for_class(ext_class)
    except x509.ExtensionNotFound:
        return None


def common_name(cert: Any) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def san_strings(cert: Any) -> list[str]:
    ext = get_extension(cert, x509.SubjectAlternativeName)
    if ext is None:
        return []
    out = [f"DNS:{v}" for v in ext.value.get_values_for_type(x509.DNSName)]
    out += [f"IP:{v}" for v in ext.value.get_values_for_type(x509.IPAddress)]
    return out


def eku_names(cert: Any) -> list[str]:
    ext = get_extension(cert, x509.ExtendedKeyUsage)
    if ext is None:
        return []
    names = {ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth", ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth"}
    return sorted(names.get(oid, oid.dotted_string) for oid in ext.value)


def key_usage_names(cert: Any) -> list[str]:
    ext = get_extension(cert, x509.KeyUsage)
    if ext is None:
        return []
    ku = ext.value
    out = []
    for name in ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment"):
        if getattr(ku, name):
            out.append(name)
    if ku.key_agreement:
        out.append("key_agreement")
    if ku.key_cert_sign:
        out.append("key_cert_sign")
    if ku.crl_sign:
        out.append("crl_sign")
    return out


def basic_constraints(cert: Any) -> dict[str, Any] | None:
    ext = get_extension(cert, x509.BasicConstraints)
    if ext is None:
        return None
    return {"ca": ext.value.ca, "path_length": ext.value.path_length, "critical": ext.critical}


def issued_by(cert: Any, issuer: Any) -> bool:
    """Whether ``issuer`` (a certificate) signed ``cert``: names chain and the signature verifies."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def is_self_signed(cert: Any) -> bool:
    return issued_by(cert, cert)


def sha256_fingerprint(cert: Any) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":")


def cert_facts(cert: Any) -> dict[str, Any]:
    """Parsed, public facts about a certificate (for results and diffs)."""
    return {
        "subject": cert.subject.rfc4514_string(),
        "common_name": common_name(cert),
        "subject_alt_names": san_strings(cert),
        "issuer": cert.issuer.rfc4514_string(),
        "serial_number": f"{cert.serial_number:x}",
        "not_before": fmt_date(cert.not_valid_before_utc),
        "not_after": fmt_date(cert.not_valid_after_utc),
        "fingerprint_sha256": sha256_fingerprint(cert),
        "public_key": describe_key(cert.public_key()),
        "basic_constraints": basic_constraints(cert),
        "key_usage": key_usage_names(cert),
        "extended_key_usage": eku_names(cert),
    }


def key_facts(key: Any, encrypted: bool) -> dict[str, Any]:
    return {
        "type": describe_key(key),
        "public_key_fingerprint_sha256": public_key_fingerprint(key),
        "encrypted": encrypted,
    }


def days_left(cert: Any, now: datetime.datetime) -> float:
    return (cert.not_valid_after_utc - now).total_seconds() / 86400.0


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


def parse_san(value: str) -> Any:
    """``DNS:name``, ``IP:addr`` or a bare name/address (an address becomes an IP SAN)."""
    import ipaddress

    text = value.strip()
    kind, _sep, rest = text.partition(":")
    if kind.upper() == "DNS" and rest:
        return x509.DNSName(rest)
    if kind.upper() == "IP" and rest:
        try:
            return x509.IPAddress(ipaddress.ip_address(rest))
        except ValueError as exc:
            raise PKIError(f"subject_alt_names: {value!r} is not an IP address") from exc
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not text or " " in text or ":" in text:
        raise PKIError(f"subject_alt_names: {value!r} is neither DNS:<name>, IP:<address> nor a plain name")
    return x509.DNSName(text)


def san_to_string(general_name: Any) -> str:
    if isinstance(general_name, x509.DNSName):
        return f"DNS:{general_name.value}"
    return f"IP:{general_name.value}"


def name_attributes(common: str, organization: str | None = None) -> Any:
    attrs = []
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common))
    return x509.Name(attrs)
