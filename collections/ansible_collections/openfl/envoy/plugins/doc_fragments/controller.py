# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The modules that run in their action plugins (plugin_utils/controller_module), after
    # ansible.builtin.action_common_attributes.flow (which describes these attributes).
    DOCUMENTATION = r"""
attributes:
  action:
    support: full
    details:
      - Its action plugin runs it in the controller's worker, with no module process, since it works from the
        control node (on its files, or through the Kubernetes API and KubeFATE clients).
      - The module itself runs over a connection that is not local, with become, with a task environment or
        C(async), or when the controller's Python lacks a library it needs (the kubernetes package).
  async:
    support: full
    details: As a module process.
  bypass_host_loop:
    support: none
"""
