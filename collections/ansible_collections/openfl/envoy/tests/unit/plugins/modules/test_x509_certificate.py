# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""x509_certificate as Ansible runs it: the four-step pattern per profile, check mode, diff, failures."""

from __future__ import annotations

import json
import os

import pytest
from ansible_collections.openfl.envoy.plugins.modules import x509_certificate
from ansible_collections.openfl.envoy.tests.unit.pki_factory import PASS
from ansible_collections.openfl.envoy.tests.unit.plugins.modules.module_runner import (
    Exit,
    assert_spec_matches_documentation,
    run_module,
)
from cryptography import x509


def call(args: dict, check_mode: bool = False, diff: bool = False) -> Exit:
    return run_module(x509_certificate.main, args, check_mode, diff)


def cert_args(ca_dir, out, name="envoy-1", **extra) -> dict:
    return dict(
        common_name=name,
        certificate_path=str(out / "envoy.crt"),
        private_key_path=str(out / "priv.key"),
        root_ca_path=str(out / "root_ca.crt"),
        ca_certificate_path=str(ca_dir / "root_ca.crt"),
        ca_private_key_path=str(ca_dir / "root_ca.key"),
        ca_passphrase=PASS,
        **extra,
    )


@pytest.mark.parametrize(
    ("profile", "name", "sans"),
    [
        ("client", "envoy-1", []),
        ("server", "director.fl.example.org", ["DNS:director.fl.example.org", "IP:192.0.2.10"]),
    ],
)
def test_four_steps(tmp_path, ca_dir, profile, name, sans):
    out = tmp_path / name
    args = cert_args(ca_dir, out, name=name, profile=profile, subject_alt_names=sans)
    results = [call(args, check_mode=cm, diff=True) for cm in (True, False, True, False)]
    assert [r.failed for r in results] == [False] * 4
    assert [r.result["changed"] for r in results] == [True, True, False, False]
    assert results[0].result["reasons"] == ["key missing", "root CA file missing"]
    assert results[3].result["reason"] == "unchanged"
    facts = results[3].result["certificate"]
    assert facts["common_name"] == name and facts["profile"] == profile
    assert facts["subject_alt_names"] == (sans or [f"DNS:{name}"])
    assert facts["extended_key_usage"] == ["clientAuth", "serverAuth"]
    assert results[1].result["diff"]["after"]["serial_number"] == facts["serial_number"]


def test_check_mode_writes_nothing(tmp_path, ca_dir):
    out = tmp_path / "envoy-1"
    result = call(cert_args(ca_dir, out), check_mode=True, diff=True).result
    assert result["changed"] and not out.exists()
    assert result["diff"]["after"]["serial_number"] == "(new)"
    assert result["diff"]["after"]["reason"] == "key missing, root CA file missing"


def test_renewal_reason_in_result(tmp_path, ca_dir):
    out = tmp_path / "envoy-1"
    call(cert_args(ca_dir, out, valid_days=20, renew_before_days=5))
    result = call(cert_args(ca_dir, out), diff=True).result
    assert result["changed"] and result["reason"] == "expires within renewal window"
    assert not result["key_regenerated"] and result["certificate_regenerated"]
    assert result["diff"]["before"]["serial_number"] != result["diff"]["after"]["serial_number"]


def test_never_returns_key_material(tmp_path, ca_dir):
    out = tmp_path / "envoy-1"
    result = call(cert_args(ca_dir, out), diff=True).result
    text = json.dumps(result)
    assert "PRIVATE KEY" not in text and "BEGIN" not in text and PASS not in text
    assert sorted(os.listdir(out)) == ["envoy.crt", "priv.key", "root_ca.crt"]


def test_wrong_ca_passphrase(tmp_path, ca_dir):
    failure = call(dict(cert_args(ca_dir, tmp_path / "envoy-1"), ca_passphrase="nope"))
    assert failure.failed and failure.result["msg"].startswith("envoy-1: ")
    assert "wrong passphrase" in failure.result["msg"]


def test_ca_expiring_before_validity(tmp_path, ca_dir):
    failure = call(cert_args(ca_dir, tmp_path / "envoy-1", valid_days=9000))
    assert failure.failed and "would end after the CA" in failure.result["msg"]


def test_corrupt_ca_certificate(tmp_path, ca_dir):
    (ca_dir / "root_ca.crt").write_text("junk")
    failure = call(cert_args(ca_dir, tmp_path / "envoy-1"))
    assert failure.failed and "not a PEM certificate" in failure.result["msg"]


def test_director_ip_san(tmp_path, ca_dir):
    out = tmp_path / "director"
    call(cert_args(ca_dir, out, name="director", profile="server", subject_alt_names=["director", "192.0.2.10"]))
    cert = x509.load_pem_x509_certificate((out / "envoy.crt").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(v) for v in san.get_values_for_type(x509.IPAddress)] == ["192.0.2.10"]


def test_argument_spec_matches_documentation():
    spec = assert_spec_matches_documentation(x509_certificate)
    assert spec["ca_passphrase"]["no_log"] is True


def test_check_mode_before_the_ca_exists(tmp_path):
    out = tmp_path / "envoy-1"
    missing_ca = tmp_path / "not-yet"
    result = call(cert_args(missing_ca, out), check_mode=True, diff=True).result
    assert result["changed"] and result["reason"] == "ca missing (it would be created first)"
    assert result["certificate"]["serial_number"] == "(new)" and result["ca"]["subject"] is None
    assert not out.exists() and not missing_ca.exists()
    failure = call(cert_args(missing_ca, out))
    assert failure.failed and "CA certificate not found" in failure.result["msg"]
