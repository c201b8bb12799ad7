# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Many envoys' keys and certificates from one CA: idempotent, failures per envoy, loud regenerations."""

from __future__ import annotations

from ansible_collections.openfl.envoy.plugins.module_utils.envoy_certificates import issue_all
from ansible_collections.openfl.envoy.tests.unit.pki_factory import CA_CERT, CA_KEY, PASS


def params(ca_dir, tmp_path, names, regenerate="fail", **extra):
    envoys = [
        {
            "common_name": name,
            "certificate_path": str(tmp_path / name / "envoy.crt"),
            "private_key_path": str(tmp_path / name / "priv.key"),
            "root_ca_path": str(tmp_path / name / "root_ca.crt"),
            "subject_alt_names": [],
            "force": False,
            "regenerate": regenerate,
        }
        for name in names
    ]
    base = {
        "envoys": envoys,
        "ca_certificate_path": str(ca_dir / CA_CERT),
        "ca_private_key_path": str(ca_dir / CA_KEY),
        "ca_passphrase": PASS,
        "ca_chain_path": None,
        "organization_name": None,
        "key_type": "rsa",
        "key_size": 2048,
        "curve": "secp384r1",
        "valid_days": 365,
        "renew_before_days": 30,
    }
    return dict(base, **extra)


def test_check_run_check_run(ca_dir, tmp_path):
    p = params(ca_dir, tmp_path, ["e1", "e2"])
    assert all(r["changed"] for r in issue_all(p, check_mode=True).values())
    assert not (tmp_path / "e1").exists()
    first = issue_all(p, check_mode=False)
    assert all(r["changed"] for r in first.values())
    assert not any(r.get("warnings") for r in first.values())  # new files are no surprise
    assert not any(r["changed"] for r in issue_all(p, check_mode=True).values())
    again = issue_all(p, check_mode=False)
    assert not any(r["changed"] for r in again.values())
    assert "BEGIN" not in str(again)


def test_a_regenerated_key_warns_naming_the_envoy(ca_dir, tmp_path):
    issue_all(params(ca_dir, tmp_path, ["e1"]), check_mode=False)
    result = issue_all(params(ca_dir, tmp_path, ["e1"], "partial_idempotence", key_type="ec"), check_mode=False)["e1"]
    assert result["changed"] and result["key_regenerated"]
    assert result["warnings"] and result["warnings"][0].startswith("e1: new private key (")


def test_one_bad_envoy_does_not_stop_the_others(ca_dir, tmp_path):
    (tmp_path / "e2").mkdir()
    (tmp_path / "e2" / "priv.key").mkdir()  # a directory where the key should be
    results = issue_all(params(ca_dir, tmp_path, ["e1", "e2"]), check_mode=False)
    assert results["e1"]["changed"] and not results["e1"].get("failed")
    assert results["e2"]["failed"] and results["e2"]["msg"].startswith("e2: ")
