# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rollout summary: one line per envoy, as JSON and Markdown, from what this run's health check
saw of the envoy or, for an envoy it did not see, from a status snapshot (envoy_health's
``snapshot()``, read by the module)."""

from __future__ import annotations

import json
import os
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.artifacts import write_text
from ansible_collections.openfl.envoy.plugins.module_utils.envoy_targets import certificate_expiry, envoy_target_spec

COLUMNS = (
    ("envoy", "envoy"),
    ("site", "site"),
    ("namespace", "namespace"),
    ("certificate_expires", "certificate expires"),
    ("cluster_status", "cluster"),
    ("job", "job"),
    ("job_status", "job status"),
    ("registered", "registered"),
)


def summary_line(envoy: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    """One envoy's line: its contract (name, site, namespace) and what the snapshot saw."""
    job = status.get("job") or {}
    return {
        "envoy": envoy["name"],
        "site": envoy.get("site") or "default",
        "namespace": envoy["namespace"],
        "certificate_expires": status.get("certificate_expires") or "missing",
        "cluster_status": status.get("cluster_status") or "absent",
        "job": job.get("uuid") or "",
        "job_status": job.get("status") or "",
        "registered": bool(status.get("registered")),
    }


def failed_line(name: str) -> dict[str, Any]:
    """The line of an envoy that failed at an earlier step of this run (Ansible left it out of later plays)."""
    return {
        "envoy": name,
        "site": "",
        "namespace": "",
        "certificate_expires": "",
        "cluster_status": "FAILED earlier in this run",
        "job": "",
        "job_status": "",
        "registered": False,
        "failed": True,
    }


def markdown(lines: list[dict[str, Any]]) -> str:
    def cell(line: dict[str, Any], key: str) -> str:
        if key == "registered":
            return "yes" if line[key] else "NO"
        return str(line[key])

    rows = ["# Envoy rollout summary", ""]
    rows.append("| " + " | ".join(title for _key, title in COLUMNS) + " |")
    rows.append("|" + "---|" * len(COLUMNS))
    rows += ["| " + " | ".join(cell(line, key) for key, _title in COLUMNS) + " |" for line in lines]
    registered = sum(1 for line in lines if line["registered"])
    rows += ["", f"{registered} of {len(lines)} envoys registered."]
    failed = [line["envoy"] for line in lines if line.get("failed")]
    if failed:
        rows.append(f"Failed earlier in this run (see its output): {', '.join(failed)}.")
    return "\n".join(rows) + "\n"


def write_summary(directory: str, lines: list[dict[str, Any]], check_mode: bool) -> list[str]:
    """summary.json and summary.md in ``directory``; the files that changed (or would)."""
    texts = {
        "summary.json": json.dumps({"envoys": lines}, indent=4) + "\n",
        "summary.md": markdown(lines),
    }
    paths = {os.path.join(directory, name): text for name, text in texts.items()}
    return [path for path, text in paths.items() if write_text(path, text, check_mode)]


# --- the module: options, what the run saw, the result (modules/envoy_summary.py and its action) ------


def argument_spec() -> dict[str, Any]:
    """The options of openfl.envoy.envoy_summary (the module documents them)."""
    return {
        "envoys": {
            "type": "list",
            "elements": "dict",
            "required": True,
            "options": envoy_target_spec(wait=False, site={"type": "str", "default": ""}),
        },
        "summary_dir": {"type": "path"},
        "failed": {"type": "list", "elements": "str", "default": []},
        "seen": {"type": "dict", "default": {}},
    }


def seen_status(envoy: dict[str, Any], seen: dict[str, Any]) -> dict[str, Any] | None:
    """The envoy's status from this run's health verdict and submit entry (``seen``: ``health`` and
    ``submit``, by envoy name), None when they do not tell it: no verdict, a skipped one (check mode), or a
    cluster the submit step installed or updated (its status changed after the submit's listing)."""
    name = envoy["name"]
    verdict = (seen.get("health") or {}).get(name) or {}
    submitted = (seen.get("submit") or {}).get(name) or {}
    status = (submitted.get("cluster") or {}).get("status")
    if "registered" not in verdict or verdict.get("skipped") or submitted.get("action") != "none" or not status:
        return None
    return {
        "registered": verdict["registered"],
        "job": verdict.get("job"),
        "cluster_status": status,
        "certificate_expires": certificate_expiry(envoy.get("certificate_path")),
    }


def summarize(params: dict[str, Any], check_mode: bool, statuses: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The module's result: the lines of ``statuses`` (one per envoy), the failed envoys' lines, the files."""
    lines = [summary_line(e, statuses[e["name"]]) for e in params["envoys"]]
    lines.sort(key=lambda line: (line["site"], line["envoy"]))
    lines += [failed_line(name) for name in sorted(params["failed"])]
    written = write_summary(params["summary_dir"], lines, check_mode) if params["summary_dir"] else []
    return {"changed": bool(written), "lines": lines, "markdown": markdown(lines), "written": written}


def run(params: dict[str, Any], check_mode: bool, diff: bool = False) -> dict[str, Any] | None:
    """The summary: what this run saw, and a snapshot of every other envoy; None when there is something to read
    and the kubernetes package is missing (the module then runs, in an interpreter that may have it, and names
    it when missing)."""
    statuses = {e["name"]: seen_status(e, params["seen"]) for e in params["envoys"]}
    unseen = [e for e in params["envoys"] if statuses[e["name"]] is None]
    if unseen:  # the Kubernetes client only when there is something to read
        from ansible_collections.openfl.envoy.plugins.module_utils.envoy_health import (
            EnvoyHealth,
            EnvoyTarget,
            HealthOptions,
        )
        from ansible_collections.openfl.envoy.plugins.module_utils.k8s_client import HAS_KUBERNETES

        if not HAS_KUBERNETES:
            return None
        snapshot = EnvoyHealth([EnvoyTarget.from_params(e) for e in unseen], HealthOptions()).snapshot()
        statuses.update({name: verdict.as_dict() for name, verdict in snapshot.items()})
    return summarize(params, check_mode, statuses)  # type: ignore[arg-type]
