# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""envoy_health's options and result: its module's main() and its action plugin (plugin_utils/controller_module)
read the same argument spec and call the same function here."""

from __future__ import annotations

import time
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.envoy_health import (
    DEFAULT_ERROR_PATTERNS,
    DEFAULT_FATAL_REASONS,
    DEFAULT_IGNORE_PATTERNS,
    DEFAULT_MARKERS,
    EnvoyHealth,
    EnvoyTarget,
    HealthOptions,
    target_problems,
)
from ansible_collections.openfl.envoy.plugins.module_utils.envoy_targets import envoy_target_spec
from ansible_collections.openfl.envoy.plugins.module_utils.k8s_client import HAS_KUBERNETES


def _strings(default: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "list", "elements": "str", "default": list(default)}


def argument_spec() -> dict[str, Any]:
    return {
        "envoys": {"type": "list", "elements": "dict", "required": True, "options": envoy_target_spec()},
        "jobs": {"type": "dict", "default": {}},
        "wait": {"type": "bool", "default": True},
        "job_timeout": {"type": "int", "default": 900},
        "job_grace": {"type": "int", "default": 10},
        "health_timeout": {"type": "int", "default": 300},
        "interval": {"type": "float", "default": 3.0},
        "excerpt_lines": {"type": "int", "default": 20},
        "markers": _strings(DEFAULT_MARKERS),
        "error_patterns": _strings(DEFAULT_ERROR_PATTERNS),
        "ignore_patterns": _strings(DEFAULT_IGNORE_PATTERNS),
        "fatal_reasons": _strings(DEFAULT_FATAL_REASONS),
    }


def options_from(params: dict[str, Any]) -> HealthOptions:
    return HealthOptions(
        job_timeout=params["job_timeout"],
        job_grace=params["job_grace"],
        health_timeout=params["health_timeout"],
        interval=params["interval"],
        excerpt_lines=params["excerpt_lines"],
        markers=tuple(params["markers"]),
        error_patterns=tuple(params["error_patterns"]),
        ignore_patterns=tuple(params["ignore_patterns"]),
        fatal_reasons=tuple(params["fatal_reasons"]),
    )


def with_submitted(item: dict[str, Any], jobs: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """An envoy with the job the submit step handed it (its own job_uuid wins); in check mode an
    envoy whose submit predicted a change has nothing to check yet."""
    submitted = jobs.get(item["name"]) or {}
    return dict(
        item,
        job_uuid=item["job_uuid"] or submitted.get("job_uuid"),
        skip=item["skip"] or (check_mode and bool(submitted.get("changed"))),
    )


def run(params: dict[str, Any], check_mode: bool, diff: bool = False) -> dict[str, Any] | None:
    """The verdict per envoy (waited for, or a snapshot); None without the kubernetes package (the module then
    runs, in an interpreter that may have it, and names it when missing)."""
    if not HAS_KUBERNETES:
        return None
    options = options_from(params)
    targets = [EnvoyTarget.from_params(with_submitted(item, params["jobs"], check_mode)) for item in params["envoys"]]
    problems = options.problems() + target_problems(targets, params["wait"])
    if problems:
        return {"changed": False, "failed": True, "msg": "; ".join(problems), "envoys": {}}
    started = time.monotonic()
    health = EnvoyHealth(targets, options)
    verdicts = health.wait() if params["wait"] else health.snapshot()
    return {
        "changed": False,
        "envoys": {name: verdict.as_dict() for name, verdict in verdicts.items()},
        "elapsed": round(time.monotonic() - started, 3),
    }
