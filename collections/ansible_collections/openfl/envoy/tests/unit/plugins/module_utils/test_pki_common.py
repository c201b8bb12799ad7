# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
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
