# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``regenerate`` policy for an existing private key (pki_certificate.CertificateBackend, and
envoy_certificates.issue_all per envoy): no key is replaced silently. Keys are made at test time."""

from __future__ import annotations

import pytest
from ansible_collections.openfl.envoy.plugins.module_utils import pki_common
from ansible_collections.openfl.envoy.plugins.module_utils.envoy_certificates import issue_all
from ansible_collections.openfl.envoy.plugins.module_utils.pki_certificate import REGENERATE, REGENERATE_DEFAULT
from ansible_collections.openfl.envoy.tests.unit.pki_factory import cert_backend, public_fp, run_backend
from ansible_collections.openfl.envoy.tests.unit.plugins.module_utils.test_envoy_certificates import params

EC = pki_common.KeySpec("ec", curve="secp384r1")
CORRUPT = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"


@pytest.fixture
def issued(tmp_path, ca_dir):
    """An envoy's files with an RSA 2048 key; (out dir, {file: bytes} as issued)."""
    out = tmp_path / "envoy-1"
    assert run_backend(cert_backend(ca_dir, out))[0]
    return out, {p.name: p.read_bytes() for p in out.iterdir()}


def files(out):
    return {p.name: p.read_bytes() for p in out.iterdir()}


def test_the_policies_and_the_default():
    assert REGENERATE == ("never", "fail", "partial_idempotence", "full_idempotence", "always")
    assert REGENERATE_DEFAULT == "fail"


@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "run"])
def test_default_fails_on_a_key_of_another_type_and_keeps_it(ca_dir, issued, check_mode):
    out, before = issued
    with pytest.raises(pki_common.PKIError) as failure:
        run_backend(cert_backend(ca_dir, out, key_spec=EC), check_mode=check_mode)
    message = str(failure.value)
    assert message.startswith(f"{out / 'priv.key'}: key is RSA 2048, requested EC secp384r1;")
    assert (
        "regenerate=fail" in message
        and "Way out: ask for the key it has (key_type/key_size/curve: RSA 2048)" in message
    )
    assert "regenerate=partial_idempotence (envoy_cert_regenerate)" in message and "regenerate=never" in message
    assert files(out) == before


@pytest.mark.parametrize("policy", ["fail", "never", "partial_idempotence"])
def test_an_unreadable_key_fails_unless_full_idempotence(ca_dir, issued, policy):
    out = issued[0]
    (out / "priv.key").write_text(CORRUPT)
    before = files(out)
    with pytest.raises(pki_common.PKIError) as failure:
        run_backend(cert_backend(ca_dir, out, regenerate=policy))
    message = str(failure.value)
    assert message.startswith(f"{out / 'priv.key'}: key unreadable (") and f"regenerate={policy})" in message
    assert "Way out: restore the key from a backup, or delete the file" in message
    assert "regenerate=full_idempotence" in message
    assert files(out) == before


def test_never_keeps_a_key_of_another_type_without_change(ca_dir, issued):
    out, before = issued
    for check_mode in (True, False):
        changed, result = run_backend(cert_backend(ca_dir, out, key_spec=EC, regenerate="never"), check_mode)
        assert not changed and not result["key_regenerated"] and result["reason"] == "unchanged"
    assert files(out) == before


def test_partial_idempotence_replaces_a_key_of_another_type_once(ca_dir, issued):
    out = issued[0]
    key_fp = public_fp(out / "priv.key")
    steps = [
        run_backend(cert_backend(ca_dir, out, key_spec=EC, regenerate="partial_idempotence"), check)[0]
        for check in (True, False, True, False)
    ]
    assert steps == [True, True, False, False]
    assert public_fp(out / "priv.key") != key_fp


def test_full_idempotence_replaces_an_unreadable_key(ca_dir, issued):
    out = issued[0]
    (out / "priv.key").write_text(CORRUPT)
    changed, result = run_backend(cert_backend(ca_dir, out, regenerate="full_idempotence"))
    assert changed and result["key_regenerated"] and result["reason"].startswith("key unreadable (")
    assert not run_backend(cert_backend(ca_dir, out, regenerate="full_idempotence"))[0]


def test_always_replaces_the_key_on_every_run(ca_dir, issued):
    out = issued[0]
    fingerprints = {public_fp(out / "priv.key")}
    for attempt in (1, 2):
        changed, result = run_backend(cert_backend(ca_dir, out, regenerate="always"))
        assert changed and result["key_regenerated"] and result["certificate_regenerated"], attempt
        assert result["reason"] == "key regenerated on every run (regenerate=always)"
        fingerprints.add(public_fp(out / "priv.key"))
    assert len(fingerprints) == 3


def test_an_unknown_policy_is_refused(ca_dir, tmp_path):
    with pytest.raises(pki_common.PKIError, match="regenerate 'sometimes' is not one of never, fail, "):
        cert_backend(ca_dir, tmp_path / "e", regenerate="sometimes")


def test_issue_all_fails_only_the_envoy_whose_key_differs(ca_dir, tmp_path):
    issue_all(params(ca_dir, tmp_path, ["e1"]), check_mode=False)
    results = issue_all(params(ca_dir, tmp_path, ["e1", "e2"], key_type="ec"), check_mode=False)
    assert results["e1"]["failed"] and not results["e1"]["changed"]
    assert results["e1"]["msg"].startswith(f"e1: {tmp_path / 'e1' / 'priv.key'}: key is RSA 2048, requested EC")
    assert not results["e2"].get("failed") and results["e2"]["changed"]  # a first key is no replacement


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ("partial_idempotence", "key type changed (key is RSA 2048, requested EC secp384r1)"),
        ("always", "key regenerated on every run (regenerate=always)"),
    ],
)
def test_issue_all_warns_naming_the_envoy_and_the_reason(ca_dir, tmp_path, policy, reason):
    issue_all(params(ca_dir, tmp_path, ["e1"]), check_mode=False)
    result = issue_all(params(ca_dir, tmp_path, ["e1"], policy, key_type="ec"), check_mode=False)["e1"]
    assert result["changed"] and result["key_regenerated"]
    assert result["warnings"] == [f"e1: new private key ({reason}); its secret is updated and the envoy restarts"]
