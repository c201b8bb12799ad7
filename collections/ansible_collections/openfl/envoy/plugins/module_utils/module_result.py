# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How a module of this collection ends: with the result its action plugin returns from the same function
(plugin_utils/controller_module), ``failed``/``msg`` and ``warnings`` included."""

from __future__ import annotations

from typing import Any


def exit_module(module: Any, result: dict[str, Any]) -> None:
    """End an AnsibleModule with a module result of this collection."""
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)
