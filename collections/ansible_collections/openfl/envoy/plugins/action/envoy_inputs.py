# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""openfl.envoy.envoy_inputs on the controller: it only reads the control node's files (python
directories, certificates and keys), so it needs no module process (plugin_utils/controller_module)."""

from __future__ import annotations

from ansible_collections.openfl.envoy.plugins.plugin_utils.controller_module import ControllerModuleAction


class ActionModule(ControllerModuleAction):
    backend = "envoy_inputs"
