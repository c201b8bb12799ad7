"""What the issued files are worth to OpenSSL and to a TLS stack: verify, profile text, mutual TLS."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import KeySpec
from ansible_collections.openfl.envoy.tests.unit.pki_factory import CA_CERT, cert_backend, create_ca, run_backend
from pki_helpers import ENVOYS, PASSPHRASE

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")


def openssl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([OPENSSL, *args], capture_output=True, text=True, timeout=60, check=False)


@needs_openssl
@pytest.mark.parametrize("name", ENVOYS)
def test_openssl_verify_and_profile(issued_site, name):
    envoy_dir = issued_site.pki / "envoys" / name
    verify = openssl("verify", "-CAfile", str(envoy_dir / "root_ca.crt"), str(envoy_dir / "envoy.crt"))
    assert verify.returncode == 0 and verify.stdout.strip().endswith(": OK"), verify.stdout + verify.stderr
    # the purposes the director and the aggregator check
    for purpose in ("sslclient", "sslserver"):
        check = openssl(
            "verify", "-purpose", purpose, "-CAfile", str(envoy_dir / "root_ca.crt"), str(envoy_dir / "envoy.crt")
        )
        assert check.returncode == 0, check.stdout + check.stderr
    text = openssl("x509", "-in", str(envoy_dir / "envoy.crt"), "-noout", "-text").stdout
    assert f"Subject: CN = {name}\n" in text
    assert "X509v3 Basic Constraints: critical\n                CA:FALSE" in text
    assert "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment" in text
    assert "TLS Web Client Authentication, TLS Web Server Authentication" in text
    assert f"X509v3 Subject Alternative Name: \n                DNS:{name}\n" in text
    assert "X509v3 Subject Key Identifier" in text and "X509v3 Authority Key Identifier" in text
    assert "Public-Key: (2048 bit)" in text
    assert openssl("pkey", "-in", str(envoy_dir / "priv.key"), "-noout").returncode == 0  # unencrypted, as OpenFL reads


@needs_openssl
def test_openssl_sees_the_ca_profile_and_encrypted_key(issued_site):
    ca_dir = issued_site.pki / "ca"
    text = openssl("x509", "-in", str(ca_dir / "root_ca.crt"), "-noout", "-text").stdout
    assert "X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0" in text
    assert "X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign" in text
    key = str(ca_dir / "root_ca.key")
    assert openssl("pkey", "-in", key, "-noout", "-passin", f"pass:{PASSPHRASE}").returncode == 0
    assert openssl("pkey", "-in", key, "-noout", "-passin", "pass:wrong").returncode != 0


@needs_openssl
def test_openssl_verifies_the_director_server_cert(issued_site):
    director = issued_site.pki / "director"
    verify = openssl(
        "verify", "-purpose", "sslserver", "-verify_hostname", "localhost", "-verify_ip", "127.0.0.1",
        "-CAfile", str(director / "root_ca.crt"), str(director / "director.crt"),
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr


def other_ca_client(tmp_path) -> tuple[str, str, str]:
    """An envoy-1 certificate from a different CA (same name, wrong root): (certificate, key, that CA's certificate)."""
    rogue_ca = create_ca(tmp_path / "rogue" / "ca", "x", key_spec=KeySpec("ec"))
    leaf = cert_backend(rogue_ca, tmp_path / "rogue" / "envoy-1", "envoy-1", "x")
    run_backend(leaf)
    return leaf.certificate_path, leaf.private_key_path, str(rogue_ca / CA_CERT)


def handshake(server_dir: Path, client_cert: str, client_key: str, client_ca: str) -> tuple[bool, str | None, str]:
    """One mutual-TLS handshake on 127.0.0.1 as the director's gRPC server does it (client auth required).

    Returns (client handshake ok, the client CN the server saw, error text).
    """
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(server_dir / "root_ca.crt"))
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.load_cert_chain(str(server_dir / "director.crt"), str(server_dir / "director.key"))
    client_ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=client_ca)
    client_ctx.load_cert_chain(client_cert, client_key)
    client_ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # the client learns of a rejected cert in the handshake

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen: dict[str, object] = {}

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                subject = dict(item[0] for item in tls.getpeercert()["subject"])
                seen["cn"] = subject.get("commonName")
                tls.sendall(b"ok")
        except (ssl.SSLError, OSError) as exc:
            seen["error"] = str(exc)
        finally:
            listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    error = ""
    ok = False
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            client_ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            ok = tls.recv(2) == b"ok"
    except (ssl.SSLError, OSError) as exc:
        error = str(exc)
    thread.join(timeout=10)
    return ok, seen.get("cn"), error + str(seen.get("error", ""))


@pytest.mark.parametrize("name", ENVOYS)
def test_mutual_tls_with_a_server_cert_from_the_same_ca(issued_site, name):
    envoy_dir = issued_site.pki / "envoys" / name
    ok, cn, error = handshake(
        issued_site.pki / "director",
        str(envoy_dir / "envoy.crt"),
        str(envoy_dir / "priv.key"),
        str(envoy_dir / "root_ca.crt"),
    )
    assert ok, error
    assert cn == name  # the aggregator's CN == collaborator name rule holds


def test_mutual_tls_fails_with_a_client_cert_from_another_ca(issued_site, tmp_path):
    cert, key, _rogue_ca = other_ca_client(tmp_path)
    ok, cn, error = handshake(
        issued_site.pki / "director", cert, key, str(issued_site.pki / "envoys" / "envoy-1" / "root_ca.crt")
    )
    assert not ok and cn is None
    # the server refuses the client certificate: unknown CA
    assert "certificate verify failed" in error or "unknown ca" in error, error


def test_envoy_rejects_a_director_from_another_ca(issued_site, tmp_path):
    rogue_ca = other_ca_client(tmp_path)[2]  # its CA becomes the envoy's (wrong) trust anchor
    envoy_dir = issued_site.pki / "envoys" / "envoy-1"
    ok, _, error = handshake(
        issued_site.pki / "director", str(envoy_dir / "envoy.crt"), str(envoy_dir / "priv.key"),
        rogue_ca,
    )  # fmt: skip
    assert not ok and "certificate verify failed" in error
