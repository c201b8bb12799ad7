# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""All certificate logic of the collection: one backend for the root CA and for leaf certificates.

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
import fcntl
import os
import secrets
import stat
import tempfile
import traceback
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
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

KEY_MODE = 0o600
CERT_MODE = 0o644
DIR_MODE = 0o700

KEY_TYPES = ("rsa", "ec")
RSA_KEY_SIZES = (2048, 3072, 4096)
CURVES = ("secp256r1", "secp384r1")
PROFILES = ("client", "server")
CA_MODES = ("create", "existing")

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


def load_private_key(data: bytes, path: str, passphrase: str | None) -> tuple[Any, bool]:
    """Parse a PEM private key; return (key, encrypted). Raise PKIError naming the cause."""
    try:
        return serialization.load_pem_private_key(data, password=None), False
    except TypeError:
        pass  # encrypted: needs a passphrase
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise PKIError(f"{path}: not a readable PEM private key ({exc})") from exc
    password = to_bytes_passphrase(passphrase)
    if password is None:
        raise PKIError(f"{path}: the key is encrypted and no passphrase was given")
    try:
        return serialization.load_pem_private_key(data, password=password), True
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


def file_mode(path: str) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


# ---------------------------------------------------------------------------------------------
# Facts (what results and diffs carry)
# ---------------------------------------------------------------------------------------------


def _ext(cert: Any, ext_class: Any) -> Any:
    try:
        return cert.extensions.get_extension_for_class(ext_class)
    except x509.ExtensionNotFound:
        return None


def common_name(cert: Any) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def san_strings(cert: Any) -> list[str]:
    ext = _ext(cert, x509.SubjectAlternativeName)
    if ext is None:
        return []
    out = [f"DNS:{v}" for v in ext.value.get_values_for_type(x509.DNSName)]
    out += [f"IP:{v}" for v in ext.value.get_values_for_type(x509.IPAddress)]
    return out


def eku_names(cert: Any) -> list[str]:
    ext = _ext(cert, x509.ExtendedKeyUsage)
    if ext is None:
        return []
    names = {ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth", ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth"}
    return sorted(names.get(oid, oid.dotted_string) for oid in ext.value)


def key_usage_names(cert: Any) -> list[str]:
    ext = _ext(cert, x509.KeyUsage)
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
    ext = _ext(cert, x509.BasicConstraints)
    if ext is None:
        return None
    return {"ca": ext.value.ca, "path_length": ext.value.path_length, "critical": ext.critical}


def is_self_signed(cert: Any) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


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
        "fingerprint_sha256": cert.fingerprint(hashes.SHA256()).hex(":"),
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
# Certificate profiles
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


def leaf_extensions(profile: str) -> tuple[Any, Any, Any]:
    """(BasicConstraints, KeyUsage, ExtendedKeyUsage) of a leaf for ``profile``."""
    basic = x509.BasicConstraints(ca=False, path_length=None)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    if profile == "client":
        # Envoys: the director's gRPC server requires client auth; serverAuth as step-ca issues it.
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH])
    else:
        # Director: a server; clientAuth too, since the director also dials out in OpenFL's flows.
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    return basic, usage, eku


def profile_mismatch(cert: Any, profile: str) -> str | None:
    """Why ``cert`` does not carry the leaf ``profile``, or None."""
    _basic, usage, eku = leaf_extensions(profile)
    bc = _ext(cert, x509.BasicConstraints)
    if bc is None or bc.value.ca:
        return "basicConstraints is not CA:false"
    ku = _ext(cert, x509.KeyUsage)
    if ku is None or ku.value != usage:
        return "keyUsage differs from digitalSignature+keyEncipherment"
    ext = _ext(cert, x509.ExtendedKeyUsage)
    if ext is None or set(ext.value) != set(eku):
        return "extendedKeyUsage differs from clientAuth+serverAuth"
    if _ext(cert, x509.SubjectKeyIdentifier) is None or _ext(cert, x509.AuthorityKeyIdentifier) is None:
        return "subject/authority key identifiers missing"
    return None


def name_attributes(common: str, organization: str | None = None) -> Any:
    attrs = []
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common))
    return x509.Name(attrs)


