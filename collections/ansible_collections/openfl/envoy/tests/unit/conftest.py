# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by the unit tests; the throwaway CAs come from pki_factory.py."""

from __future__ import annotations

import pytest
from ansible_collections.openfl.envoy.tests.unit.pki_factory import create_ca


@pytest.fixture
def ca_dir(tmp_path):
    """A CA (RSA 2048, made 500 days ago, key encrypted with pki_factory.PASS) in tmp_path/ca."""
    return create_ca(tmp_path / "ca")
