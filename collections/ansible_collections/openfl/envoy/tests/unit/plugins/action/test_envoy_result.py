# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""envoy_result: one envoy's part of shared steps as its own task result."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.openfl.envoy.plugins.action.envoy_result import ActionModule


def run(args: dict, host: str = "e1", diff: bool = False, **registered) -> dict:
    task = MagicMock(args=args, diff=diff, check_mode=False, async_val=0)
    action = ActionModule(task, MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    return action.run(task_vars={"inventory_hostname": host, **registered})


INPUTS = {"envoys": {"e1": {"failed": True, "msg": "e1: bad port"}, "e2": {"failed": False, "changed": False}}}
SITES = {"envoys": {"e1": {"failed": False}, "e2": {"failed": True, "msg": "site group a: login refused"}}}


def test_one_batch_gives_the_envoys_own_result():
    assert run({"batch": "inputs"}, "e1", inputs=INPUTS)["msg"] == "e1: bad port"
    assert not run({"batch": "inputs"}, "e2", inputs=INPUTS).get("failed")


def test_several_batches_report_as_one_failed_when_any_failed():
    e1 = run({"batch": ["inputs", "sites"]}, "e1", inputs=INPUTS, sites=SITES)
    e2 = run({"batch": ["inputs", "sites"]}, "e2", inputs=INPUTS, sites=SITES)
    assert (e1["failed"], e1["msg"]) == (True, "e1: bad port")
    assert (e2["failed"], e2["msg"]) == (True, "site group a: login refused")


def test_changes_warnings_and_diffs_of_the_parts_add_up():
    a = {"envoys": {"e1": {"changed": True, "warnings": ["w1"], "diff": {"before": "1", "after": "2"}}}}
    b = {"envoys": {"e1": {"changed": False, "warnings": ["w2"], "msg": "kept"}}}
    result = run({"batch": ["a", "b"]}, diff=True, a=a, b=b)
    assert result["changed"] and result["warnings"] == ["w1", "w2"] and result["msg"] == "kept"
    assert result["diff"] == {"before": "1", "after": "2"}


def test_a_skipped_step_is_left_out_and_all_skipped_is_skipped():
    skipped = {"skipped": True, "skip_reason": "check_sites false"}
    assert run({"batch": ["inputs", "sites"]}, "e1", inputs=INPUTS, sites=skipped)["msg"] == "e1: bad port"
    assert run({"batch": "sites"}, sites=skipped)["skipped"]


def test_a_shared_step_that_failed_as_a_whole_fails_every_envoy():
    result = run({"batch": "sites"}, "e2", sites={"msg": "cannot read groups"})
    assert result["failed"] and result["msg"] == "e2: not done: the shared step failed: cannot read groups"


def test_part_and_bad_arguments():
    objects = {"envoys": {"e1": {"configmap": {"changed": True}, "secret": {"changed": False}}}}
    assert run({"batch": "objects", "part": "configmap"}, objects=objects)["changed"]
    with pytest.raises(AnsibleActionFail, match="not defined"):
        run({"batch": "missing"})
    with pytest.raises(AnsibleActionFail, match="must name"):
        run({"batch": []})
