# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The modules that run in their action plugins (plugin_utils/controller_module): arguments validated as
AnsibleModule validates them, check mode passed on, the summary reading only what the run did not see, and the
module process where the worker would not do the same."""

from __future__ import annotations

import base64
import json
import logging
import tempfile
import warnings
from unittest.mock import MagicMock

import pytest
from ansible_collections.openfl.envoy.plugins.action import (
    envoy_certificates,
    envoy_inputs,
    envoy_objects,
    envoy_summary,
    x509_ca,
)
from ansible_collections.openfl.envoy.plugins.module_utils import envoy_health, pki_modules
from ansible_collections.openfl.envoy.plugins.module_utils import envoy_objects as objects_utils


def run(plugin, args: dict, check_mode: bool = False, **where) -> tuple[dict, MagicMock]:
    """Run the action as a local task would (``where``: transport, become, environment to say otherwise)."""
    task = MagicMock(args=args, diff=False, check_mode=check_mode, async_val=0, environment=where.get("environment"))
    connection, play_context = (
        MagicMock(transport=where.get("transport", "local")),
        MagicMock(become=where.get("become")),
    )
    action = plugin.ActionModule(task, connection, play_context, MagicMock(), MagicMock(), MagicMock())
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

    monkeypatch.setattr(pki_modules, "run_ca", broken)
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
def test_summary_reads_what_the_run_did_not_see(seen, monkeypatch):
    read = []

    class Snapshot:
        def __init__(self, targets, options):
            read.extend(target.name for target in targets)

        def snapshot(self):
            status = {"registered": False, "job": None, "cluster_status": "Deploying", "certificate_expires": None}
            return {name: MagicMock(as_dict=MagicMock(return_value=status)) for name in read}

    monkeypatch.setattr(envoy_health, "EnvoyHealth", Snapshot)
    result, module = run(envoy_summary, {"envoys": [ENVOY], "seen": seen})
    assert read == ["envoy-1"] and not module.called
    assert [line["cluster_status"] for line in result["lines"]] == ["Deploying"]


@pytest.mark.parametrize(
    "where",
    [{"transport": "ssh"}, {"become": True}, {"environment": [{"HTTPS_PROXY": "http://proxy:3128"}]}],
    ids=["remote-connection", "become", "task-environment"],
)
def test_the_module_runs_where_the_worker_would_not_do_the_same(where, tmp_path):
    envoy = {"name": "envoy-1", "namespace": "openfl-envoy-1", "python_dir": str(tmp_path / "missing")}
    result, module = run(envoy_inputs, {"envoys": [envoy]}, **where)
    assert module.called and result["lines"] == ["read by the module"]


def test_a_play_without_environment_runs_in_process(tmp_path):
    envoy = {"name": "envoy-1", "namespace": "openfl-envoy-1", "python_dir": str(tmp_path / "missing")}
    result, module = run(envoy_inputs, {"envoys": [envoy]}, environment=[{}])
    assert not module.called and result["bad"] == ["envoy-1"]


def test_the_files_a_kubeconfig_inline_data_becomes_are_removed(tmp_path, monkeypatch):
    """The kubernetes client writes inline certificates and keys to temporary files it removes only at exit,
    which a worker never runs: the action removes them when the backend ends."""
    from kubernetes.config import kube_config

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(kube_config, "_temp_files", {})  # written afresh, not found in an earlier test's cache
    inline = base64.b64encode(b"not really a PEM, but written to a file all the same").decode()
    cluster = {"server": "https://127.0.0.1:9", "certificate-authority-data": inline}
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": {"client-key-data": inline, "client-certificate-data": inline}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    (tmp_path / "kubeconfig").write_text(json.dumps(kubeconfig))
    python_dir = tmp_path / "shards"
    python_dir.mkdir()
    envoy = {"name": "envoy-1", "namespace": "openfl-envoy-1", "pki_dir": str(tmp_path), "python_dir": str(python_dir)}
    envoy["kubeconfig"] = str(tmp_path / "kubeconfig")
    result, module = run(envoy_objects, {"envoys": [envoy]})
    assert not module.called and result["envoys"]["envoy-1"]["failed"]
    assert list(scratch.iterdir()) == [] and tempfile.tempdir == str(scratch)


def test_what_a_module_would_print_on_stderr_is_dropped(monkeypatch, capsys, recwarn):
    def noisy(params, check_mode, diff):
        logging.getLogger("kubernetes.client.rest").warning("a log line of a library without a handler")
        warnings.warn("Unverified HTTPS request", stacklevel=1)
        return {"changed": False}

    monkeypatch.setattr(pki_modules, "run_ca", noisy)
    monkeypatch.setattr(logging.root, "handlers", [])  # as in a worker: a log line would go to stderr
    result = run(x509_ca, {"certificate_path": "/x/ca.crt", "private_key_path": "/x/ca.key"})[0]
    assert result == {"changed": False} and capsys.readouterr().err == "" and len(recwarn) == 0
    assert logging.root.manager.disable == logging.NOTSET


def test_the_module_runs_when_this_python_lacks_kubernetes(monkeypatch):
    monkeypatch.setattr(objects_utils, "HAS_KUBERNETES", False)
    result, module = run(envoy_objects, {"envoys": []})
    assert module.called and result["lines"] == ["read by the module"]
