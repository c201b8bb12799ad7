# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The run lock, taken and released on the controller for the ansible-playbook process that runs
the play (the parent of the worker this plugin runs in)."""

from __future__ import annotations

import os
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.openfl.envoy.plugins.module_utils.run_lock import LockError, Owner, acquire, release


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("path", "state", "wait"))
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        path = self._task.args.get("path")
        state = self._task.args.get("state", "present")
        if not path or state not in ("present", "absent"):
            raise AnsibleActionFail("run_lock needs a path and state present or absent")
        owner = Owner.of(os.getppid())  # the ansible-playbook process
        if self._task.check_mode:  # a preview writes nothing, the lock file neither
            return dict(result, skipped=True, skip_reason="check mode takes no lock")
        # The lock is the run's own bookkeeping, not a change to what it manages.
        if state == "absent":
            return dict(result, changed=False, released=release(path, owner))
        try:
            outcome = acquire(path, owner, wait=float(self._task.args.get("wait") or 0))
        except LockError as err:
            return dict(result, failed=True, msg=err.msg)
        result.update(outcome, changed=False, path=path)
        if outcome["state"] == "taken_over":
            result["warnings"] = [
                f"{path}: {outcome['stale']} ended without releasing the run lock (killed or failed); taken over"
            ]
        return result
