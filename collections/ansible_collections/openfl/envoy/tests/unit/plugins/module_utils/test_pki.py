# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the PKI backend: every regeneration rule, every broken-input case, check mode.

All key material is generated at test time in pytest's tmp_path.
"""

from __future__ import annotations

import datetime
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Runs under ansible-test (which sets the path) and under plain pytest from the repository root.
_COLLECTIONS = str(Path(__file__).resolve().parents[7])
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.openfl.envoy.plugins.module_utils import pki  # noqa: E402

PASS = "correct horse battery staple"
NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def run(backend, check_mode: bool = False):
    """The module's call sequence; returns (changed, dump)."""
    backend.set_existing()
    if backend.needs_regeneration() and not check_mode:
        backend.generate()
    if backend.changed and not check_mode:
        backend.write()
    return backend.changed, backend.dump()


def make_ca(tmp_path, name="ca", passphrase=PASS, now=NOW - 500 * DAY, **kwargs):
    """A CA made 500 days ago (so that certificates can be issued "in the past" under it)."""
    ca_dir = tmp_path / name
    backend = pki.CABackend(
        str(ca_dir / "root_ca.crt"),
        str(ca_dir / "root_ca.key"),
        passphrase,
        key_spec=kwargs.pop("key_spec", pki.KeySpec("rsa", 2048)),
        now=now,
        **kwargs,
    )
    changed = run(backend)[0]
    assert changed
    return ca_dir


