# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one CA factory of the PKI tests: throwaway CAs and leaf certificates, made at test time.

Every key is generated into pytest's tmp_path; none is ever committed. A CA directory holds
``root_ca.crt`` and ``root_ca.key`` (the key encrypted with the passphrase), as the ca role writes it.

* ``create_ca`` / ``cert_backend`` / ``run_backend``: through the collection's own backends (what x509_ca and
  x509_certificate do);
* ``handmade_ca`` / ``handmade_leaf``: directly with cryptography, for what the backends never produce
  (arbitrary dates, non-CA "CAs", intermediates, leaves without the profile's extensions).

Imported as ``ansible_collections.openfl.envoy.tests.unit.pki_factory`` by the collection's unit tests and by
the playbook-level tests in tests/pki.
"""

from __future__ import annotations

import datetime
import os
import stat
from pathlib import Path
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.pki_ca import CABackend, SigningCA
from ansible_collections.openfl.envoy.plugins.module_utils.pki_certificate import CertificateBackend
from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import (
    KeySpec,
    public_key_fingerprint,
    serialize_key,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PASS = "correct horse battery staple"
NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)
CA_CERT = "root_ca.crt"
CA_KEY = "root_ca.key"


# ------------------------------------------------------------------------------------------
# through the backends
# ------------------------------------------------------------------------------------------


def run_backend(backend: Any, check_mode: bool = False) -> tuple[bool, dict]:
    """The modules' call sequence; returns (changed, dump)."""
    backend.set_existing()
    if backend.needs_regeneration() and not check_mode:
        backend.generate()
    if backend.changed and not check_mode:
        backend.write()
    return backend.changed, backend.dump()


def ca_backend(ca_dir: Path, passphrase: str | None = PASS, **kwargs: Any) -> CABackend:
    return CABackend(str(ca_dir / CA_CERT), str(ca_dir / CA_KEY), passphrase, **kwargs)


def create_ca(
    ca_dir: Path,
    passphrase: str | None = PASS,
    key_spec: KeySpec | None = None,
    now: datetime.datetime = NOW - 500 * DAY,
    **kwargs: Any,
) -> Path:
    """A new CA in ``ca_dir``, made by CABackend 500 days ago (so that leaves can be issued "in the past" under it).

    RSA 2048 unless ``key_spec`` says otherwise (fast enough, and not the module's 4096 default).
    """
    backend = ca_backend(ca_dir, passphrase, key_spec=key_spec or KeySpec("rsa", 2048), now=now, **kwargs)
    changed = run_backend(backend)[0]
    assert changed
    return ca_dir


def cert_backend(
    ca_dir: Path,
    out_dir: Path,
    name: str = "envoy-1",
    passphrase: str | None = PASS,
    chain_path: str | None = None,
    **kwargs: Any,
) -> CertificateBackend:
    """The backend of an envoy's three files (envoy.crt, priv.key, root_ca.crt) in ``out_dir``, signed by ``ca_dir``."""
    ca = SigningCA(str(ca_dir / CA_CERT), str(ca_dir / CA_KEY), passphrase, chain_path)
    return CertificateBackend(
        ca,
        certificate_path=str(out_dir / "envoy.crt"),
        private_key_path=str(out_dir / "priv.key"),
        root_ca_path=str(out_dir / "root_ca.crt"),
        common_name=name,
        **kwargs,
    )


# ------------------------------------------------------------------------------------------
# directly with cryptography
# ------------------------------------------------------------------------------------------


def load_ca(ca_dir: Path, passphrase: str = PASS) -> tuple[Any, Any]:
    """(certificate, private key) of the CA in ``ca_dir``."""
    cert = load_cert(ca_dir / CA_CERT)[0]
    key = serialization.load_pem_private_key((ca_dir / CA_KEY).read_bytes(), passphrase.encode())
    return cert, key


def handmade_ca(
    ca_dir: Path,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    passphrase: str = PASS,
    ca: bool = True,
    common_name: str | None = None,
    path_length: int | None = None,
    signed_by: Path | None = None,
) -> Path:
    """A CA certificate (EC P-256) with arbitrary dates, self-signed or signed by the CA in ``signed_by``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or f"Handmade {ca_dir.name}")])
    issuer, issuer_key = load_ca(signed_by, passphrase) if signed_by else (None, key)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    ca_dir.mkdir(mode=0o700)
    (ca_dir / CA_CERT).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (ca_dir / CA_KEY).write_bytes(serialize_key(key, passphrase))
    os.chmod(ca_dir / CA_KEY, 0o600)
    return ca_dir


def handmade_leaf(
    ca_dir: Path,
    subject: Any,
    public_key: Any,
    sans: list[str],
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    passphrase: str = PASS,
) -> Any:
    """A leaf signed by the CA in ``ca_dir`` with only a DNS SAN: no basicConstraints, keyUsage, EKU or key ids
    (what ``openssl ca`` without -extensions produces)."""
    ca_cert, ca_key = load_ca(ca_dir, passphrase)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


# ------------------------------------------------------------------------------------------
# reading what was written
# ------------------------------------------------------------------------------------------


def load_cert(path: Path | str) -> list[Any]:
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


def public_fp(path: Path | str) -> str:
    """Public key fingerprint of an unencrypted private key file."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), None)
    return public_key_fingerprint(key)


def mode_of(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)