# ---------------------------------------------------------------------------------------------
# The root CA backend
# ---------------------------------------------------------------------------------------------


class CABackend:
    """Create-or-verify a root CA (key encrypted with a passphrase + self-signed certificate).

    Idempotence contract: an existing CA is never regenerated. Missing both files in mode
    ``create`` creates it; any other incomplete, unreadable, mismatched, expired or non-CA state
    is a PKIError with the way out.
    """

    def __init__(
        self,
        certificate_path: str,
        private_key_path: str,
        passphrase: str | None,
        common_name: str = "OpenFL Federation Root CA",
        organization_name: str | None = None,
        key_spec: KeySpec | None = None,
        valid_days: int = 7300,
        path_length: int | None = 0,
        allow_unencrypted_key: bool = False,
        mode: str = "create",
        min_remaining_days: int = 0,
        now: datetime.datetime | None = None,
    ) -> None:
        if mode not in CA_MODES:
            raise PKIError(f"mode {mode!r} is not one of {', '.join(CA_MODES)}")
        if valid_days < 1:
            raise PKIError("valid_days must be at least 1")
        self.certificate_path = certificate_path
        self.private_key_path = private_key_path
        self.passphrase = passphrase or None
        self.common_name = common_name
        self.organization_name = organization_name or None
        self.key_spec = key_spec or KeySpec("rsa", 4096)
        self.valid_days = valid_days
        self.path_length = path_length
        self.allow_unencrypted_key = allow_unencrypted_key
        self.mode = mode
        self.min_remaining_days = min_remaining_days
        self.now = now or utcnow()
        self.existing_cert: Any = None
        self.existing_key: Any = None
        self.existing_key_encrypted = False
        self.new_cert: Any = None
        self.new_key: Any = None
        self.warnings: list[str] = []
        self.reason = "unchanged"
        self.mode_fixes: list[str] = []

    # -- state ----------------------------------------------------------------------------
    def set_existing(self) -> None:
        cert_data = read_file(self.certificate_path)
        key_data = read_file(self.private_key_path)
        if cert_data is None and key_data is None:
            return
        if cert_data is None or key_data is None:
            have, missing = (
                (self.private_key_path, self.certificate_path)
                if cert_data is None
                else (self.certificate_path, self.private_key_path)
            )
            raise PKIError(
                f"incomplete CA: {have} exists but {missing} does not. Refusing to create a new CA over "
                f"an existing half. Restore {missing} from backup, or move {have} away to create a new CA "
                "(then every envoy and the director need new certificates)."
            )
        certs = load_certificates(cert_data, self.certificate_path)
        self.existing_cert = certs[0]
        self.existing_key, self.existing_key_encrypted = load_private_key(
            key_data, self.private_key_path, self.passphrase
        )
        self._verify_existing()

    def _verify_existing(self) -> None:
        cert, key = self.existing_cert, self.existing_key
        if not same_public_key(cert.public_key(), key.public_key()):
            raise PKIError(
                f"{self.private_key_path} does not match {self.certificate_path} (different public keys). "
                "Put the CA's own key next to its certificate."
            )
        bc = basic_constraints(cert)
        if not bc or not bc["ca"]:
            raise PKIError(f"{self.certificate_path} is not a CA certificate (basicConstraints CA:true missing)")
        ku = _ext(cert, x509.KeyUsage)
        if ku is not None and not ku.value.key_cert_sign:
            raise PKIError(f"{self.certificate_path}: keyUsage lacks keyCertSign; it cannot sign certificates")
        if not self.existing_key_encrypted:
            msg = f"{self.private_key_path}: the CA key is not encrypted with a passphrase"
            if self.allow_unencrypted_key:
                self.warnings.append(msg)
            else:
                self.warnings.append(
                    msg + "; encrypt it (openssl pkcs8 -topk8 -v2 aes-256-cbc) and vault the passphrase"
                )
        check_ca_validity(cert, self.certificate_path, self.now, self.min_remaining_days)
        if common_name(cert) != self.common_name and self.mode == "create":
            self.warnings.append(
                f"existing CA has CN {common_name(cert)!r}, not the requested {self.common_name!r}; kept as is "
                "(an existing CA is never regenerated)"
            )
        if self.mode == "create" and self.key_spec.mismatch(key):
            self.warnings.append(
                f"existing CA {self.key_spec.mismatch(key)}; kept as is (an existing CA is never regenerated)"
            )
        key_mode = file_mode(self.private_key_path)
        if key_mode is not None and key_mode & 0o077:
            # Group/other access to the CA key is fixed; an owner-only 0400 (as the manual procedure sets) is kept.
            self.mode_fixes.append(self.private_key_path)

    def needs_regeneration(self) -> bool:
        if self.existing_cert is None:
            if self.mode == "existing":
                raise PKIError(
                    f"mode=existing (bring your own CA) but neither {self.certificate_path} nor "
                    f"{self.private_key_path} exists. Copy the director's root CA certificate and key there, "
                    "or use mode=create."
                )
            if self.passphrase is None and not self.allow_unencrypted_key:
                raise PKIError(
                    "refusing to create a CA key without a passphrase: set the (vaulted) CA passphrase, "
                    "or allow_unencrypted_key=true for a throw-away CA"
                )
            self.reason = "created"
            return True
        if self.mode_fixes:
            self.reason = "file mode fixed"
        return False

    @property
    def changed(self) -> bool:
        return self.existing_cert is None or bool(self.mode_fixes)

    # -- actions --------------------------------------------------------------------------
    def generate(self) -> None:
        key = self.key_spec.generate()
        subject = name_attributes(self.common_name, self.organization_name)
        not_before = self.now - BACKDATE
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(random_serial())
            .not_valid_before(not_before)
            .not_valid_after(self.now + datetime.timedelta(days=self.valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=self.path_length), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        )
        self.new_key = key
        self.new_cert = builder.sign(key, self.key_spec.hash_algorithm())

    def write(self) -> None:
        if self.new_cert is not None:
            self._write_new_ca()
            return
        for path in self.mode_fixes:
            os.chmod(path, KEY_MODE)

    def _write_new_ca(self) -> None:
        """Write a new CA under an exclusive lock, and only if no other run created one meanwhile.

        Two playbook runs creating the CA at once would otherwise leave one run's key next to the
        other's certificate.
        """
        directory = os.path.dirname(os.path.abspath(self.private_key_path))
        ensure_dir(directory)
        lock_path = os.path.join(directory, ".ca.lock")
        with open(lock_path, "a", encoding="ascii") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if os.path.exists(self.private_key_path) or os.path.exists(self.certificate_path):
                    raise PKIError(
                        f"another run created the CA at {self.certificate_path} meanwhile; nothing was written. "
                        "Run again to use it."
                    )
                # Key first: a crash between the two writes leaves "key without cert", which set_existing reports.
                write_atomic(self.private_key_path, serialize_key(self.new_key, self.passphrase), KEY_MODE)
                write_atomic(self.certificate_path, cert_pem([self.new_cert]), CERT_MODE)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def predicted_facts(self) -> dict[str, Any]:
        subject = name_attributes(self.common_name, self.organization_name).rfc4514_string()
        return {
            "subject": subject,
            "common_name": self.common_name,
            "subject_alt_names": [],
            "issuer": subject,
            "serial_number": "(new)",
            "not_before": fmt_date(self.now - BACKDATE),
            "not_after": fmt_date(self.now + datetime.timedelta(days=self.valid_days)),
            "fingerprint_sha256": "(new)",
            "public_key": self.key_spec.describe(),
            "basic_constraints": {"ca": True, "path_length": self.path_length, "critical": True},
            "key_usage": ["key_cert_sign", "crl_sign"],
            "extended_key_usage": [],
        }

    def dump(self) -> dict[str, Any]:
        cert = self.new_cert or self.existing_cert
        key = self.new_key or self.existing_key
        facts = cert_facts(cert) if cert is not None else self.predicted_facts()
        result: dict[str, Any] = {
            "reason": self.reason,
            "certificate_path": self.certificate_path,
            "private_key_path": self.private_key_path,
            "certificate": facts,
            "private_key": (
                key_facts(key, self.passphrase is not None if self.new_key is not None else self.existing_key_encrypted)
                if key is not None
                else {"type": self.key_spec.describe(), "encrypted": self.passphrase is not None}
            ),
            "self_signed": is_self_signed(cert) if cert is not None else True,
            "days_remaining": int(days_left(cert, self.now)) if cert is not None else self.valid_days,
        }
        return result

    def diff(self) -> dict[str, Any]:
        before = cert_facts(self.existing_cert) if self.existing_cert is not None else {}
        after = self.dump()["certificate"]
        return {"before": before, "after": after}


