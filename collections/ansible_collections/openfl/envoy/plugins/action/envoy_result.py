# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turns one envoy's entry of a shared step's result into that envoy's own task result.

A shared step (a module run once for every envoy of the play) returns ``envoys: {name: entry}``;
this runs on the controller, with no module process, so that every envoy still gets its own
``changed``, failure, message, warnings and diff in the recap, with --limit, serial and check mode
as usual.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

# Keys of an entry that are the task result's own fields, not data.
_RESULT_FIELDS = ("changed", "failed", "msg", "diff", "warnings", "skipped")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("batch", "part"))
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        batch_name = self._task.args.get("batch")
        part = self._task.args.get("part")
        if not isinstance(batch_name, str) or not batch_name:
            raise AnsibleActionFail("batch must name the variable the shared step registered")
        host = task_vars.get("inventory_hostname")
        batch = task_vars.get(batch_name)
        if batch is None:
            raise AnsibleActionFail(f"{host}: {batch_name} is not defined: the shared step did not run for this envoy")
        if batch.get("skipped"):
            return dict(result, skipped=True, skip_reason=batch.get("skip_reason", "the shared step was skipped"))

        entry = (batch.get("envoys") or {}).get(host)
        if entry is None:
            # The shared step failed as a whole: every envoy it blocks fails with its reason.
            reason = batch.get("msg") or "no result for this envoy"
            return dict(result, failed=True, msg=f"{host}: not done: the shared step failed: {reason}")
        if part:
            entry = entry.get(part) or {}

        result.update({key: value for key, value in entry.items() if key not in _RESULT_FIELDS})
        result["changed"] = bool(entry.get("changed"))
        if entry.get("failed"):
            result["failed"] = True
            result["msg"] = entry.get("msg") or f"{host}: failed"
        elif entry.get("msg"):
            result["msg"] = entry["msg"]
        if entry.get("warnings"):
            result["warnings"] = list(entry["warnings"])
        if self._task.diff and entry.get("diff"):
            result["diff"] = entry["diff"]
        return result
