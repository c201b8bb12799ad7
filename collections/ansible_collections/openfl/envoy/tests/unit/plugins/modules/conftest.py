# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module test here captures exit_json/fail_json as an Exit (see module_runner.py)."""

from __future__ import annotations

import pytest
from ansible.module_utils import basic
from ansible_collections.openfl.envoy.tests.unit.plugins.modules.module_runner import Exit


@pytest.fixture(autouse=True)
def capture(monkeypatch):
    def exit_json(self, **kwargs):
        raise Exit(kwargs, False)

    def fail_json(self, msg, **kwargs):
        raise Exit(dict(kwargs, msg=msg), True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