def check_ca_validity(cert: Any, path: str, now: datetime.datetime, min_remaining_days: float = 0) -> None:
    """Raise PKIError when the CA is not yet valid, expired, or expires within ``min_remaining_days``."""
    if cert.not_valid_before_utc > now:
        raise PKIError(f"{path}: the CA is not valid before {fmt_date(cert.not_valid_before_utc)} (check the clock)")
    if cert.not_valid_after_utc <= now:
        raise PKIError(
            f"{path}: the CA expired on {fmt_date(cert.not_valid_after_utc)}. It is never replaced silently. "
            "Way out: re-sign the CA certificate with the same key for a new validity (envoy certificates then "
            "stay valid), or move the CA directory aside and run again to create a new CA; in that case the "
            "director and every envoy need certificates from the new CA."
        )
    remaining = days_left(cert, now)
    if remaining < min_remaining_days:
        raise PKIError(
            f"{path}: the CA expires on {fmt_date(cert.not_valid_after_utc)} ({int(remaining)} days left), "
            f"before the {int(min_remaining_days)} days required. Way out: renew the CA certificate (same key, "
            "new validity) or lower the requested validity."
        )


# ---------------------------------------------------------------------------------------------
# The leaf certificate backend
# ---------------------------------------------------------------------------------------------


