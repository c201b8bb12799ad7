# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rollout summary: one line per envoy from a status snapshot, as JSON and Markdown."""

from __future__ import annotations

import json
import os
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.artifacts import write_text

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
