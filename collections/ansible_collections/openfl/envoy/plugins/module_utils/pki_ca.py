# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The root CA backend of ``x509_ca`` and the CA that signs the leaves of ``x509_certificate``.

See ``pki_common`` for the call sequence every backend follows.
"""

from __future__ import annotations

import datetime
import fcntl
import os
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import (
    BACKDATE,
    CERT_MODE,
    KEY_MODE,
    KeySpec,
    PKIError,
    basic_constraints,
    cert_facts,
    cert_pem,
    common_name,
    days_left,
    ensure_dir,
    file_mode,
    fmt_date,
    get_extension,
    is_self_signed,
    issued_by,
    key_facts,
    load_certificates,
    load_private_key,
    name_attributes,
    random_serial,
    read_file,
    same_public_key,
    serialize_key,
    sha256_fingerprint,
    utcnow,
    write_unit,
    x509,
)

CA_MODES = ("create", "existing")


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
        ku = get_extension(cert, x509.KeyUsage)
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
                # One unit: a crash never leaves a CA key without its certificate.
                write_unit(
                    [
                        (self.private_key_path, serialize_key(self.new_key, self.passphrase), KEY_MODE),
                        (self.certificate_path, cert_pem([self.new_cert]), CERT_MODE),
                    ]
                )
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
# The CA that signs leaf certificates
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
            key = load_private_key(data, self.private_key_path, self.passphrase, signs=True)[0]
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
            "fingerprint_sha256": sha256_fingerprint(self.root),
            "not_after": fmt_date(self.cert.not_valid_after_utc),
        }

    def issued(self, cert: Any) -> bool:
        return issued_by(cert, self.cert)
