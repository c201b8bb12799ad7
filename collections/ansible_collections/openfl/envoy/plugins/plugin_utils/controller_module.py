# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Modules whose work can run inside their action plugin's worker, on the control node.

A module process costs about 0.3 s before it does anything (interpreter start, the AnsiballZ
payload, the module_utils compiled again from a zip): the biggest share of a no-op run of a few
envoys. Every module of this collection works from the control node (``ansible_connection:
local``): on its files (inputs, PKI) or through its clients of the Kubernetes API and of KubeFATE.
Such a module gets an action plugin of this kind: the same argument spec and the same function in
module_utils, so the module file (its documentation, its main() for ansible-test and direct use)
and the action cannot drift apart. Arguments are validated as AnsibleModule validates them,
no_log values are removed from the result, and check mode and diff are passed on. The backend is
imported when the action runs, in the worker: Ansible loads the plugin itself in its main process,
and every worker forked after it would copy a client library (kubernetes, cryptography) there.

The module process still runs where the worker would not do the same: over a connection that is
not local, with become, with a task ``environment`` (proxies, KUBECONFIG), in the background
(``async``), or when the backend cannot run here (a library the controller's Python lacks: its
import fails, or its function returns None).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import shutil
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterator
from typing import Any

from ansible.module_utils.basic import remove_values
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.json import Direction, get_module_encoder
from ansible.plugins.action import ActionBase

MODULE_UTILS = "ansible_collections.openfl.envoy.plugins.module_utils"


@contextlib.contextmanager
def as_a_module_process() -> Iterator[None]:
    """Run the backend as its module process would: what it would print on stderr (Python warnings, the log
    lines of a library without a handler), which Ansible drops there, is dropped here too (a worker's stderr
    shows up as a warning); its temporary files go to a directory of its own (0700), removed when it ends. A module
    process removes them at exit, a worker ends without running exit handlers, so the files the kubernetes
    client writes from a kubeconfig's inline data (a client key among them) would stay behind."""
    previous_tempdir, previous_logging = tempfile.tempdir, logging.root.manager.disable
    tempfile.tempdir = tempfile.mkdtemp(prefix="openfl-envoy-")
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        kube_config = sys.modules.get("kubernetes.config.kube_config")
        getattr(kube_config, "_cleanup_temp_files", lambda: None)()  # its cache of those files, which go now
        shutil.rmtree(tempfile.tempdir, ignore_errors=True)
        tempfile.tempdir = previous_tempdir
        logging.disable(previous_logging)


class ControllerModuleAction(ActionBase):
    """Subclasses name ``backend``, a module of this collection's module_utils, and in it the functions the
    module's main() calls too: ``spec_name`` returns the argument spec; ``function_name`` takes (params,
    check_mode, diff) and returns the module's result, or None when the module itself must run."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = True  # by running the module
    backend = ""
    spec_name, function_name = "argument_spec", "run"

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        if not self.runs_here():
            return dict(result, **self.module_result(task_vars))
        # The arguments as the module would get them: plain JSON values, not the controller's tagged strings
        # (which, for one, yaml.safe_dump cannot write).
        encoder = get_module_encoder("legacy", Direction.CONTROLLER_TO_MODULE)
        args = json.loads(json.dumps(self._task.args, cls=encoder))
        no_log_values: set[str] = set()
        # Failures are results, as a module's are (an exception would bypass the task's failed_when, which the
        # shared steps use to fail every envoy with the reason).
        try:
            with as_a_module_process():
                backend = importlib.import_module(f"{MODULE_UTILS}.{self.backend}")
                validation = ArgumentSpecValidator(getattr(backend, self.spec_name)()).validate(args)
                no_log_values = validation._no_log_values  # AnsibleModule keeps them out of its result the same way
                if validation.error_messages:
                    return dict(result, failed=True, msg="; ".join(validation.error_messages))
                check_mode, diff = bool(self._task.check_mode), bool(self._task.diff)
                outcome = getattr(backend, self.function_name)(validation.validated_parameters, check_mode, diff)
        except ImportError:  # a library this Python lacks, which the module's interpreter may have
            return dict(result, **self.module_result(task_vars))
        except Exception as exc:  # a module would end in a failed result too
            failure = {"failed": True, "msg": f"{type(exc).__name__}: {exc}", "exception": traceback.format_exc()}
            return dict(result, **remove_values(failure, no_log_values))
        if outcome is None:
            return dict(result, **self.module_result(task_vars))
        result.update(remove_values(outcome, no_log_values))
        return result

    def runs_here(self) -> bool:
        """The worker does what the module process would: on this machine, as this user, in this environment,
        and in the foreground."""
        local = getattr(self._connection, "transport", "local") == "local"
        environment = any(self._task.environment or ())  # a play's is [{}] when nothing is set
        return local and not (self._play_context.become or environment or self._task.async_val)

    def module_result(self, task_vars: dict[str, Any] | None) -> dict[str, Any]:
        """The module process's result, as Ansible's own action for modules gets it."""
        wrap_async = self._task.async_val
        outcome = self._execute_module(module_args=self._task.args, task_vars=task_vars, wrap_async=wrap_async)
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return outcome
