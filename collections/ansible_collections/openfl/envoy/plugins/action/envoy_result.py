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
        host = task_vars.get("inventory_hostname")
        names = self._task.args.get("batch")
        names = [names] if isinstance(names, str) else names
        if not names or not all(isinstance(name, str) and name for name in names):
            raise AnsibleActionFail("batch must name the variable (or variables) the shared step registered")
        entries = []
        for name in names:
            batch = task_vars.get(name)
            if batch is None:
                raise AnsibleActionFail(f"{host}: {name} is not defined: the shared step did not run for this envoy")
            if batch.get("skipped"):
                continue
            entry = (batch.get("envoys") or {}).get(host)
            if entry is None:
                # The shared step failed as a whole: every envoy it blocks fails with its reason.
                reason = batch.get("msg") or "no result for this envoy"
                return dict(result, failed=True, msg=f"{host}: not done: the shared step failed: {reason}")
            entries.append(entry.get(self._task.args["part"]) or {} if self._task.args.get("part") else entry)
        if not entries:
            return dict(result, skipped=True, skip_reason="the shared step was skipped")
        return self._report(result, host, entries)

    def _report(self, result: dict[str, Any], host: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """The task result of the envoy's entries (several checks of one envoy report as one)."""
        for entry in entries:
            result.update({key: value for key, value in entry.items() if key not in _RESULT_FIELDS})
        result["changed"] = any(entry.get("changed") for entry in entries)
        failed = [entry for entry in entries if entry.get("failed")]
        messages = [entry.get("msg") for entry in (failed or entries) if entry.get("msg")]
        if failed:
            result["failed"] = True
            result["msg"] = "; ".join(messages) or f"{host}: failed"
        elif messages:
            result["msg"] = "; ".join(messages)
        warnings = [warning for entry in entries for warning in entry.get("warnings") or []]
        if warnings:
            result["warnings"] = warnings
        diffs = [entry["diff"] for entry in entries if entry.get("diff")]
        if self._task.diff and diffs:
            result["diff"] = diffs[0] if len(diffs) == 1 else diffs
        return result
