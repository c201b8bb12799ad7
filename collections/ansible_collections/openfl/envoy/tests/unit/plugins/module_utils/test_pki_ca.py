# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the root CA backend (pki_ca.CABackend): creation, every broken-input case, check mode.

All key material is generated at test time in pytest's tmp_path (see pki_factory.py).
"""

from __future__ import annotations

import datetime
import json
import os

import pytest
from ansible_collections.openfl.envoy.plugins.module_utils import pki_ca, pki_common
from ansible_collections.openfl.envoy.tests.unit.pki_factory import (
    DAY,
    NOW,
    PASS,
    ca_backend,
    create_ca,
    handmade_ca,
    load_cert,
    mode_of,
    run_backend,
)
from cryptography import x509
from cryptography.hazmat.primitives import serialization


class TestCA:
    def test_create_profile_files_and_modes(self, tmp_path):
        ca_dir = tmp_path / "pki" / "ca"
        backend = pki_ca.CABackend(str(ca_dir / "root_ca.crt"), str(ca_dir / "root_ca.key"), PASS, path_length=0)
        changed, result = run_backend(backend)
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
        assert pki_common.is_self_signed(cert)
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
            (pki_common.KeySpec("ec", curve="secp256r1"), "EC secp256r1", "sha256"),
            (pki_common.KeySpec("ec", curve="secp384r1"), "EC secp384r1", "sha384"),
            (pki_common.KeySpec("rsa", 3072), "RSA 3072", "sha256"),
        ],
    )
    def test_key_types(self, tmp_path, spec, expected, digest):
        ca_dir = create_ca(tmp_path / "ca", key_spec=spec)
        cert = load_cert(ca_dir / "root_ca.crt")[0]
        assert pki_common.describe_key(cert.public_key()) == expected
        assert cert.signature_hash_algorithm.name == digest

    def test_four_steps_check_run_check_run(self, tmp_path):
        ca_dir = tmp_path / "ca"
        changes = []
        for check_mode in (True, False, True, False):
            changed = run_backend(ca_backend(ca_dir, key_spec=pki_common.KeySpec("rsa", 2048)), check_mode)[0]
            changes.append(changed)
            if check_mode and not changes[1:]:
                assert not ca_dir.exists()
        assert changes == [True, True, False, False]

    def test_unchanged_does_not_touch_files(self, ca_dir):
        before = {p: os.stat(ca_dir / p).st_mtime_ns for p in ("root_ca.crt", "root_ca.key")}
        changed, result = run_backend(ca_backend(ca_dir))
        assert not changed and result["reason"] == "unchanged"
        assert before == {p: os.stat(ca_dir / p).st_mtime_ns for p in ("root_ca.crt", "root_ca.key")}

    def test_check_mode_predicts_and_writes_nothing(self, tmp_path):
        backend = ca_backend(tmp_path / "ca", key_spec=pki_common.KeySpec("ec", curve="secp384r1"), common_name="X CA")
        changed, result = run_backend(backend, check_mode=True)
        assert changed and result["reason"] == "created"
        assert not (tmp_path / "ca").exists()
        assert result["certificate"]["subject"] == "CN=X CA"
        assert result["certificate"]["serial_number"] == "(new)"
        assert result["certificate"]["public_key"] == "EC secp384r1"
        assert backend.diff()["before"] == {}

    def test_refuses_unencrypted_creation(self, tmp_path):
        with pytest.raises(pki_common.PKIError, match="refusing to create a CA key without a passphrase"):
            run_backend(ca_backend(tmp_path / "ca", passphrase=None))
        assert not (tmp_path / "ca").exists()

    def test_unencrypted_creation_when_allowed(self, tmp_path):
        ca_dir = tmp_path / "ca"
        run_backend(ca_backend(ca_dir, passphrase=None, allow_unencrypted_key=True, key_spec=pki_common.KeySpec("ec")))
        assert b"ENCRYPTED" not in (ca_dir / "root_ca.key").read_bytes()
        backend = ca_backend(ca_dir, passphrase=None, allow_unencrypted_key=True)
        changed, result = run_backend(backend)
        assert not changed and result["private_key"]["encrypted"] is False
        assert any("not encrypted" in w for w in backend.warnings)

    def test_wrong_passphrase(self, ca_dir):
        with pytest.raises(pki_common.PKIError, match="wrong passphrase"):
            run_backend(ca_backend(ca_dir, passphrase="not it"))

    def test_missing_passphrase_for_encrypted_key(self, ca_dir):
        with pytest.raises(pki_common.PKIError, match="encrypted and no passphrase"):
            run_backend(ca_backend(ca_dir, passphrase=None))

    def test_corrupt_key(self, ca_dir):
        (ca_dir / "root_ca.key").write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
        with pytest.raises(pki_common.PKIError, match="not a readable PEM private key"):
            run_backend(ca_backend(ca_dir))

    def test_corrupt_certificate(self, ca_dir):
        (ca_dir / "root_ca.crt").write_text("garbage")
        with pytest.raises(pki_common.PKIError, match="not a PEM certificate"):
            run_backend(ca_backend(ca_dir))

    def test_mismatched_key_and_certificate(self, tmp_path, ca_dir):
        other = create_ca(tmp_path / "other")
        os.replace(other / "root_ca.key", ca_dir / "root_ca.key")
        with pytest.raises(pki_common.PKIError, match="does not match"):
            run_backend(ca_backend(ca_dir))

    @pytest.mark.parametrize("missing", ["root_ca.crt", "root_ca.key"])
    def test_half_a_ca_is_never_completed(self, ca_dir, missing):
        survivor = "root_ca.key" if missing == "root_ca.crt" else "root_ca.crt"
        content = (ca_dir / survivor).read_bytes()
        (ca_dir / missing).unlink()
        with pytest.raises(pki_common.PKIError, match="incomplete CA"):
            run_backend(ca_backend(ca_dir))
        assert (ca_dir / survivor).read_bytes() == content and not (ca_dir / missing).exists()

    def test_expired_ca_is_reported_not_regenerated(self, tmp_path):
        ca_dir = handmade_ca(tmp_path / "old", NOW - 400 * DAY, NOW - DAY)
        content = (ca_dir / "root_ca.crt").read_bytes()
        with pytest.raises(pki_common.PKIError, match=r"expired on .*never replaced silently.*Way out"):
            run_backend(ca_backend(ca_dir))
        assert (ca_dir / "root_ca.crt").read_bytes() == content

    def test_not_yet_valid_ca(self, tmp_path):
        ca_dir = handmade_ca(tmp_path / "future", NOW + 10 * DAY, NOW + 400 * DAY)
        with pytest.raises(pki_common.PKIError, match="not valid before"):
            run_backend(ca_backend(ca_dir))

    def test_ca_expiring_before_min_remaining_days(self, tmp_path):
        ca_dir = handmade_ca(tmp_path / "short", NOW - DAY, NOW + 100 * DAY)
        assert not run_backend(ca_backend(ca_dir))[0]
        with pytest.raises(pki_common.PKIError, match=r"\(99 days left\), before the 365 days required"):
            run_backend(ca_backend(ca_dir, min_remaining_days=365))

    def test_not_a_ca(self, tmp_path):
        ca_dir = handmade_ca(tmp_path / "leaf", NOW - DAY, NOW + 100 * DAY, ca=False)
        with pytest.raises(pki_common.PKIError, match="not a CA certificate"):
            run_backend(ca_backend(ca_dir))

    def test_bring_your_own(self, tmp_path):
        ca_dir = handmade_ca(tmp_path / "byo", NOW - DAY, NOW + 3000 * DAY)
        backend = ca_backend(ca_dir, mode="existing")
        changed, result = run_backend(backend)
        assert not changed and result["certificate"]["common_name"] == "Handmade byo"
        assert result["self_signed"] and not backend.warnings

    def test_bring_your_own_absent(self, tmp_path):
        with pytest.raises(pki_common.PKIError, match="mode=existing"):
            run_backend(ca_backend(tmp_path / "nothing", mode="existing"))

    def test_existing_ca_with_other_name_and_key_is_kept(self, tmp_path, ca_dir):
        backend = ca_backend(ca_dir, common_name="Another CA", key_spec=pki_common.KeySpec("ec"))
        changed, result = run_backend(backend)
        assert not changed and result["certificate"]["common_name"] == "OpenFL Federation Root CA"
        assert any("never regenerated" in w and "Another CA" in w for w in backend.warnings)
        assert any("EC secp384r1" in w for w in backend.warnings)

    def test_loose_key_mode_is_fixed(self, ca_dir):
        os.chmod(ca_dir / "root_ca.key", 0o644)
        assert run_backend(ca_backend(ca_dir), check_mode=True)[0]
        assert mode_of(ca_dir / "root_ca.key") == 0o644
        changed, result = run_backend(ca_backend(ca_dir))
        assert changed and result["reason"] == "file mode fixed"
        assert mode_of(ca_dir / "root_ca.key") == 0o600
        os.chmod(ca_dir / "root_ca.key", 0o400)  # the manual procedure's chmod 400 is fine
        assert not run_backend(ca_backend(ca_dir))[0]

    def test_concurrent_creation_never_mixes_key_and_certificate(self, tmp_path):
        first = ca_backend(tmp_path / "ca", key_spec=pki_common.KeySpec("ec"))
        second = ca_backend(tmp_path / "ca", key_spec=pki_common.KeySpec("ec"))
        for backend in (first, second):  # both decide "created" before either writes
            backend.set_existing()
            assert backend.needs_regeneration()
            backend.generate()
        first.write()
        with pytest.raises(pki_common.PKIError, match="another run created the CA"):
            second.write()
        assert not run_backend(ca_backend(tmp_path / "ca"))[0]  # key and certificate are the first run's pair

    def test_never_returns_secrets(self, ca_dir):
        backend = ca_backend(ca_dir)
        result = run_backend(backend)[1]
        text = json.dumps([result, backend.diff()])
        assert "PRIVATE KEY" not in text and PASS not in text