class SigningCA:
    """The CA a leaf is signed with: its certificate, chain and root, loaded once per module call.

    The CA private key is opened only when a certificate must actually be signed, so the
    verify-only path (the daily re-run over many envoys) costs no key decryption.
    """

    def __init__(
        self,
        certificate_path: str,
        private_key_path: str,
        passphrase: str | None,
        chain_path: str | None = None,
        allow_missing: bool = False,
    ) -> None:
        self.certificate_path = certificate_path
        self.private_key_path = private_key_path
        self.passphrase = passphrase or None
        self._key: Any = None
        data = read_file(certificate_path)
        # Check mode of a first rollout: the CA task before us only predicted the CA, so there is none yet.
        # Then every certificate is predicted as new ("missing"); a real run still requires the CA.
        self.missing = data is None
        if data is None:
            if allow_missing:
                self.cert = self.root = None
                self.intermediates = []
                return
            raise PKIError(f"{certificate_path}: CA certificate not found; run the ca role (or x509_ca) first")
        self.cert = load_certificates(data, certificate_path)[0]
        bc = basic_constraints(self.cert)
        if not bc or not bc["ca"]:
            raise PKIError(f"{certificate_path} is not a CA certificate (basicConstraints CA:true missing)")
        chain: list[Any] = []
        if chain_path:
            chain_data = read_file(chain_path)
            if chain_data is None:
                raise PKIError(f"{chain_path}: CA chain file not found")
            chain = load_certificates(chain_data, chain_path)
        if is_self_signed(self.cert):
            self.intermediates: list[Any] = []
            self.root = self.cert
        else:
            roots = [c for c in chain if is_self_signed(c)]
            if not roots:
                raise PKIError(
                    f"{certificate_path} is an intermediate CA; give its chain up to the self-signed root "
                    "(ca_chain_path) so that root_ca.crt holds the root the director trusts"
                )
            self.root = roots[-1]
            self.intermediates = [self.cert] + [c for c in chain if not is_self_signed(c) and c != self.cert]

    @property
    def key(self) -> Any:
        if self._key is None:
            data = read_file(self.private_key_path)
            if data is None:
                raise PKIError(f"{self.private_key_path}: CA private key not found")
            key = load_private_key(data, self.private_key_path, self.passphrase)[0]
            if not same_public_key(key.public_key(), self.cert.public_key()):
                raise PKIError(f"{self.private_key_path} does not match {self.certificate_path}")
            self._key = key
        return self._key

    def facts(self) -> dict[str, Any]:
        if self.missing:
            return {"subject": None, "root_subject": None, "fingerprint_sha256": None, "not_after": None}
        return {
            "subject": self.cert.subject.rfc4514_string(),
            "root_subject": self.root.subject.rfc4514_string(),
            "fingerprint_sha256": self.root.fingerprint(hashes.SHA256()).hex(":"),
            "not_after": fmt_date(self.cert.not_valid_after_utc),
        }

    def issued(self, cert: Any) -> bool:
        if cert.issuer != self.cert.subject:
            return False
        try:
            cert.verify_directly_issued_by(self.cert)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True


