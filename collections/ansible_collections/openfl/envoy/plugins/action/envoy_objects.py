# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""openfl.envoy.envoy_objects in the controller's worker: the envoy's files are read and the Kubernetes
API is called from the control node, as the module would (plugin_utils/controller_module)."""

from __future__ import annotations

from ansible_collections.openfl.envoy.plugins.plugin_utils.controller_module import ControllerModuleAction


class ActionModule(ControllerModuleAction):
    backend = "envoy_objects"
