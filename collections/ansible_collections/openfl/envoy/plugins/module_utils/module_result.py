# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The main() of a module whose action plugin (plugin_utils/controller_module) calls the same function, and how
it ends: with that function's result, ``failed``/``msg`` and ``warnings`` included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib


def exit_module(module: Any, result: dict[str, Any]) -> None:
    """End an AnsibleModule with a module result of this collection."""
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


def run_module(
    argument_spec: dict[str, Any],
    function: Callable[[dict[str, Any], bool, bool], dict[str, Any] | None],
    requires: Callable[[Any], None] | None = None,
) -> None:
    """Validate the arguments, fail when ``requires(module)`` finds a library missing, end with ``function``'s
    result. A None result means the kubernetes package is missing (a function that needs it only sometimes, as
    envoy_summary's for the envoys the run did not see, can tell only then)."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if requires:
        requires(module)
    result = function(module.params, module.check_mode, module._diff)
    if result is None:
        from ansible_collections.openfl.envoy.plugins.module_utils.k8s_client import KUBERNETES_IMPORT_ERROR

        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    exit_module(module, result)
