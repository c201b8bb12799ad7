# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""openfl.envoy.envoy_summary: when this run's install stage saw every envoy (option ``seen``), the
summary is only written, on the controller, with no module process; otherwise the module reads."""

from __future__ import annotations

from ansible_collections.openfl.envoy.plugins.module_utils.envoy_summary import argument_spec, summarize_seen
from ansible_collections.openfl.envoy.plugins.plugin_utils.controller_module import ControllerModuleAction


class ActionModule(ControllerModuleAction):
    argument_spec = argument_spec()
    run_module = staticmethod(summarize_seen)
    module = "openfl.envoy.envoy_summary"
    _requires_connection = True  # the module may have to run
