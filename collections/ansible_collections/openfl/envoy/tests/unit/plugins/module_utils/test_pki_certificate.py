# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the leaf certificate backend (pki_certificate.CertificateBackend) and the CA that signs it
(pki_ca.SigningCA): every regeneration rule, every broken-input case, check mode.

All key material is generated at test time in pytest's tmp_path (see pki_factory.py).
"""

from __future__ import annotations

import json
import os

import pytest
from ansible_collections.openfl.envoy.plugins.module_utils import pki_certificate, pki_common
from ansible_collections.openfl.envoy.tests.unit.pki_factory import (
    DAY,
    NOW,
    PASS,
    cert_backend,
    create_ca,
    handmade_ca,
    handmade_leaf,
    load_cert,
    mode_of,
    public_fp,
    run_backend,
)
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID


@pytest.fixture
def issued(tmp_path, ca_dir):
    out = tmp_path / "envoys" / "envoy-1"
    changed, result = run_backend(cert_backend(ca_dir, out))
    assert changed
    return out, result


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
        assert pki_common.describe_key(cert.public_key()) == "RSA 2048"
        assert cert.serial_number.bit_length() > 64
        assert cert.not_valid_after_utc - NOW > 364 * DAY
        assert b"ENCRYPTED" not in (out / "priv.key").read_bytes()
        assert result["reasons"] == ["key missing", "root CA file missing"]
        assert result["key_regenerated"] and result["certificate_regenerated"]
        assert result["certificate"]["profile"] == "client"

    def test_serials_are_unique(self, tmp_path, ca_dir):
        serials = set()
        for i in range(5):
            result = run_backend(
                cert_backend(ca_dir, tmp_path / f"e{i}", name=f"e{i}", key_spec=pki_common.KeySpec("ec"))
            )[1]
            serials.add(result["certificate"]["serial_number"])
        assert len(serials) == 5

    def test_four_steps_check_run_check_run(self, tmp_path, ca_dir):
        out = tmp_path / "envoy-1"
        changes = []
        for check_mode in (True, False, True, False):
            changed = run_backend(cert_backend(ca_dir, out), check_mode)[0]
            changes.append(changed)
            if len(changes) == 1:
                assert not out.exists()
        assert changes == [True, True, False, False]

    def test_unchanged_never_opens_the_ca_key(self, ca_dir, issued):
        out = issued[0]
        backend = cert_backend(ca_dir, out, passphrase="wrong, and never needed")
        changed, result = run_backend(backend)
        assert not changed and result["reason"] == "unchanged" and result["reasons"] == []
        assert backend.ca._key is None
        assert 360 <= result["days_remaining"] <= 365

    def test_valid_days_change_alone_does_not_reissue(self, ca_dir, issued):
        out = issued[0]
        assert not run_backend(cert_backend(ca_dir, out, valid_days=90, renew_before_days=10))[0]

    def test_renewal_window_keeps_the_key(self, tmp_path, ca_dir):
        out = tmp_path / "envoy-1"
        run_backend(cert_backend(ca_dir, out, now=NOW - 340 * DAY))  # issued 340 days ago: 25 days left
        key_fp, serial = public_fp(out / "priv.key"), load_cert(out / "envoy.crt")[0].serial_number
        backend = cert_backend(ca_dir, out)
        changed, result = run_backend(backend, check_mode=True)
        assert changed and result["reason"] == "expires within renewal window"
        assert result["certificate"]["serial_number"] == "(new)" and not result["key_regenerated"]
        assert load_cert(out / "envoy.crt")[0].serial_number == serial  # check mode wrote nothing
        changed, result = run_backend(cert_backend(ca_dir, out))
        assert changed and result["reason"] == "expires within renewal window"
        assert public_fp(out / "priv.key") == key_fp
        assert load_cert(out / "envoy.crt")[0].serial_number != serial
        assert not run_backend(cert_backend(ca_dir, out))[0]

    def test_outside_renewal_window_is_kept(self, tmp_path, ca_dir):
        out = tmp_path / "envoy-1"
        run_backend(cert_backend(ca_dir, out, now=NOW - 300 * DAY))  # 65 days left
        assert not run_backend(cert_backend(ca_dir, out))[0]
        result = run_backend(cert_backend(ca_dir, out, renew_before_days=90))[1]
        assert result["reason"] == "expires within renewal window"

    def test_expired_certificate(self, tmp_path, ca_dir):
        out = tmp_path / "envoy-1"
        run_backend(cert_backend(ca_dir, out, now=NOW - 400 * DAY))
        key_fp = public_fp(out / "priv.key")
        result = run_backend(cert_backend(ca_dir, out))[1]
        assert result["reason"] == "expired" and public_fp(out / "priv.key") == key_fp

    def test_ca_changed(self, tmp_path, ca_dir, issued):
        out = issued[0]
        key_fp = public_fp(out / "priv.key")
        new_ca = create_ca(tmp_path / "new-ca")
        changed, result = run_backend(cert_backend(new_ca, out))
        assert changed and result["reasons"] == ["ca changed", "root CA file updated"]
        assert public_fp(out / "priv.key") == key_fp
        assert (out / "root_ca.crt").read_bytes() == (new_ca / "root_ca.crt").read_bytes()
        load_cert(out / "envoy.crt")[0].verify_directly_issued_by(load_cert(new_ca / "root_ca.crt")[0])

    def test_same_subject_other_ca_is_detected_by_signature(self, tmp_path, ca_dir, issued):
        out = issued[0]
        twin = create_ca(tmp_path / "twin")  # same CN as the first CA, other key
        result = run_backend(cert_backend(twin, out))[1]
        assert result["reason"] == "ca changed"

    def test_name_changed(self, ca_dir, issued):
        out = issued[0]
        result = run_backend(cert_backend(ca_dir, out, name="envoy-one"))[1]
        assert result["reason"] == "name changed" and not result["key_regenerated"]
        assert load_cert(out / "envoy.crt")[0].subject.rfc4514_string() == "CN=envoy-one"

    def test_extra_san_changes_name(self, ca_dir, issued):
        out = issued[0]
        result = run_backend(cert_backend(ca_dir, out, subject_alt_names=["DNS:envoy-1.example.org"]))[1]
        assert result["reason"] == "name changed"
        assert result["certificate"]["subject_alt_names"] == ["DNS:envoy-1", "DNS:envoy-1.example.org"]
        assert not run_backend(cert_backend(ca_dir, out, subject_alt_names=["envoy-1.example.org"]))[0]

    def test_profile_changed(self, ca_dir, issued):
        out = issued[0]
        # Re-sign the same key and names without EKU (what `openssl ca` without -extensions produces).
        old = load_cert(out / "envoy.crt")[0]
        bare = handmade_leaf(ca_dir, old.subject, old.public_key(), ["envoy-1"], NOW - DAY, NOW + 300 * DAY)
        (out / "envoy.crt").write_bytes(bare.public_bytes(serialization.Encoding.PEM))
        result = run_backend(cert_backend(ca_dir, out))[1]
        assert result["reason"].startswith("profile changed") and not result["key_regenerated"]
        assert pki_certificate.profile_mismatch(load_cert(out / "envoy.crt")[0], "client") is None

    @pytest.mark.parametrize(
        ("spec", "expected"),
        [(pki_common.KeySpec("ec", curve="secp384r1"), "EC secp384r1"), (pki_common.KeySpec("rsa", 3072), "RSA 3072")],
    )
    def test_key_type_changed(self, ca_dir, issued, spec, expected):
        out = issued[0]
        key_fp = public_fp(out / "priv.key")
        result = run_backend(cert_backend(ca_dir, out, key_spec=spec, regenerate="partial_idempotence"))[1]
        assert result["reason"].startswith("key type changed") and result["key_regenerated"]
        assert public_fp(out / "priv.key") != key_fp
        assert result["certificate"]["public_key"] == expected
        assert not run_backend(cert_backend(ca_dir, out, key_spec=spec))[0]

    def test_key_missing(self, ca_dir, issued):
        out = issued[0]
        (out / "priv.key").unlink()
        result = run_backend(cert_backend(ca_dir, out))[1]
        assert result["reasons"] == ["key missing"] and result["certificate_regenerated"]
        assert pki_common.same_public_key(
            load_cert(out / "envoy.crt")[0].public_key(),
            serialization.load_pem_private_key((out / "priv.key").read_bytes(), None).public_key(),
        )

    def test_corrupt_key(self, ca_dir, issued):
        out = issued[0]
        (out / "priv.key").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        result = run_backend(cert_backend(ca_dir, out, regenerate="full_idempotence"))[1]
        assert result["reason"].startswith("key unreadable") and result["key_regenerated"]

    def test_encrypted_key_is_unreadable(self, ca_dir, issued):
        out = issued[0]
        key = serialization.load_pem_private_key((out / "priv.key").read_bytes(), None)
        (out / "priv.key").write_bytes(pki_common.serialize_key(key, "x"))
        result = run_backend(cert_backend(ca_dir, out, regenerate="full_idempotence"))[1]
        assert result["reason"].startswith("key unreadable") and "encrypted" in result["reason"]

    def test_certificate_missing(self, ca_dir, issued):
        out = issued[0]
        key_fp = public_fp(out / "priv.key")
        (out / "envoy.crt").unlink()
        result = run_backend(cert_backend(ca_dir, out))[1]
        assert result["reasons"] == ["certificate missing"] and not result["key_regenerated"]
        assert public_fp(out / "priv.key") == key_fp

    def test_corrupt_certificate(self, ca_dir, issued):
        out = issued[0]
        (out / "envoy.crt").write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
        result = run_backend(cert_backend(ca_dir, out))[1]
        assert result["reason"] == "certificate unreadable" and not result["key_regenerated"]

    def test_mismatched_key_and_certificate(self, tmp_path, ca_dir, issued):
        out = issued[0]
        other = tmp_path / "other"
        run_backend(cert_backend(ca_dir, other))
        os.replace(other / "priv.key", out / "priv.key")
        key_fp = public_fp(out / "priv.key")
        result = run_backend(cert_backend(ca_dir, out))[1]
        assert result["reason"] == "certificate does not match key" and not result["key_regenerated"]
        assert public_fp(out / "priv.key") == key_fp

    def test_root_ca_file_rewritten_without_reissue(self, ca_dir, issued):
        out = issued[0]
        serial = load_cert(out / "envoy.crt")[0].serial_number
        (out / "root_ca.crt").unlink()
        result = run_backend(cert_backend(ca_dir, out))[1]
        assert result["reasons"] == ["root CA file missing"] and not result["certificate_regenerated"]
        assert load_cert(out / "envoy.crt")[0].serial_number == serial
        assert (out / "root_ca.crt").read_bytes() == (ca_dir / "root_ca.crt").read_bytes()

    def test_modes_fixed(self, ca_dir, issued):
        out = issued[0]
        os.chmod(out / "priv.key", 0o644)
        os.chmod(out / "envoy.crt", 0o600)
        changed, result = run_backend(cert_backend(ca_dir, out))
        assert changed and result["reasons"] == ["file mode fixed"] and not result["certificate_regenerated"]
        assert mode_of(out / "priv.key") == 0o600 and mode_of(out / "envoy.crt") == 0o644

    def test_force(self, ca_dir, issued):
        out = issued[0]
        result = run_backend(cert_backend(ca_dir, out, force=True))[1]
        assert result["reason"] == "forced" and not result["key_regenerated"]

    def test_check_mode_writes_nothing(self, ca_dir, issued):
        out = issued[0]
        snapshot = {p: (out / p).read_bytes() for p in os.listdir(out)}
        (out / "envoy.crt").unlink()
        backend = cert_backend(
            ca_dir, out, name="renamed", key_spec=pki_common.KeySpec("ec"), regenerate="partial_idempotence"
        )
        changed, result = run_backend(backend, check_mode=True)
        assert changed and result["key_regenerated"]
        assert sorted(os.listdir(out)) == ["priv.key", "root_ca.crt"]
        assert all((out / p).read_bytes() == snapshot[p] for p in os.listdir(out))
        assert result["certificate"]["common_name"] == "renamed"
        assert result["certificate"]["public_key"] == "EC secp384r1"
        assert backend.ca._key is None  # nothing signed

    def test_diff_shows_facts_never_keys(self, ca_dir, issued):
        out = issued[0]
        backend = cert_backend(ca_dir, out, name="envoy-2")
        run_backend(backend)
        diff = backend.diff()
        assert diff["before"]["common_name"] == "envoy-1" and diff["after"]["common_name"] == "envoy-2"
        assert diff["after"]["reason"] == "name changed"
        assert diff["before"]["serial_number"] != diff["after"]["serial_number"]
        text = json.dumps([diff, backend.dump()])
        assert "PRIVATE KEY" not in text and PASS not in text and "BEGIN" not in text

    def test_ca_expiring_before_requested_validity(self, tmp_path):
        ca_dir = handmade_ca(tmp_path / "short", NOW - DAY, NOW + 100 * DAY)
        out = tmp_path / "envoy-1"
        with pytest.raises(pki_common.PKIError, match=r"365-day certificate would end after the CA.*Way out"):
            run_backend(cert_backend(ca_dir, out))
        assert not out.exists()
        run_backend(cert_backend(ca_dir, out, valid_days=90, renew_before_days=10))
        assert (
            load_cert(out / "envoy.crt")[0].not_valid_after_utc
            <= load_cert(ca_dir / "root_ca.crt")[0].not_valid_after_utc
        )

    def test_expired_ca_cannot_sign(self, tmp_path):
        ca_dir = handmade_ca(tmp_path / "old", NOW - 400 * DAY, NOW - DAY)
        with pytest.raises(pki_common.PKIError, match="expired"):
            run_backend(cert_backend(ca_dir, tmp_path / "envoy-1"))

    def test_wrong_ca_passphrase_when_signing(self, tmp_path, ca_dir):
        with pytest.raises(pki_common.PKIError, match="wrong passphrase"):
            run_backend(cert_backend(ca_dir, tmp_path / "envoy-1", passphrase="nope"))
        assert not (tmp_path / "envoy-1" / "envoy.crt").exists()

    def test_missing_ca(self, tmp_path):
        with pytest.raises(pki_common.PKIError, match="CA certificate not found"):
            cert_backend(tmp_path / "none", tmp_path / "envoy-1")

    def test_renew_before_days_must_be_below_valid_days(self, ca_dir, tmp_path):
        with pytest.raises(pki_common.PKIError, match="renew_before_days"):
            cert_backend(ca_dir, tmp_path / "e", valid_days=30, renew_before_days=30)

    def test_server_profile_for_the_director(self, tmp_path, ca_dir):
        out = tmp_path / "director"
        sans = ["IP:192.0.2.10", "DNS:director.fl.example.org", "director"]
        backend = cert_backend(ca_dir, out, name="director.fl.example.org", profile="server", subject_alt_names=sans)
        result = run_backend(backend)[1]
        cert = load_cert(out / "envoy.crt")[0]
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == ["director.fl.example.org", "director"]
        assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["192.0.2.10"]
        assert result["certificate"]["profile"] == "server"
        # SAN order does not matter for idempotence
        again = cert_backend(
            ca_dir, out, name="director.fl.example.org", profile="server", subject_alt_names=list(reversed(sans))
        )
        assert not run_backend(again)[0]

    def test_bad_san(self, ca_dir, tmp_path):
        with pytest.raises(pki_common.PKIError, match="not an IP address"):
            cert_backend(ca_dir, tmp_path / "e", subject_alt_names=["IP:director"])
        with pytest.raises(pki_common.PKIError, match="neither"):
            cert_backend(ca_dir, tmp_path / "e", subject_alt_names=["URI:x y"])

    def test_intermediate_ca_chain(self, tmp_path):
        root_dir = create_ca(tmp_path / "root", path_length=1)
        root_cert = load_cert(root_dir / "root_ca.crt")[0]
        inter_dir = handmade_ca(
            tmp_path / "inter", NOW - DAY, NOW + 1000 * DAY, common_name="Signing CA", path_length=0, signed_by=root_dir
        )
        inter = load_cert(inter_dir / "root_ca.crt")[0]
        with pytest.raises(pki_common.PKIError, match="intermediate CA"):
            cert_backend(inter_dir, tmp_path / "e")
        chain = str(root_dir / "root_ca.crt")
        out = tmp_path / "e"
        run_backend(cert_backend(inter_dir, out, chain_path=chain))
        leaf, middle = load_cert(out / "envoy.crt")
        assert middle == inter and load_cert(out / "root_ca.crt") == [root_cert]
        leaf.verify_directly_issued_by(inter)
        assert not run_backend(cert_backend(inter_dir, out, chain_path=chain))[0]
        (out / "envoy.crt").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        result = run_backend(cert_backend(inter_dir, out, chain_path=chain))[1]
        assert result["reasons"] == ["certificate chain updated"] and not result["certificate_regenerated"]
        assert len(load_cert(out / "envoy.crt")) == 2
