# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The envoy_health module: its argument spec, bad options, and the result per envoy (the waiting
itself is tested on the backend, test_envoy_health.py, and on the sandbox)."""

from __future__ import annotations

from ansible_collections.openfl.envoy.plugins.module_utils import envoy_health as backend
from ansible_collections.openfl.envoy.plugins.modules import envoy_health
from ansible_collections.openfl.envoy.tests.unit.plugins.modules.module_runner import run_module

KUBEFATE = {"url": "http://127.0.0.1:9", "username": "admin", "password": "s3cret-pw"}


def test_skipped_envoys_return_an_entry_each_in_check_mode():
    envoys = [{"name": "e1", "namespace": "n1", "skip": True}, {"name": "e2", "namespace": "n2", "skip": True}]
    result = run_module(envoy_health.main, {"envoys": envoys}, check_mode=True)
    assert not result.failed and result.result["changed"] is False
    assert sorted(result.result["envoys"]) == ["e1", "e2"]
    assert result.result["envoys"]["e1"]["skipped"] is True and result.result["envoys"]["e1"]["failed"] is False


def test_bad_options_fail_the_module():
    envoys = [{"name": "e1", "namespace": "n1", "job_uuid": "u1"}, {"name": "e1", "namespace": "n1"}]
    result = run_module(envoy_health.main, {"envoys": envoys, "interval": 0, "error_patterns": ["("]})
    assert result.failed
    for text in ("interval 0", "'(' is not a regular expression", "listed more than once", "kubefate (the connection)"):
        assert text in result.result["msg"]


def test_verdicts_are_returned_not_failed(monkeypatch):
    """An envoy's failure is its entry's, never the module's; the password stays out."""

    def wait(self):
        return {"e1": backend.Verdict(True, "e1: the envoy container cannot run (CrashLoopBackOff)", ["x"])}

    monkeypatch.setattr(backend.EnvoyHealth, "wait", wait)
    envoys = [{"name": "e1", "namespace": "n1", "job_uuid": "u1", "kubefate": KUBEFATE}]
    result = run_module(envoy_health.main, {"envoys": envoys})
    assert not result.failed and result.result["envoys"]["e1"]["failed"] is True
    assert "s3cret-pw" not in repr(result.result)


def test_options_reach_the_backend(monkeypatch):
    seen = {}

    def snapshot(self):
        seen.update(options=self.options, targets=self.targets)
        return {}

    monkeypatch.setattr(backend.EnvoyHealth, "snapshot", snapshot)
    envoys = [{"name": "e1", "namespace": "n1", "kubefate": KUBEFATE, "kubernetes": {"context": "site-a"}}]
    args = {"envoys": envoys, "wait": False, "markers": ["registered!"], "health_timeout": 5, "interval": 0.5}
    assert not run_module(envoy_health.main, args).failed
    options, (target,) = seen["options"], seen["targets"]
    assert options.markers == ("registered!",) and options.health_timeout == 5 and options.interval == 0.5
    assert options.error_patterns == backend.DEFAULT_ERROR_PATTERNS
    assert target.kubernetes == {"kubeconfig": None, "context": "site-a"}
    assert target.kubefate["timeout"] == 30 and target.kubefate["validate_certs"] is True and target.job_uuid is None
