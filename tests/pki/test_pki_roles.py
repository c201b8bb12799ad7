"""The ca and envoy_cert roles through ansible-playbook over 3 envoys on the control node."""

from __future__ import annotations

import os
import stat

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pki_helpers import ENVOYS, PASSPHRASE


def serial(path) -> int:
    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number


def key_der(path) -> bytes:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_check_mode_on_a_fresh_site_writes_nothing(site):
    run = site.run("--check", "--diff")
    assert run.rc == 0, run.stdout + run.stderr
    assert all(run.changed(h) >= 1 for h in ENVOYS)
    assert not (site.pki / "ca" / "root_ca.crt").exists()
    assert not any((site.pki / "envoys").glob("*/*")) if (site.pki / "envoys").exists() else True


def test_second_run_changes_nothing_and_one_missing_cert_is_reissued_alone(site):
    first = site.run()
    assert first.rc == 0, first.stdout + first.stderr
    assert all(first.changed(h) >= 1 for h in ENVOYS)

    # The three files of each envoy-cert Secret, with their modes; one CA for all.
    for name in ENVOYS:
        envoy_dir = site.pki / "envoys" / name
        assert sorted(os.listdir(envoy_dir)) == ["envoy.crt", "priv.key", "root_ca.crt"]
        assert mode(envoy_dir) == 0o700 and mode(envoy_dir / "priv.key") == 0o600
        assert mode(envoy_dir / "envoy.crt") == 0o644 and mode(envoy_dir / "root_ca.crt") == 0o644
        assert (envoy_dir / "root_ca.crt").read_bytes() == (site.pki / "ca" / "root_ca.crt").read_bytes()
    assert mode(site.pki) == 0o700 and mode(site.pki / "ca") == 0o700

    second = site.run()
    assert second.rc == 0
    assert {h: second.changed(h) for h in (*ENVOYS, "localhost")} == dict.fromkeys((*ENVOYS, "localhost"), 0)

    serials = {name: serial(site.pki / "envoys" / name / "envoy.crt") for name in ENVOYS}
    keys = {name: key_der(site.pki / "envoys" / name / "priv.key") for name in ENVOYS}
    (site.pki / "envoys" / "envoy-2" / "envoy.crt").unlink()

    preview = site.run("--check", "--diff")
    assert preview.rc == 0
    assert {h: preview.changed(h) for h in ENVOYS} == {"envoy-1": 0, "envoy-2": 1, "envoy-3": 0}
    assert "certificate missing" in preview.stdout
    assert not (site.pki / "envoys" / "envoy-2" / "envoy.crt").exists()

    third = site.run()
    assert {h: third.changed(h) for h in ENVOYS} == {"envoy-1": 0, "envoy-2": 1, "envoy-3": 0}
    assert serial(site.pki / "envoys" / "envoy-1" / "envoy.crt") == serials["envoy-1"]
    assert serial(site.pki / "envoys" / "envoy-3" / "envoy.crt") == serials["envoy-3"]
    assert serial(site.pki / "envoys" / "envoy-2" / "envoy.crt") != serials["envoy-2"]
    assert key_der(site.pki / "envoys" / "envoy-2" / "priv.key") == keys["envoy-2"]  # same key, new cert

    fourth = site.run()
    assert all(fourth.changed(h) == 0 for h in ENVOYS)


def test_wrong_passphrase_fails_clearly_and_is_never_printed(site):
    assert site.run().rc == 0
    (site.pki / "envoys" / "envoy-3" / "envoy.crt").unlink()  # forces a signature, hence the CA key
    wrong = "definitely-not-the-passphrase"
    run = site.run("-vvv", passphrase=wrong)
    assert run.rc != 0
    assert "wrong passphrase" in run.stdout
    assert wrong not in run.stdout + run.stderr
    assert PASSPHRASE not in run.stdout + run.stderr
    assert "PRIVATE KEY" not in run.stdout + run.stderr
