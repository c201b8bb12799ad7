# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() as Ansible would and capture its result instead of exiting.

conftest.py makes exit_json/fail_json raise Exit for every test here."""

from __future__ import annotations

import pytest
from ansible.module_utils.testing import patch_module_args


class Exit(Exception):
    """What a module passed to exit_json/fail_json."""

    def __init__(self, result: dict, failed: bool) -> None:
        super().__init__(result)
        self.result = result
        self.failed = failed


def run_module(main, args: dict, check_mode: bool = False, diff: bool = False) -> Exit:
    full = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(full), pytest.raises(Exit) as info:
        main()
    return info.value
