# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() as Ansible would and capture its result instead of exiting.

conftest.py makes exit_json/fail_json raise Exit for every test here."""

from __future__ import annotations

import importlib

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

COLLECTION = "openfl.envoy"


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


def documented_options(module) -> tuple[dict, dict]:
    """(the module's own DOCUMENTATION options, the options its openfl.envoy doc fragments add)."""
    doc = yaml.safe_load(module.DOCUMENTATION)
    from_fragments: dict = {}
    for name in doc.get("extends_documentation_fragment", []):
        if name.startswith(f"{COLLECTION}."):
            path = f"ansible_collections.{COLLECTION}.plugins.doc_fragments.{name.rsplit('.', 1)[1]}"
            fragment = yaml.safe_load(importlib.import_module(path).ModuleDocFragment.DOCUMENTATION)
            from_fragments.update(fragment.get("options", {}))
    return doc["options"], from_fragments


def assert_spec_matches_documentation(module) -> dict:
    """Every documented option (the module's and its fragments') is in the argument spec with the same type,
    default, choices and elements, and nothing undocumented is; returns the spec."""
    own, from_fragments = documented_options(module)
    spec = module.argument_spec()
    assert set(own) | set(from_fragments) == set(spec)
    for name, option in {**from_fragments, **own}.items():
        assert option["type"] == spec[name]["type"], name
        assert option.get("default") == spec[name].get("default"), name
        assert option.get("choices") == spec[name].get("choices"), name
        assert option.get("elements") == spec[name].get("elements"), name
    return spec
