"""roles/director_cert through playbooks/pki.yml: the director's server certificate from the project CA."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from openfl_support import Run, run_playbooks, write_inventory

ISSUE_TASK = "director_cert : Issue or verify the director's key and server certificate"


def task_status(run: Run, task: str) -> str:
    """`changed`, `ok`, `fatal`, ... of the first host line after the task's header."""
    match = re.search(rf"TASK \[{re.escape(task)}\][^\n]*\n(?:.*\n)*?(changed|ok|fatal|skipping): ", run.stdout)
    return match.group(1) if match else "(task not run)"


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    return write_inventory(
        tmp_path,
        tmp_path / "unused-sandbox",
        {"envoy-1": {}, "envoy-2": {}},
        {"director_cert_extra_dns_names": ["director.fl.example.org"], "director_cert_extra_ips": ["127.0.0.1"]},
    )


def pki(inventory: Path, *extra: str) -> Run:
    return run_playbooks(inventory, "playbooks/pki.yml", extra=extra)


def test_director_certificate_is_issued_once_and_then_verified(inventory: Path, tmp_path: Path) -> None:
    statuses = [task_status(pki(inventory, *flags), ISSUE_TASK) for flags in (["--check"], [], ["--check"], [])]
    assert statuses == ["changed", "changed", "ok", "ok"]
    directory = tmp_path / "pki" / "director"
    assert sorted(p.name for p in directory.iterdir()) == ["director.crt", "priv.key", "root_ca.crt"]
    assert directory.joinpath("priv.key").stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate((directory / "director.crt").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["director", "director.fl.example.org"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(eku)
    ca = (tmp_path / "pki" / "ca" / "root_ca.crt").read_bytes()
    assert (directory / "root_ca.crt").read_bytes() == ca
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "pki" / "ca" / "root_ca.crt"), str(directory / "director.crt")],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # Renewed like the envoy certificates: within the renewal window, a new certificate for the same key.
    key = (directory / "priv.key").read_bytes()
    renewed = pki(inventory, "-e", "director_cert_valid_days=400", "-e", "director_cert_renew_before_days=399")
    assert task_status(renewed, ISSUE_TASK) == "changed"
    assert (directory / "priv.key").read_bytes() == key
    assert x509.load_pem_x509_certificate((directory / "director.crt").read_bytes()).serial_number != cert.serial_number


def test_director_name_must_not_be_an_envoy_name(inventory: Path, tmp_path: Path) -> None:
    run = pki(inventory, "-e", "openfl_director_fqdn=envoy-2")
    assert run.rc != 0
    assert task_status(run, "director_cert : Refuse a director name that is an envoy's name") == "fatal"
    assert "must not be empty or equal an envoy's" in run.stdout
    assert not (tmp_path / "pki" / "director").exists()
