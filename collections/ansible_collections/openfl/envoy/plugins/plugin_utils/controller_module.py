# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Modules whose whole work is on the control node, run inside their action plugin's worker.

A module process costs about 0.3 s before it does anything (interpreter start, the AnsiballZ
payload, the module_utils compiled again from a zip): the biggest share of a no-op run of a few
envoys. A module that only reads and writes files of the control node (its inputs, its PKI) gets
an action plugin of this kind: the same argument spec and the same function in module_utils, so
the module file (its documentation, its main() for ansible-test and direct use) and the action
cannot drift apart. Arguments are validated as AnsibleModule validates them, no_log values are
removed from the result, and check mode is passed on.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from ansible.module_utils.basic import remove_values
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase


class ControllerModuleAction(ActionBase):
    """Subclasses set ``argument_spec`` and ``run_module = staticmethod(f)``; f(params, check_mode, diff) returns
    the module's result, or None when the module itself must run (``module``, with the task's arguments)."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    argument_spec: dict[str, Any] = {}
    run_module: Callable[[dict[str, Any], bool, bool], dict[str, Any] | None]
    module = ""

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        # Failures are results, as a module's are (an exception would bypass the task's failed_when, which the
        # shared steps use to fail every envoy with the reason).
        validation = ArgumentSpecValidator(self.argument_spec).validate(self._task.args)
        if validation.error_messages:
            return dict(result, failed=True, msg="; ".join(validation.error_messages))
        try:
            check_mode, diff = bool(self._task.check_mode), bool(self._task.diff)
            outcome = self.run_module(validation.validated_parameters, check_mode, diff)
        except Exception as exc:  # a module would end in a failed result too
            failure = {"failed": True, "msg": f"{type(exc).__name__}: {exc}", "exception": traceback.format_exc()}
            return dict(result, **remove_values(failure, validation._no_log_values))
        if outcome is None:
            args = self._task.args
            return dict(result, **self._execute_module(module_name=self.module, module_args=args, task_vars=task_vars))
        # AnsibleModule reads the same attribute to keep no_log values out of its result.
        result.update(remove_values(outcome, validation._no_log_values))
        return result
