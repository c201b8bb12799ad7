# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""x509_ca as Ansible runs it: the four-step pattern, check mode, diff, failures, no secrets out."""

from __future__ import annotations

import json
import os
import stat

from ansible.module_utils import basic
from ansible_collections.openfl.envoy.plugins.modules import x509_ca
from ansible_collections.openfl.envoy.tests.unit.pki_factory import DAY, NOW, PASS, handmade_ca
from ansible_collections.openfl.envoy.tests.unit.plugins.modules.module_runner import (
    Exit,
    assert_spec_matches_documentation,
    run_module,
)


def call(args: dict, check_mode: bool = False, diff: bool = False) -> Exit:
    return run_module(x509_ca.main, args, check_mode, diff)


def ca_args(tmp_path, **extra) -> dict:
    return dict(
        certificate_path=str(tmp_path / "ca" / "root_ca.crt"),
        private_key_path=str(tmp_path / "ca" / "root_ca.key"),
        passphrase=PASS,
        key_type="ec",
        curve="secp256r1",
        **extra,
    )


def test_four_steps(tmp_path):
    args = ca_args(tmp_path)
    results = [call(args, check_mode=cm, diff=True) for cm in (True, False, True, False)]
    assert [r.failed for r in results] == [False] * 4
    assert [r.result["changed"] for r in results] == [True, True, False, False]
    assert [r.result["reason"] for r in results] == ["created", "created", "unchanged", "unchanged"]
    assert results[0].result["diff"]["before"] == {}
    assert results[0].result["certificate"]["serial_number"] == "(new)"
    assert results[1].result["diff"]["after"]["serial_number"] == results[3].result["certificate"]["serial_number"]
    assert results[3].result["diff"]["before"] == results[3].result["diff"]["after"]


def test_check_mode_writes_nothing(tmp_path):
    result = call(ca_args(tmp_path), check_mode=True).result
    assert result["changed"] and not (tmp_path / "ca").exists()


def test_result_has_facts_and_no_secrets(tmp_path):
    result = call(ca_args(tmp_path, common_name="Site A Root", organization_name="Example"), diff=True).result
    assert result["certificate"]["subject"] == "CN=Site A Root,O=Example"
    assert result["certificate"]["basic_constraints"] == {"ca": True, "path_length": 0, "critical": True}
    assert result["private_key"]["type"] == "EC secp256r1" and result["private_key"]["encrypted"]
    assert result["self_signed"] and result["days_remaining"] == 7299
    text = json.dumps(result)
    assert PASS not in text and "PRIVATE KEY" not in text
    assert stat.S_IMODE(os.stat(tmp_path / "ca" / "root_ca.key").st_mode) == 0o600


def test_path_length_unlimited(tmp_path):
    result = call(ca_args(tmp_path, path_length=-1)).result
    assert result["certificate"]["basic_constraints"]["path_length"] is None


def test_wrong_passphrase_fails(tmp_path):
    call(ca_args(tmp_path))
    failure = call(dict(ca_args(tmp_path), passphrase="wrong"))
    assert failure.failed and "wrong passphrase" in failure.result["msg"]
    assert "wrong" not in json.dumps({k: v for k, v in failure.result.items() if k != "msg"})


def test_no_passphrase_refused(tmp_path):
    args = ca_args(tmp_path)
    del args["passphrase"]
    failure = call(args)
    assert failure.failed and "refusing to create a CA key without a passphrase" in failure.result["msg"]


def test_bring_your_own_missing(tmp_path):
    failure = call(ca_args(tmp_path, mode="existing"))
    assert failure.failed and "bring your own CA" in failure.result["msg"]


def test_expired_ca_fails_with_way_out(tmp_path):
    handmade_ca(tmp_path / "ca", NOW - 800 * DAY, NOW - DAY, common_name="Old CA")
    failure = call(ca_args(tmp_path), check_mode=True)
    assert failure.failed and "expired" in failure.result["msg"] and "Way out" in failure.result["msg"]


def test_warns_when_existing_ca_differs(tmp_path, monkeypatch):
    call(ca_args(tmp_path))
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, w: warnings.append(w))
    result = call(ca_args(tmp_path, common_name="Different")).result
    assert not result["changed"] and any("never regenerated" in w for w in warnings)


def test_argument_spec_matches_documentation():
    spec = assert_spec_matches_documentation(x509_ca)
    assert spec["passphrase"]["no_log"] is True


def test_private_dirs_created_and_narrowed(tmp_path):
    pki = tmp_path / "pki"
    args = ca_args(pki, private_dirs=[str(pki), str(pki / "ca")])
    predicted = call(args, check_mode=True)
    assert predicted.result["private_dirs_changed"] == [str(pki), str(pki / "ca")]
    assert not pki.exists()
    assert call(args).result["private_dirs_changed"] == [str(pki), str(pki / "ca")]
    assert stat.S_IMODE(os.stat(pki).st_mode) == 0o700
    again = call(args)
    assert (again.result["changed"], again.result["private_dirs_changed"]) == (False, [])
    os.chmod(pki, 0o755)
    widened = call(args)
    assert (widened.result["changed"], widened.result["private_dirs_changed"]) == (True, [str(pki)])
    assert stat.S_IMODE(os.stat(pki).st_mode) == 0o700
