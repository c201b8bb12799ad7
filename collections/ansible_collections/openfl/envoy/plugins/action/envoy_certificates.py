# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""openfl.envoy.envoy_certificates on the controller, where the PKI lives: no module process
(plugin_utils/controller_module)."""

from __future__ import annotations

from ansible_collections.openfl.envoy.plugins.plugin_utils.controller_module import ControllerModuleAction


class ActionModule(ControllerModuleAction):
    backend = "pki_modules"
    spec_name, function_name = "envoy_certificates_argument_spec", "run_envoy_certificates"