class CertificateBackend:
    """Key + leaf certificate signed by a CA, for the ``client`` (envoy) or ``server`` (director) profile.

    Idempotence contract (in the order it is decided; every decision lands in ``reasons``):

    * new key: key missing, unreadable, or of another type/size/curve than asked
      (a new key always brings a new certificate);
    * new certificate, same key: certificate missing or unreadable, not matching the key, not issued
      by the CA (``ca changed``), name (CN/SAN) changed, profile changed, expired or expiring within
      ``renew_before_days``;
    * rewrite only: ``root_ca.crt`` or the chain in the certificate file differs; file modes differ;
    * nothing else: a different ``valid_days`` alone does not re-issue.
    """

    def __init__(
        self,
        ca: SigningCA,
        certificate_path: str,
        private_key_path: str,
        common_name: str,
        root_ca_path: str | None = None,
        subject_alt_names: list[str] | None = None,
        profile: str = "client",
        key_spec: KeySpec | None = None,
        valid_days: int = 365,
        renew_before_days: int = 30,
        organization_name: str | None = None,
        force: bool = False,
        now: datetime.datetime | None = None,
    ) -> None:
        if profile not in PROFILES:
            raise PKIError(f"profile {profile!r} is not one of {', '.join(PROFILES)}")
        if not common_name:
            raise PKIError("common_name must not be empty")
        if valid_days < 1:
            raise PKIError("valid_days must be at least 1")
        if renew_before_days < 0 or renew_before_days >= valid_days:
            raise PKIError(
                f"renew_before_days ({renew_before_days}) must be at least 0 and below valid_days ({valid_days}), "
                "or every run would re-issue"
            )
        self.ca = ca
        self.certificate_path = certificate_path
        self.private_key_path = private_key_path
        self.root_ca_path = root_ca_path or None
        self.common_name = common_name
        names = subject_alt_names if subject_alt_names else [f"DNS:{common_name}"]
        if profile == "client":
            # OpenFL: CN = SAN = shard name; extra SANs only add to it.
            names = [f"DNS:{common_name}"] + [n for n in names if n not in (common_name, f"DNS:{common_name}")]
        self.sans = [parse_san(n) for n in names]
        self.san_strings = [san_to_string(n) for n in self.sans]
        self.profile = profile
        self.key_spec = key_spec or KeySpec("rsa", 2048)
        self.valid_days = valid_days
        self.renew_before_days = renew_before_days
        self.organization_name = organization_name or None
        self.force = force
        self.now = now or utcnow()
        self.existing_key: Any = None
        self.existing_certs: list[Any] = []
        self.existing_root_pem: bytes | None = None
        self.new_key: Any = None
        self.new_cert: Any = None
        self.regenerate_key = False
        self.regenerate_cert = False
        self.rewrite_cert_file = False
        self.rewrite_root = False
        self.mode_fixes: list[str] = []
        self.reasons: list[str] = []

    @property
    def existing_cert(self) -> Any:
        return self.existing_certs[0] if self.existing_certs else None

    # -- state ----------------------------------------------------------------------------
    def set_existing(self) -> None:
        key_data = read_file(self.private_key_path)
        if key_data is None:
            self.reasons.append("key missing")
            self.regenerate_key = True
        else:
            try:
                self.existing_key = load_private_key(key_data, self.private_key_path, None)[0]
            except PKIError as exc:
                self.reasons.append(f"key unreadable ({exc})")
                self.regenerate_key = True
        cert_data = read_file(self.certificate_path)
        if cert_data is not None:
            try:
                self.existing_certs = load_certificates(cert_data, self.certificate_path)
            except PKIError:
                self.existing_certs = []
                if not self.regenerate_key:
                    self.reasons.append("certificate unreadable")
        elif not self.regenerate_key:
            self.reasons.append("certificate missing")
        if self.root_ca_path:
            self.existing_root_pem = read_file(self.root_ca_path)

    def needs_regeneration(self) -> bool:
        """Decide what changes; True when anything would be written."""
        if self.ca.missing:  # check mode before the CA exists: everything would be new
            self.reasons.insert(0, "ca missing (it would be created first)")
            self.regenerate_cert = self.rewrite_cert_file = True
            self.rewrite_root = bool(self.root_ca_path)
            return True
        key = self.existing_key
        if key is not None and not self.regenerate_key:
            why = self.key_spec.mismatch(key)
            if why:
                self.reasons.append(f"key type changed ({why})")
                self.regenerate_key = True
        if self.regenerate_key or self.reasons:
            self.regenerate_cert = True
        else:
            cert_reason = self._cert_reason(self.existing_cert, key)
            if cert_reason:
                self.reasons.append(cert_reason)
                self.regenerate_cert = True
        if self.regenerate_cert:
            self._check_ca_covers_validity()
            self.rewrite_cert_file = True
        else:
            expected = [self.existing_cert, *self.ca.intermediates]
            if [c.fingerprint(hashes.SHA256()) for c in self.existing_certs] != [
                c.fingerprint(hashes.SHA256()) for c in expected
            ]:
                self.reasons.append("certificate chain updated")
                self.rewrite_cert_file = True
        if self.root_ca_path and self.existing_root_pem != cert_pem([self.ca.root]):
            self.reasons.append("root CA file missing" if self.existing_root_pem is None else "root CA file updated")
            self.rewrite_root = True
        for path, want, rewritten in (
            (self.private_key_path, KEY_MODE, self.regenerate_key),
            (self.certificate_path, CERT_MODE, self.rewrite_cert_file),
            (self.root_ca_path, CERT_MODE, self.rewrite_root),
        ):
            if path and not rewritten and file_mode(path) not in (None, want):
                self.mode_fixes.append(path)
        if self.mode_fixes:
            self.reasons.append("file mode fixed")
        return self.changed

    @property
    def changed(self) -> bool:
        return bool(self.regenerate_key or self.regenerate_cert or self.rewrite_cert_file or self.rewrite_root) or bool(
            self.mode_fixes
        )

    @property
    def reason(self) -> str:
        if not self.reasons:
            return "unchanged"
        return self.reasons[0]

    def _cert_reason(self, cert: Any, key: Any) -> str | None:
        if self.force:
            return "forced"
        if cert is None:
            return "certificate missing"
        if not same_public_key(cert.public_key(), key.public_key()):
            return "certificate does not match key"
        if not self.ca.issued(cert):
            return "ca changed"
        if common_name(cert) != self.common_name or sorted(san_strings(cert)) != sorted(self.san_strings):
            return "name changed"
        if self.organization_name and name_attributes(self.common_name, self.organization_name) != cert.subject:
            return "name changed"
        why = profile_mismatch(cert, self.profile)
        if why:
            return f"profile changed ({why})"
        if cert.not_valid_before_utc > self.now:
            return "certificate not yet valid"
        if cert.not_valid_after_utc <= self.now:
            return "expired"
        if days_left(cert, self.now) <= self.renew_before_days:
            return "expires within renewal window"
        return None

    def _not_after(self) -> datetime.datetime:
        return self.now + datetime.timedelta(days=self.valid_days)

    def _check_ca_covers_validity(self) -> None:
        ca_cert = self.ca.cert
        check_ca_validity(ca_cert, self.ca.certificate_path, self.now)
        if self._not_after() > ca_cert.not_valid_after_utc:
            raise PKIError(
                f"a {self.valid_days}-day certificate would end after the CA "
                f"({self.ca.certificate_path} expires on {fmt_date(ca_cert.not_valid_after_utc)}, "
                f"{int(days_left(ca_cert, self.now))} days left); certificates never outlive their CA. "
                "Way out: renew the CA certificate (same key, new validity), or lower valid_days below the CA's "
                "remaining days."
            )

    # -- actions --------------------------------------------------------------------------
    def generate(self) -> None:
        key = self.key_spec.generate() if self.regenerate_key else self.existing_key
        if self.regenerate_key:
            self.new_key = key
        if self.regenerate_cert:
            basic, usage, eku = leaf_extensions(self.profile)
            ca_cert = self.ca.cert
            ca_ski = _ext(ca_cert, x509.SubjectKeyIdentifier)
            aki = (
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski.value)
                if ca_ski is not None
                else x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())
            )
            builder = (
                x509.CertificateBuilder()
                .subject_name(name_attributes(self.common_name, self.organization_name))
                .issuer_name(ca_cert.subject)
                .public_key(key.public_key())
                .serial_number(random_serial())
                .not_valid_before(max(self.now - BACKDATE, ca_cert.not_valid_before_utc))
                .not_valid_after(self._not_after())
                .add_extension(basic, critical=True)
                .add_extension(usage, critical=True)
                .add_extension(eku, critical=False)
                .add_extension(x509.SubjectAlternativeName(self.sans), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(aki, critical=False)
            )
            self.new_cert = builder.sign(self.ca.key, signature_hash_for(self.ca.key))

    def write(self) -> None:
        if self.new_key is not None:
            write_atomic(self.private_key_path, serialize_key(self.new_key, None), KEY_MODE)
        if self.rewrite_cert_file:
            leaf = self.new_cert or self.existing_cert
            write_atomic(self.certificate_path, cert_pem([leaf, *self.ca.intermediates]), CERT_MODE)
        if self.rewrite_root and self.root_ca_path:
            write_atomic(self.root_ca_path, cert_pem([self.ca.root]), CERT_MODE)
        for path in self.mode_fixes:
            os.chmod(path, KEY_MODE if path == self.private_key_path else CERT_MODE)

    def predicted_facts(self) -> dict[str, Any]:
        key = self.existing_key if not self.regenerate_key else None
        return {
            "subject": name_attributes(self.common_name, self.organization_name).rfc4514_string(),
            "common_name": self.common_name,
            "subject_alt_names": list(self.san_strings),
            "issuer": self.ca.cert.subject.rfc4514_string() if not self.ca.missing else "(the CA to be created)",
            "serial_number": "(new)",
            "not_before": fmt_date(
                self.now - BACKDATE if self.ca.missing else max(self.now - BACKDATE, self.ca.cert.not_valid_before_utc)
            ),
            "not_after": fmt_date(self._not_after()),
            "fingerprint_sha256": "(new)",
            "public_key": describe_key(key) if key is not None else self.key_spec.describe(),
            "basic_constraints": {"ca": False, "path_length": None, "critical": True},
            "key_usage": ["digital_signature", "key_encipherment"],
            "extended_key_usage": sorted(["clientAuth", "serverAuth"]),
        }

    def dump(self) -> dict[str, Any]:
        if self.regenerate_cert:
            facts = cert_facts(self.new_cert) if self.new_cert is not None else self.predicted_facts()
        else:
            facts = cert_facts(self.existing_cert)
        key = self.new_key or self.existing_key
        facts = dict(facts, profile=self.profile)
        return {
            "reason": self.reason,
            "reasons": list(self.reasons),
            "key_regenerated": self.regenerate_key,
            "certificate_regenerated": self.regenerate_cert,
            "certificate_path": self.certificate_path,
            "private_key_path": self.private_key_path,
            "root_ca_path": self.root_ca_path,
            "certificate": facts,
            "private_key": key_facts(key, False) if key is not None else {"type": self.key_spec.describe()},
            "ca": self.ca.facts(),
            "days_remaining": int((self._not_after() - self.now).total_seconds() // 86400)
            if self.regenerate_cert
            else int(days_left(self.existing_cert, self.now)),
        }

    def diff(self) -> dict[str, Any]:
        before: dict[str, Any] = {}
        if self.existing_cert is not None:
            before = dict(cert_facts(self.existing_cert), profile=self.profile)
            if self.existing_key is not None:
                before["private_key"] = describe_key(self.existing_key)
        after = dict(self.dump()["certificate"])
        after["private_key"] = self.dump()["private_key"]["type"]
        if self.reasons:
            after["reason"] = ", ".join(self.reasons)
        return {"before": before, "after": after}