def handmade_ca(tmp_path, name, not_before, not_after, passphrase=PASS, ca=True, key=None):
    """A CA certificate with arbitrary dates, built directly with cryptography."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Handmade {name}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    ca_dir = tmp_path / name
    ca_dir.mkdir(mode=0o700)
    (ca_dir / "root_ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (ca_dir / "root_ca.key").write_bytes(pki.serialize_key(key, passphrase))
    os.chmod(ca_dir / "root_ca.key", 0o600)
    return ca_dir


def ca_backend(ca_dir, passphrase=PASS, **kwargs):
    return pki.CABackend(str(ca_dir / "root_ca.crt"), str(ca_dir / "root_ca.key"), passphrase, **kwargs)


def cert_backend(ca_dir, out_dir, name="envoy-1", passphrase=PASS, chain_path=None, **kwargs):
    ca = pki.SigningCA(str(ca_dir / "root_ca.crt"), str(ca_dir / "root_ca.key"), passphrase, chain_path)
    return pki.CertificateBackend(
        ca,
        certificate_path=str(out_dir / "envoy.crt"),
        private_key_path=str(out_dir / "priv.key"),
        root_ca_path=str(out_dir / "root_ca.crt"),
        common_name=name,
        **kwargs,
    )


def load_cert(path):
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


def public_fp(path):
    key = serialization.load_pem_private_key(Path(path).read_bytes(), None)
    return pki.public_key_fingerprint(key)


@pytest.fixture
def ca_dir(tmp_path):
    return make_ca(tmp_path)


@pytest.fixture
def issued(tmp_path, ca_dir):
    out = tmp_path / "envoys" / "envoy-1"
    changed, result = run(cert_backend(ca_dir, out))
    assert changed
    return out, result


# ------------------------------------------------------------------------------------------
# CA
# ------------------------------------------------------------------------------------------


class TestCA:
    def test_create_profile_files_and_modes(self, tmp_path):
        ca_dir = tmp_path / "pki" / "ca"
        backend = pki.CABackend(str(ca_dir / "root_ca.crt"), str(ca_dir / "root_ca.key"), PASS, path_length=0)
        changed, result = run(backend)
        assert changed and result["reason"] == "created"
        assert mode_of(ca_dir / "root_ca.key") == 0o600
        assert mode_of(ca_dir / "root_ca.crt") == 0o644
        assert mode_of(ca_dir) == 0o700 and mode_of(tmp_path / "pki") == 0o700
        key_pem = (ca_dir / "root_ca.key").read_bytes()
        assert b"ENCRYPTED PRIVATE KEY" in key_pem
        with pytest.raises(TypeError):
            serialization.load_pem_private_key(key_pem, None)
        cert = load_cert(ca_dir / "root_ca.crt")[0]
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and bc.value.ca and bc.value.path_length == 0
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign and not ku.value.digital_signature
        cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        assert pki.is_self_signed(cert)
        assert result["private_key"] == {
            "type": "RSA 4096",
            "public_key_fingerprint_sha256": result["private_key"]["public_key_fingerprint_sha256"],
            "encrypted": True,
        }
        assert result["days_remaining"] == 7299
        assert cert.not_valid_after_utc - cert.not_valid_before_utc >= datetime.timedelta(days=7300)

    @pytest.mark.parametrize(
        ("spec", "expected", "digest"),
        [
            (pki.KeySpec("ec", curve="secp256r1"), "EC secp256r1", "sha256"),
            (pki.KeySpec("ec", curve="secp384r1"), "EC secp384r1", "sha384"),
            (pki.KeySpec("rsa", 3072), "RSA 3072", "sha256"),
        ],
    )
    def test_key_types(self, tmp_path, spec, expected, digest):
        ca_dir = make_ca(tmp_path, key_spec=spec)
        cert = load_cert(ca_dir / "root_ca.crt")[0]
        assert pki.describe_key(cert.public_key()) == expected
        assert cert.signature_hash_algorithm.name == digest

    def test_four_steps_check_run_check_run(self, tmp_path):
        ca_dir = tmp_path / "ca"
        changes = []
        for check_mode in (True, False, True, False):
            changed = run(ca_backend(ca_dir, key_spec=pki.KeySpec("rsa", 2048)), check_mode)[0]
            changes.append(changed)
            if check_mode and not changes[1:]:
                assert not ca_dir.exists()
        assert changes == [True, True, False, False]

    def test_unchanged_does_not_touch_files(self, ca_dir):
        before = {p: os.stat(ca_dir / p).st_mtime_ns for p in ("root_ca.crt", "root_ca.key")}
        changed, result = run(ca_backend(ca_dir))
        assert not changed and result["reason"] == "unchanged"
        assert before == {p: os.stat(ca_dir / p).st_mtime_ns for p in ("root_ca.crt", "root_ca.key")}

    def test_check_mode_predicts_and_writes_nothing(self, tmp_path):
        backend = ca_backend(tmp_path / "ca", key_spec=pki.KeySpec("ec", curve="secp384r1"), common_name="X CA")
        changed, result = run(backend, check_mode=True)
        assert changed and result["reason"] == "created"
        assert not (tmp_path / "ca").exists()
        assert result["certificate"]["subject"] == "CN=X CA"
        assert result["certificate"]["serial_number"] == "(new)"
        assert result["certificate"]["public_key"] == "EC secp384r1"
        assert backend.diff()["before"] == {}

    def test_refuses_unencrypted_creation(self, tmp_path):
        with pytest.raises(pki.PKIError, match="refusing to create a CA key without a passphrase"):
            run(ca_backend(tmp_path / "ca", passphrase=None))
        assert not (tmp_path / "ca").exists()

    def test_unencrypted_creation_when_allowed(self, tmp_path):
        ca_dir = tmp_path / "ca"
        run(ca_backend(ca_dir, passphrase=None, allow_unencrypted_key=True, key_spec=pki.KeySpec("ec")))
        assert b"ENCRYPTED" not in (ca_dir / "root_ca.key").read_bytes()
        backend = ca_backend(ca_dir, passphrase=None, allow_unencrypted_key=True)
        changed, result = run(backend)
        assert not changed and result["private_key"]["encrypted"] is False
        assert any("not encrypted" in w for w in backend.warnings)

    def test_wrong_passphrase(self, ca_dir):
        with pytest.raises(pki.PKIError, match="wrong passphrase"):
            run(ca_backend(ca_dir, passphrase="not it"))

    def test_missing_passphrase_for_encrypted_key(self, ca_dir):
        with pytest.raises(pki.PKIError, match="encrypted and no passphrase"):
            run(ca_backend(ca_dir, passphrase=None))

    def test_corrupt_key(self, ca_dir):
        (ca_dir / "root_ca.key").write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
        with pytest.raises(pki.PKIError, match="not a readable PEM private key"):
            run(ca_backend(ca_dir))

    def test_corrupt_certificate(self, ca_dir):
        (ca_dir / "root_ca.crt").write_text("garbage")
        with pytest.raises(pki.PKIError, match="not a PEM certificate"):
            run(ca_backend(ca_dir))

    def test_mismatched_key_and_certificate(self, tmp_path, ca_dir):
        other = make_ca(tmp_path, name="other")
        os.replace(other / "root_ca.key", ca_dir / "root_ca.key")
        with pytest.raises(pki.PKIError, match="does not match"):
            run(ca_backend(ca_dir))

    @pytest.mark.parametrize("missing", ["root_ca.crt", "root_ca.key"])
    def test_half_a_ca_is_never_completed(self, ca_dir, missing):
        survivor = "root_ca.key" if missing == "root_ca.crt" else "root_ca.crt"
        content = (ca_dir / survivor).read_bytes()
        (ca_dir / missing).unlink()
        with pytest.raises(pki.PKIError, match="incomplete CA"):
            run(ca_backend(ca_dir))
        assert (ca_dir / survivor).read_bytes() == content and not (ca_dir / missing).exists()

    def test_expired_ca_is_reported_not_regenerated(self, tmp_path):
        ca_dir = handmade_ca(tmp_path, "old", NOW - 400 * DAY, NOW - DAY)
        content = (ca_dir / "root_ca.crt").read_bytes()
        with pytest.raises(pki.PKIError, match=r"expired on .*never replaced silently.*Way out"):
            run(ca_backend(ca_dir))
        assert (ca_dir / "root_ca.crt").read_bytes() == content

    def test_not_yet_valid_ca(self, tmp_path):
        ca_dir = handmade_ca(tmp_path, "future", NOW + 10 * DAY, NOW + 400 * DAY)
        with pytest.raises(pki.PKIError, match="not valid before"):
            run(ca_backend(ca_dir))

    def test_ca_expiring_before_min_remaining_days(self, tmp_path):
        ca_dir = handmade_ca(tmp_path, "short", NOW - DAY, NOW + 100 * DAY)
        assert not run(ca_backend(ca_dir))[0]
        with pytest.raises(pki.PKIError, match=r"\(99 days left\), before the 365 days required"):
            run(ca_backend(ca_dir, min_remaining_days=365))

    def test_not_a_ca(self, tmp_path):
        ca_dir = handmade_ca(tmp_path, "leaf", NOW - DAY, NOW + 100 * DAY, ca=False)
        with pytest.raises(pki.PKIError, match="not a CA certificate"):
            run(ca_backend(ca_dir))

    def test_bring_your_own(self, tmp_path):
        ca_dir = handmade_ca(tmp_path, "byo", NOW - DAY, NOW + 3000 * DAY)
        backend = ca_backend(ca_dir, mode="existing")
        changed, result = run(backend)
        assert not changed and result["certificate"]["common_name"] == "Handmade byo"
        assert result["self_signed"] and not backend.warnings

    def test_bring_your_own_absent(self, tmp_path):
        with pytest.raises(pki.PKIError, match="mode=existing"):
            run(ca_backend(tmp_path / "nothing", mode="existing"))

    def test_existing_ca_with_other_name_and_key_is_kept(self, tmp_path, ca_dir):
        backend = ca_backend(ca_dir, common_name="Another CA", key_spec=pki.KeySpec("ec"))
        changed, result = run(backend)
        assert not changed and result["certificate"]["common_name"] == "OpenFL Federation Root CA"
        assert any("never regenerated" in w and "Another CA" in w for w in backend.warnings)
        assert any("EC secp384r1" in w for w in backend.warnings)

    def test_loose_key_mode_is_fixed(self, ca_dir):
        os.chmod(ca_dir / "root_ca.key", 0o644)
        assert run(ca_backend(ca_dir), check_mode=True)[0]
        assert mode_of(ca_dir / "root_ca.key") == 0o644
        changed, result = run(ca_backend(ca_dir))
        assert changed and result["reason"] == "file mode fixed"
        assert mode_of(ca_dir / "root_ca.key") == 0o600
        os.chmod(ca_dir / "root_ca.key", 0o400)  # the manual procedure's chmod 400 is fine
        assert not run(ca_backend(ca_dir))[0]

    def test_concurrent_creation_never_mixes_key_and_certificate(self, tmp_path):
        first = ca_backend(tmp_path / "ca", key_spec=pki.KeySpec("ec"))
        second = ca_backend(tmp_path / "ca", key_spec=pki.KeySpec("ec"))
        for backend in (first, second):  # both decide "created" before either writes
            backend.set_existing()
            assert backend.needs_regeneration()
            backend.generate()
        first.write()
        with pytest.raises(pki.PKIError, match="another run created the CA"):
            second.write()
        assert not run(ca_backend(tmp_path / "ca"))[0]  # key and certificate are the first run's pair

    def test_never_returns_secrets(self, ca_dir):
        backend = ca_backend(ca_dir)
        result = run(backend)[1]
        text = json.dumps([result, backend.diff()])
        assert "PRIVATE KEY" not in text and PASS not in text


# ------------------------------------------------------------------------------------------
# leaf certificates
# ------------------------------------------------------------------------------------------


class TestCertificate:
    def test_issue_profile_files_and_modes(self, tmp_path, ca_dir, issued):
        out, result = issued
        assert sorted(os.listdir(out)) == ["envoy.crt", "priv.key", "root_ca.crt"]
        assert mode_of(out / "priv.key") == 0o600
        assert mode_of(out / "envoy.crt") == 0o644 and mode_of(out / "root_ca.crt") == 0o644
        assert mode_of(out) == 0o700 and mode_of(tmp_path / "envoys") == 0o700
        assert (out / "root_ca.crt").read_bytes() == (ca_dir / "root_ca.crt").read_bytes()
        (cert,) = load_cert(out / "envoy.crt")
        ca_cert = load_cert(ca_dir / "root_ca.crt")[0]
        cert.verify_directly_issued_by(ca_cert)
        assert cert.subject.rfc4514_string() == "CN=envoy-1"
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == ["envoy-1"]
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and not bc.value.ca
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert ku.critical and ku.value.digital_signature and ku.value.key_encipherment
        assert not ku.value.key_cert_sign
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert set(eku) == {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH}
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        assert aki.key_identifier == ca_ski.digest and ski.digest
        assert pki.describe_key(cert.public_key()) == "RSA 2048"
        assert cert.serial_number.bit_length() > 64
        assert cert.not_valid_after_utc - NOW > 364 * DAY
        assert b"ENCRYPTED" not in (out / "priv.key").read_bytes()
        assert result["reasons"] == ["key missing", "root CA file missing"]
        assert result["key_regenerated"] and result["certificate_regenerated"]
        assert result["certificate"]["profile"] == "client"

    def test_serials_are_unique(self, tmp_path, ca_dir):
        serials = set()
        for i in range(5):
            result = run(cert_backend(ca_dir, tmp_path / f"e{i}", name=f"e{i}", key_spec=pki.KeySpec("ec")))[1]
            serials.add(result["certificate"]["serial_number"])
        assert len(serials) == 5

    def test_four_steps_check_run_check_run(self, tmp_path, ca_dir):
        out = tmp_path / "envoy-1"
        changes = []
        for check_mode in (True, False, True, False):
            changed = run(cert_backend(ca_dir, out), check_mode)[0]
            changes.append(changed)
            if len(changes) == 1:
                assert not out.exists()
        assert changes == [True, True, False, False]

    def test_unchanged_never_opens_the_ca_key(self, ca_dir, issued):
        out = issued[0]
        backend = cert_backend(ca_dir, out, passphrase="wrong, and never needed")
        changed, result = run(backend)
        assert not changed and result["reason"] == "unchanged" and result["reasons"] == []
        assert backend.ca._key is None
        assert 360 <= result["days_remaining"] <= 365

    def test_valid_days_change_alone_does_not_reissue(self, ca_dir, issued):
        out = issued[0]
        assert not run(cert_backend(ca_dir, out, valid_days=90, renew_before_days=10))[0]

    def test_renewal_window_keeps_the_key(self, tmp_path, ca_dir):
        out = tmp_path / "envoy-1"
        run(cert_backend(ca_dir, out, now=NOW - 340 * DAY))  # issued 340 days ago: 25 days left
        key_fp, serial = public_fp(out / "priv.key"), load_cert(out / "envoy.crt")[0].serial_number
        backend = cert_backend(ca_dir, out)
        changed, result = run(backend, check_mode=True)
        assert changed and result["reason"] == "expires within renewal window"
        assert result["certificate"]["serial_number"] == "(new)" and not result["key_regenerated"]
        assert load_cert(out / "envoy.crt")[0].serial_number == serial  # check mode wrote nothing
        changed, result = run(cert_backend(ca_dir, out))
        assert changed and result["reason"] == "expires within renewal window"
        assert public_fp(out / "priv.key") == key_fp
        assert load_cert(out / "envoy.crt")[0].serial_number != serial
        assert not run(cert_backend(ca_dir, out))[0]

    def test_outside_renewal_window_is_kept(self, tmp_path, ca_dir):
        out = tmp_path / "envoy-1"
        run(cert_backend(ca_dir, out, now=NOW - 300 * DAY))  # 65 days left
        assert not run(cert_backend(ca_dir, out))[0]
        result = run(cert_backend(ca_dir, out, renew_before_days=90))[1]
        assert result["reason"] == "expires within renewal window"

    def test_expired_certificate(self, tmp_path, ca_dir):
        out = tmp_path / "envoy-1"
        run(cert_backend(ca_dir, out, now=NOW - 400 * DAY))
        key_fp = public_fp(out / "priv.key")
        result = run(cert_backend(ca_dir, out))[1]
        assert result["reason"] == "expired" and public_fp(out / "priv.key") == key_fp

    def test_ca_changed(self, tmp_path, ca_dir, issued):
        out = issued[0]
        key_fp = public_fp(out / "priv.key")
        new_ca = make_ca(tmp_path, name="new-ca")
        changed, result = run(cert_backend(new_ca, out))
        assert changed and result["reasons"] == ["ca changed", "root CA file updated"]
        assert public_fp(out / "priv.key") == key_fp
        assert (out / "root_ca.crt").read_bytes() == (new_ca / "root_ca.crt").read_bytes()
        load_cert(out / "envoy.crt")[0].verify_directly_issued_by(load_cert(new_ca / "root_ca.crt")[0])

    def test_same_subject_other_ca_is_detected_by_signature(self, tmp_path, ca_dir, issued):
        out = issued[0]
        twin = make_ca(tmp_path, name="twin")  # same CN as the first CA, other key
        result = run(cert_backend(twin, out))[1]
        assert result["reason"] == "ca changed"

    def test_name_changed(self, ca_dir, issued):
        out = issued[0]
        result = run(cert_backend(ca_dir, out, name="envoy-one"))[1]
        assert result["reason"] == "name changed" and not result["key_regenerated"]
        assert load_cert(out / "envoy.crt")[0].subject.rfc4514_string() == "CN=envoy-one"

    def test_extra_san_changes_name(self, ca_dir, issued):
        out = issued[0]
        result = run(cert_backend(ca_dir, out, subject_alt_names=["DNS:envoy-1.example.org"]))[1]
        assert result["reason"] == "name changed"
        assert result["certificate"]["subject_alt_names"] == ["DNS:envoy-1", "DNS:envoy-1.example.org"]
        assert not run(cert_backend(ca_dir, out, subject_alt_names=["envoy-1.example.org"]))[0]

    def test_profile_changed(self, ca_dir, issued):
        out = issued[0]
        # Re-sign the same key and names without EKU (what `openssl ca` without -extensions produces).
        ca_key = serialization.load_pem_private_key((ca_dir / "root_ca.key").read_bytes(), PASS.encode())
        ca_cert = load_cert(ca_dir / "root_ca.crt")[0]
        old = load_cert(out / "envoy.crt")[0]
        bare = (
            x509.CertificateBuilder()
            .subject_name(old.subject)
            .issuer_name(ca_cert.subject)
            .public_key(old.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY)
            .not_valid_after(NOW + 300 * DAY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("envoy-1")]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        (out / "envoy.crt").write_bytes(bare.public_bytes(serialization.Encoding.PEM))
        result = run(cert_backend(ca_dir, out))[1]
        assert result["reason"].startswith("profile changed") and not result["key_regenerated"]
        assert pki.profile_mismatch(load_cert(out / "envoy.crt")[0], "client") is None

    @pytest.mark.parametrize(
        ("spec", "expected"),
        [(pki.KeySpec("ec", curve="secp384r1"), "EC secp384r1"), (pki.KeySpec("rsa", 3072), "RSA 3072")],
    )
    def test_key_type_changed(self, ca_dir, issued, spec, expected):
        out = issued[0]
        key_fp = public_fp(out / "priv.key")
        result = run(cert_backend(ca_dir, out, key_spec=spec))[1]
        assert result["reason"].startswith("key type changed") and result["key_regenerated"]
        assert public_fp(out / "priv.key") != key_fp
        assert result["certificate"]["public_key"] == expected
        assert not run(cert_backend(ca_dir, out, key_spec=spec))[0]

    def test_key_missing(self, ca_dir, issued):
        out = issued[0]
        (out / "priv.key").unlink()
        result = run(cert_backend(ca_dir, out))[1]
        assert result["reasons"] == ["key missing"] and result["certificate_regenerated"]
        assert pki.same_public_key(
            load_cert(out / "envoy.crt")[0].public_key(),
            serialization.load_pem_private_key((out / "priv.key").read_bytes(), None).public_key(),
        )

    def test_corrupt_key(self, ca_dir, issued):
        out = issued[0]
        (out / "priv.key").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        result = run(cert_backend(ca_dir, out))[1]
        assert result["reason"].startswith("key unreadable") and result["key_regenerated"]

    def test_encrypted_key_is_unreadable(self, ca_dir, issued):
        out = issued[0]
        key = serialization.load_pem_private_key((out / "priv.key").read_bytes(), None)
        (out / "priv.key").write_bytes(pki.serialize_key(key, "x"))
        result = run(cert_backend(ca_dir, out))[1]
        assert result["reason"].startswith("key unreadable") and "encrypted" in result["reason"]

    def test_certificate_missing(self, ca_dir, issued):
        out = issued[0]
        key_fp = public_fp(out / "priv.key")
        (out / "envoy.crt").unlink()
        result = run(cert_backend(ca_dir, out))[1]
        assert result["reasons"] == ["certificate missing"] and not result["key_regenerated"]
        assert public_fp(out / "priv.key") == key_fp

    def test_corrupt_certificate(self, ca_dir, issued):
        out = issued[0]
        (out / "envoy.crt").write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
        result = run(cert_backend(ca_dir, out))[1]
        assert result["reason"] == "certificate unreadable" and not result["key_regenerated"]

    def test_mismatched_key_and_certificate(self, tmp_path, ca_dir, issued):
        out = issued[0]
        other = tmp_path / "other"
        run(cert_backend(ca_dir, other))
        os.replace(other / "priv.key", out / "priv.key")
        key_fp = public_fp(out / "priv.key")
        result = run(cert_backend(ca_dir, out))[1]
        assert result["reason"] == "certificate does not match key" and not result["key_regenerated"]
        assert public_fp(out / "priv.key") == key_fp

    def test_root_ca_file_rewritten_without_reissue(self, ca_dir, issued):
        out = issued[0]
        serial = load_cert(out / "envoy.crt")[0].serial_number
        (out / "root_ca.crt").unlink()
        result = run(cert_backend(ca_dir, out))[1]
        assert result["reasons"] == ["root CA file missing"] and not result["certificate_regenerated"]
        assert load_cert(out / "envoy.crt")[0].serial_number == serial
        assert (out / "root_ca.crt").read_bytes() == (ca_dir / "root_ca.crt").read_bytes()

    def test_modes_fixed(self, ca_dir, issued):
        out = issued[0]
        os.chmod(out / "priv.key", 0o644)
        os.chmod(out / "envoy.crt", 0o600)
        changed, result = run(cert_backend(ca_dir, out))
        assert changed and result["reasons"] == ["file mode fixed"] and not result["certificate_regenerated"]
        assert mode_of(out / "priv.key") == 0o600 and mode_of(out / "envoy.crt") == 0o644

    def test_force(self, ca_dir, issued):
        out = issued[0]
        result = run(cert_backend(ca_dir, out, force=True))[1]
        assert result["reason"] == "forced" and not result["key_regenerated"]

    def test_check_mode_writes_nothing(self, ca_dir, issued):
        out = issued[0]
        snapshot = {p: (out / p).read_bytes() for p in os.listdir(out)}
        (out / "envoy.crt").unlink()
        backend = cert_backend(ca_dir, out, name="renamed", key_spec=pki.KeySpec("ec"))
        changed, result = run(backend, check_mode=True)
        assert changed and result["key_regenerated"]
        assert sorted(os.listdir(out)) == ["priv.key", "root_ca.crt"]
        assert all((out / p).read_bytes() == snapshot[p] for p in os.listdir(out))
        assert result["certificate"]["common_name"] == "renamed"
        assert result["certificate"]["public_key"] == "EC secp384r1"
        assert backend.ca._key is None  # nothing signed

    def test_diff_shows_facts_never_keys(self, ca_dir, issued):
        out = issued[0]
        backend = cert_backend(ca_dir, out, name="envoy-2")
        run(backend)
        diff = backend.diff()
        assert diff["before"]["common_name"] == "envoy-1" and diff["after"]["common_name"] == "envoy-2"
        assert diff["after"]["reason"] == "name changed"
        assert diff["before"]["serial_number"] != diff["after"]["serial_number"]
        text = json.dumps([diff, backend.dump()])
        assert "PRIVATE KEY" not in text and PASS not in text and "BEGIN" not in text

    def test_ca_expiring_before_requested_validity(self, tmp_path):
        ca_dir = handmade_ca(tmp_path, "short", NOW - DAY, NOW + 100 * DAY)
        out = tmp_path / "envoy-1"
        with pytest.raises(pki.PKIError, match=r"365-day certificate would end after the CA.*Way out"):
            run(cert_backend(ca_dir, out))
        assert not out.exists()
        run(cert_backend(ca_dir, out, valid_days=90, renew_before_days=10))
        assert (
            load_cert(out / "envoy.crt")[0].not_valid_after_utc
            <= load_cert(ca_dir / "root_ca.crt")[0].not_valid_after_utc
        )

    def test_expired_ca_cannot_sign(self, tmp_path):
        ca_dir = handmade_ca(tmp_path, "old", NOW - 400 * DAY, NOW - DAY)
        with pytest.raises(pki.PKIError, match="expired"):
            run(cert_backend(ca_dir, tmp_path / "envoy-1"))

    def test_wrong_ca_passphrase_when_signing(self, tmp_path, ca_dir):
        with pytest.raises(pki.PKIError, match="wrong passphrase"):
            run(cert_backend(ca_dir, tmp_path / "envoy-1", passphrase="nope"))
        assert not (tmp_path / "envoy-1" / "envoy.crt").exists()

    def test_missing_ca(self, tmp_path):
        with pytest.raises(pki.PKIError, match="CA certificate not found"):
            cert_backend(tmp_path / "none", tmp_path / "envoy-1")

    def test_renew_before_days_must_be_below_valid_days(self, ca_dir, tmp_path):
        with pytest.raises(pki.PKIError, match="renew_before_days"):
            cert_backend(ca_dir, tmp_path / "e", valid_days=30, renew_before_days=30)

    def test_server_profile_for_the_director(self, tmp_path, ca_dir):
        out = tmp_path / "director"
        sans = ["IP:192.0.2.10", "DNS:director.fl.example.org", "director"]
        backend = cert_backend(ca_dir, out, name="director.fl.example.org", profile="server", subject_alt_names=sans)
        result = run(backend)[1]
        cert = load_cert(out / "envoy.crt")[0]
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == ["director.fl.example.org", "director"]
        assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["192.0.2.10"]
        assert result["certificate"]["profile"] == "server"
        # SAN order does not matter for idempotence
        assert not run(cert_backend(ca_dir, out, name="director.fl.example.org", profile="server",
                                    subject_alt_names=list(reversed(sans))))[0]  # fmt: skip

    def test_bad_san(self, ca_dir, tmp_path):
        with pytest.raises(pki.PKIError, match="not an IP address"):
            cert_backend(ca_dir, tmp_path / "e", subject_alt_names=["IP:director"])
        with pytest.raises(pki.PKIError, match="neither"):
            cert_backend(ca_dir, tmp_path / "e", subject_alt_names=["URI:x y"])

    def test_intermediate_ca_chain(self, tmp_path):
        root_dir = make_ca(tmp_path, name="root", path_length=1)
        root_key = serialization.load_pem_private_key((root_dir / "root_ca.key").read_bytes(), PASS.encode())
        root_cert = load_cert(root_dir / "root_ca.crt")[0]
        inter_key = ec.generate_private_key(ec.SECP256R1())
        inter = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Signing CA")]))
            .issuer_name(root_cert.subject)
            .public_key(inter_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY)
            .not_valid_after(NOW + 1000 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(inter_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        inter_dir = tmp_path / "inter"
        inter_dir.mkdir()
        (inter_dir / "root_ca.crt").write_bytes(inter.public_bytes(serialization.Encoding.PEM))
        (inter_dir / "root_ca.key").write_bytes(pki.serialize_key(inter_key, PASS))
        with pytest.raises(pki.PKIError, match="intermediate CA"):
            cert_backend(inter_dir, tmp_path / "e")
        chain = str(root_dir / "root_ca.crt")
        out = tmp_path / "e"
        run(cert_backend(inter_dir, out, chain_path=chain))
        leaf, middle = load_cert(out / "envoy.crt")
        assert middle == inter and load_cert(out / "root_ca.crt") == [root_cert]
        leaf.verify_directly_issued_by(inter)
        assert not run(cert_backend(inter_dir, out, chain_path=chain))[0]
        (out / "envoy.crt").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        result = run(cert_backend(inter_dir, out, chain_path=chain))[1]
        assert result["reasons"] == ["certificate chain updated"] and not result["certificate_regenerated"]
        assert len(load_cert(out / "envoy.crt")) == 2


class TestHelpers:
    def test_keyspec_validation(self):
        with pytest.raises(pki.PKIError):
            pki.KeySpec("dsa")
        with pytest.raises(pki.PKIError):
            pki.KeySpec("rsa", 1024)
        with pytest.raises(pki.PKIError):
            pki.KeySpec("ec", curve="secp521r1")

    def test_keyspec_mismatch(self):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        assert pki.KeySpec("rsa", 2048).mismatch(key) is None
        assert pki.KeySpec("rsa", 4096).mismatch(key) == "key is RSA 2048, requested RSA 4096"

    def test_write_atomic_leaves_no_temp_files(self, tmp_path):
        target = tmp_path / "d" / "f"
        pki.write_atomic(str(target), b"one", 0o600)
        pki.write_atomic(str(target), b"two", 0o644)
        assert target.read_bytes() == b"two" and mode_of(target) == 0o644
        assert os.listdir(tmp_path / "d") == ["f"]

    def test_random_serial(self):
        serials = {pki.random_serial() for _i in range(100)}
        assert len(serials) == 100 and all(0 < s < 2**159 for s in serials)
