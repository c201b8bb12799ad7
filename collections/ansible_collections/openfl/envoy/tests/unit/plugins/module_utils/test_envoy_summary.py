# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rollout summary: lines from a snapshot, Markdown, files written only when they change."""

from __future__ import annotations

import json

from ansible_collections.openfl.envoy.plugins.module_utils.envoy_summary import markdown, summary_line, write_summary

ENVOY = {"name": "envoy-1", "namespace": "openfl-envoy-1", "site": ""}
SNAPSHOT = {
    "certificate_expires": "2027-12-01 10:36 UTC",
    "cluster_status": "Running",
    "job": {"uuid": "u-1", "status": "Success"},
    "registered": True,
}


def test_line_and_markdown():
    line = summary_line(ENVOY, SNAPSHOT)
    assert line == {
        "envoy": "envoy-1",
        "site": "default",
        "namespace": "openfl-envoy-1",
        "certificate_expires": "2027-12-01 10:36 UTC",
        "cluster_status": "Running",
        "job": "u-1",
        "job_status": "Success",
        "registered": True,
    }
    absent = summary_line(dict(ENVOY, name="envoy-2"), {})
    assert absent["cluster_status"] == "absent" and absent["certificate_expires"] == "missing"
    text = markdown([line, absent])
    assert "| envoy-1 | default | openfl-envoy-1 | 2027-12-01 10:36 UTC | Running | u-1 | Success | yes |" in text
    assert "| envoy-2 |" in text and "| NO |" in text
    assert text.rstrip().endswith("1 of 2 envoys registered.")


def test_files_written_once_and_never_in_check_mode(tmp_path):
    lines = [summary_line(ENVOY, SNAPSHOT)]
    directory = str(tmp_path / "artifacts")
    assert write_summary(directory, lines, check_mode=True) == [f"{directory}/summary.json", f"{directory}/summary.md"]
    assert not (tmp_path / "artifacts").exists()
    assert len(write_summary(directory, lines, check_mode=False)) == 2
    assert json.loads((tmp_path / "artifacts" / "summary.json").read_text()) == {"envoys": lines}
    assert write_summary(directory, lines, check_mode=False) == []
    assert write_summary(directory, lines, check_mode=True) == []


def test_envoys_that_failed_earlier_are_listed_as_failed():
    from ansible_collections.openfl.envoy.plugins.module_utils.envoy_summary import failed_line

    lines = [summary_line(ENVOY, SNAPSHOT), failed_line("envoy-2")]
    text = markdown(lines)
    assert "| envoy-2 |" in text and "FAILED earlier in this run" in text
    assert "1 of 2 envoys registered." in text
    assert "Failed earlier in this run (see its output): envoy-2." in text
