# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The modules that run in their action plugins (plugin_utils/controller_module): arguments validated as
AnsibleModule validates them, check mode passed on, and the summary's module run only when it must read."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from ansible_collections.openfl.envoy.plugins.action import envoy_certificates, envoy_inputs, envoy_summary, x509_ca


def run(plugin, args: dict, check_mode: bool = False) -> tuple[dict, MagicMock]:
    task = MagicMock(args=args, diff=False, check_mode=check_mode, async_val=0)
    action = plugin.ActionModule(task, MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    action._execute_module = MagicMock(return_value={"changed": False, "lines": ["read by the module"]})
    return action.run(task_vars={}), action._execute_module


def test_bad_arguments_and_errors_are_failed_results_as_a_modules_are(tmp_path):
    """A failed result, not an exception: the shared steps' failed_when: false must see it."""
    assert run(envoy_inputs, {})[0] == {"failed": True, "msg": "missing required arguments: envoys"}
    result = run(envoy_inputs, {"envoys": [], "nonsense": 1})[0]
    assert result["failed"] and result["msg"].startswith("nonsense. Supported parameters include")
    missing_ca = {"ca_certificate_path": str(tmp_path / "no-ca.crt")}
    missing_ca["ca_private_key_path"] = str(tmp_path / "no-ca.key")
    envoy = {"common_name": "envoy-1", "certificate_path": str(tmp_path / "e.crt")}
    envoy.update(private_key_path=str(tmp_path / "e.key"), root_ca_path=str(tmp_path / "ca.crt"))
    result = run(envoy_certificates, {"envoys": [envoy], **missing_ca})[0]
    assert result["failed"] and "no-ca" in result["msg"] and "envoys" not in result


def test_an_unexpected_error_is_a_failed_result_without_no_log_values(monkeypatch):
    def broken(params, check_mode, diff):
        raise RuntimeError(f"boom with {params['passphrase']}")

    monkeypatch.setattr(x509_ca.ActionModule, "run_module", staticmethod(broken))
    args = {"certificate_path": "/x/ca.crt", "private_key_path": "/x/ca.key", "passphrase": "s3cret-1"}
    result = run(x509_ca, args)[0]
    assert result["failed"] and result["msg"].startswith("RuntimeError: boom with")
    assert "s3cret-1" not in repr(result)


def test_inputs_run_in_process(tmp_path):
    envoy = {"name": "envoy-1", "namespace": "openfl-envoy-1", "python_dir": str(tmp_path / "missing")}
    result, module = run(envoy_inputs, {"envoys": [envoy]})
    assert result["bad"] == ["envoy-1"] and result["envoys"]["envoy-1"]["failed"] and not module.called


def test_check_mode_writes_no_ca_and_no_log_values_stay_out(tmp_path):
    args = {"certificate_path": str(tmp_path / "ca.crt"), "private_key_path": str(tmp_path / "ca.key")}
    args.update(passphrase="s3cret-passphrase", key_type="ec")
    result = run(x509_ca, args, check_mode=True)[0]
    assert result["changed"] and not (tmp_path / "ca.key").exists()
    assert "s3cret-passphrase" not in repr(result)


ENVOY = {"name": "envoy-1", "namespace": "openfl-envoy-1", "site": "a"}
VERDICT = {"registered": True, "job": {"uuid": "u-1", "status": "Success"}, "failed": False, "skipped": False}
UNCHANGED = {"action": "none", "cluster": {"status": "Running"}}


def test_summary_of_what_the_run_saw_is_written_without_the_module(tmp_path):
    seen = {"health": {"envoy-1": VERDICT}, "submit": {"envoy-1": UNCHANGED}}
    args = {"envoys": [ENVOY], "seen": seen, "summary_dir": str(tmp_path)}
    result, module = run(envoy_summary, args)
    assert not module.called and result["changed"] and (tmp_path / "summary.md").is_file()
    (line,) = result["lines"]
    assert (line["cluster_status"], line["job"], line["registered"]) == ("Running", "u-1", True)


@pytest.mark.parametrize(
    "seen",
    [
        {},
        {"health": {"envoy-1": dict(VERDICT, skipped=True)}, "submit": {"envoy-1": UNCHANGED}},
        {"health": {"envoy-1": VERDICT}, "submit": {"envoy-1": dict(UNCHANGED, action="update")}},
    ],
    ids=["nothing-seen", "check-mode-skipped", "cluster-just-updated"],
)
def test_summary_reads_what_the_run_did_not_see(seen):
    result, module = run(envoy_summary, {"envoys": [ENVOY], "seen": seen})
    assert module.called and result["lines"] == ["read by the module"]
