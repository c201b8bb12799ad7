# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The leaf certificate backend of ``x509_certificate`` and its profiles (envoy ``client``, director ``server``).

See ``pki_common`` for the call sequence every backend follows.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.pki_ca import SigningCA, check_ca_validity
from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import (
    BACKDATE,
    CERT_MODE,
    KEY_MODE,
    ExtendedKeyUsageOID,
    KeySpec,
    PKIError,
    cert_facts,
    cert_pem,
    common_name,
    days_left,
    describe_key,
    file_mode,
    fmt_date,
    get_extension,
    key_facts,
    load_certificates,
    load_private_key,
    name_attributes,
    parse_san,
    random_serial,
    read_file,
    same_public_key,
    san_strings,
    san_to_string,
    serialize_key,
    sha256_fingerprint,
    signature_hash_for,
    utcnow,
    write_unit,
    x509,
)

PROFILES = ("client", "server")
# What happens to an existing private key that is not what was asked, as community.crypto's
# openssl_privatekey ``regenerate`` says it: a new key changes the envoy's Secret and restarts it, so
# the default refuses to replace one silently.
REGENERATE = ("never", "fail", "partial_idempotence", "full_idempotence", "always")
REGENERATE_DEFAULT = "fail"
# The option every module with the policy takes (its argument spec).
REGENERATE_OPTION = {"type": "str", "choices": list(REGENERATE), "default": REGENERATE_DEFAULT}


def key_replacement(path: str, key: Any, problem: str | None, spec: KeySpec, regenerate: str) -> str | None:
    """Why the existing key at ``path`` (``problem``: why it cannot be read) is replaced, None when it is kept;
    PKIError with the way out when the ``regenerate`` policy forbids replacing it."""
    keeps = "is not replaced unless the regenerate policy says so (a new key changes the Secret and restarts"
    if problem is not None:
        if regenerate not in ("full_idempotence", "always"):
            raise PKIError(
                f"{path}: {problem}; an existing key {keeps} the envoy; regenerate={regenerate}). Way out: restore "
                "the key from a backup, or delete the file to get a new key, or set regenerate=full_idempotence "
                "(envoy_cert_regenerate) for one run"
            )
        return problem
    if regenerate == "always":
        return "key regenerated on every run (regenerate=always)"
    mismatch = spec.mismatch(key)
    if mismatch is None or regenerate == "never":
        return None
    if regenerate == "fail":
        raise PKIError(
            f"{path}: {mismatch}; an existing key {keeps} the envoy; regenerate=fail). "
            f"Way out: ask for the key it has (key_type/key_size/curve: {describe_key(key)}), "
            "or replace it with regenerate=partial_idempotence (envoy_cert_regenerate), or keep it with "
            "regenerate=never"
        )
    return f"key type changed ({mismatch})"


def existing_key_error(path: str, spec: KeySpec, regenerate: str) -> str | None:
    """What stops the pki stage at an envoy's existing key (unreadable, or of another type than asked, as
    the policy says), read-only for preflight; None when there is no key or it is fine."""
    data = read_file(path)
    if data is None:
        return None
    key, problem = None, None
    try:
        key = load_private_key(data, path, None)[0]
    except PKIError as exc:
        problem = f"key unreadable ({exc})"
    try:
        key_replacement(path, key, problem, spec, regenerate)
    except PKIError as exc:
        return str(exc)
    return None


# ---------------------------------------------------------------------------------------------
# Leaf profiles
# ---------------------------------------------------------------------------------------------


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
    bc = get_extension(cert, x509.BasicConstraints)
    if bc is None or bc.value.ca:
        return "basicConstraints is not CA:false"
    ku = get_extension(cert, x509.KeyUsage)
    if ku is None or ku.value != usage:
        return "keyUsage differs from digitalSignature+keyEncipherment"
    ext = get_extension(cert, x509.ExtendedKeyUsage)
    if ext is None or set(ext.value) != set(eku):
        return "extendedKeyUsage differs from clientAuth+serverAuth"
    if any(get_extension(cert, kind) is None for kind in (x509.SubjectKeyIdentifier, x509.AuthorityKeyIdentifier)):
        return "subject/authority key identifiers missing"
    return None


# ---------------------------------------------------------------------------------------------
# The leaf certificate backend
# ---------------------------------------------------------------------------------------------


class CertificateBackend:
    """Key + leaf certificate signed by a CA, for the ``client`` (envoy) or ``server`` (director) profile.

    Idempotence contract (in the order it is decided; every decision lands in ``reasons``):

    * new key: key missing; else by the ``regenerate`` policy - ``fail`` (the default) stops with the
      way out when the key is unreadable or of another type/size/curve than asked, ``never`` keeps
      such a key (and fails on an unreadable one), ``partial_idempotence`` replaces one of another
      type, ``full_idempotence`` an unreadable one too, ``always`` replaces it on every run
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
        regenerate: str = REGENERATE_DEFAULT,
        now: datetime.datetime | None = None,
    ) -> None:
        if profile not in PROFILES:
            raise PKIError(f"profile {profile!r} is not one of {', '.join(PROFILES)}")
        if regenerate not in REGENERATE:
            raise PKIError(f"regenerate {regenerate!r} is not one of {', '.join(REGENERATE)}")
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
        self.regenerate = regenerate
        self.now = now or utcnow()
        self.existing_key: Any = None
        self.key_problem: str | None = None  # why an existing key file cannot be read
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
        self.warnings: list[str] = []

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
                self.key_problem = f"key unreadable ({exc})"
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
        self._decide_key()
        key = self.existing_key
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
            if [sha256_fingerprint(c) for c in self.existing_certs] != [sha256_fingerprint(c) for c in expected]:
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

    def _decide_key(self) -> None:
        """Whether an existing key is replaced, by the ``regenerate`` policy (a missing one always is)."""
        if self.regenerate_key:
            return
        path, key, problem = self.private_key_path, self.existing_key, self.key_problem
        why = key_replacement(path, key, problem, self.key_spec, self.regenerate)
        if why is not None:
            self.reasons.insert(0, why)
            self.regenerate_key = True

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
            ca_ski = get_extension(ca_cert, x509.SubjectKeyIdentifier)
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
        """The key, the certificate and the root copy as one unit (see ``write_unit``)."""
        unit = []
        if self.new_key is not None:
            unit.append((self.private_key_path, serialize_key(self.new_key, None), KEY_MODE))
        if self.rewrite_cert_file:
            leaf = self.new_cert or self.existing_cert
            unit.append((self.certificate_path, cert_pem([leaf, *self.ca.intermediates]), CERT_MODE))
        if self.rewrite_root and self.root_ca_path:
            unit.append((self.root_ca_path, cert_pem([self.ca.root]), CERT_MODE))
        write_unit(unit)
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
