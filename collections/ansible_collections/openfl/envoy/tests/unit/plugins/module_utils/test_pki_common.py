# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the helpers both PKI backends share (pki_common): key specs, atomic writes, serials."""

from __future__ import annotations

import os

import pytest
from ansible_collections.openfl.envoy.plugins.module_utils import pki_common
from ansible_collections.openfl.envoy.tests.unit.pki_factory import mode_of
from cryptography.hazmat.primitives.asymmetric import rsa


class TestHelpers:
    def test_keyspec_validation(self):
        with pytest.raises(pki_common.PKIError):
            pki_common.KeySpec("dsa")
        with pytest.raises(pki_common.PKIError):
            pki_common.KeySpec("rsa", 1024)
        with pytest.raises(pki_common.PKIError):
            pki_common.KeySpec("ec", curve="secp521r1")

    def test_keyspec_mismatch(self):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        assert pki_common.KeySpec("rsa", 2048).mismatch(key) is None
        assert pki_common.KeySpec("rsa", 4096).mismatch(key) == "key is RSA 2048, requested RSA 4096"

    def test_write_atomic_leaves_no_temp_files(self, tmp_path):
        target = tmp_path / "d" / "f"
        pki_common.write_atomic(str(target), b"one", 0o600)
        pki_common.write_atomic(str(target), b"two", 0o644)
        assert target.read_bytes() == b"two" and mode_of(target) == 0o644
        assert os.listdir(tmp_path / "d") == ["f"]

    def test_random_serial(self):
        serials = {pki_common.random_serial() for _i in range(100)}
        assert len(serials) == 100 and all(0 < s < 2**159 for s in serials)


def test_a_unit_interrupted_after_staging_is_completed(tmp_path):
    from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import PENDING, UNIT_MANIFEST, recover_unit

    key, cert = tmp_path / "priv.key", tmp_path / "envoy.crt"
    key.write_bytes(b"old key")
    cert.write_bytes(b"old cert")
    # A crash after the manifest and the first rename: the key is new, the certificate still old.
    (tmp_path / ("envoy.crt" + PENDING)).write_bytes(b"new cert")
    key.write_bytes(b"new key")
    (tmp_path / UNIT_MANIFEST).write_text(f"{key}\n{cert}")
    assert recover_unit(str(tmp_path)) == "completed an interrupted write"
    assert (key.read_bytes(), cert.read_bytes()) == (b"new key", b"new cert")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["envoy.crt", "priv.key"]


def test_a_unit_interrupted_while_staging_is_dropped(tmp_path):
    from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import PENDING, recover_unit, write_unit

    key, cert = tmp_path / "priv.key", tmp_path / "envoy.crt"
    write_unit([(str(key), b"old key", 0o600), (str(cert), b"old cert", 0o644)])
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    (tmp_path / ("priv.key" + PENDING)).write_bytes(b"half")  # no manifest: staging did not finish
    assert recover_unit(str(tmp_path)) == "dropped an unfinished write"
    assert (key.read_bytes(), cert.read_bytes()) == (b"old key", b"old cert")
    assert recover_unit(str(tmp_path)) is None
