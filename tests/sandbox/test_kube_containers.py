"""The kubelet's real-container runner: files as the kubelet lays them out, paths, env, hosts, logs, exits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sandbox.kube.containers import PODENV, ContainerRunner, _rewrite

SCRIPT = r"""set -eu
pwd
cat envoy_config.yaml
cat cert/priv.key
stat -c '%a' cert/..data/priv.key python/..data/mod.py
readlink cert/priv.key
cat "$DATA_DIR/mod.py"
echo "name=$ENVOY_NAME expanded=$GREETING"
grep director /etc/hosts || true
grep director "$SANDBOX_POD_ROOT/etc/hosts"
exit 3
"""


def pod(uid: str) -> dict:
    return {
        "metadata": {"name": "envoy-abc-12345", "namespace": "ns", "uid": uid},
        "spec": {
            "hostAliases": [{"ip": "127.0.0.9", "hostnames": ["director"]}],
            "volumes": [
                {"name": "cert", "secret": {"secretName": "envoy-cert", "defaultMode": 0o440}},
                {"name": "python", "configMap": {"name": "py"}},
                {"name": "config", "configMap": {"name": "envoy-config"}},
            ],
            "containers": [
                {
                    "name": "envoy",
                    "workingDir": "/openfl/workspace",
                    "command": ["/bin/bash", "-c"],
                    "args": [SCRIPT],
                    "env": [
                        {"name": "ENVOY_NAME", "value": "envoy-1"},
                        {"name": "GREETING", "value": "hello $(ENVOY_NAME)"},
                        {"name": "DATA_DIR", "value": "/openfl/workspace/python"},
                    ],
                    "volumeMounts": [
                        {"name": "cert", "mountPath": "/openfl/workspace/cert/"},
                        {"name": "python", "mountPath": "/openfl/workspace/python/"},
                        {"name": "config", "mountPath": "/openfl/workspace/envoy_config.yaml", "subPath": "cfg.yaml"},
                    ],
                }
            ],
        },
    }


VOLUMES = {
    "cert": [("priv.key", b"KEY\n", 0o440)],
    "python": [("mod.py", b"print('mod')\n", 0o644)],
    "config": [("cfg.yaml", b"shard_descriptor: {}\n", 0o644)],
}


def test_runner_lays_out_the_pod_and_runs_its_command(tmp_path: Path) -> None:
    runner = ContainerRunner(tmp_path / "pods", Path(sys.executable).parent)
    spec = pod("uid-1")
    runner.start(spec, spec["spec"]["containers"][0], lambda volume: VOLUMES[volume["name"]])
    deadline = time.monotonic() + 10
    while runner.exit_code("uid-1") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runner.exit_code("uid-1") == 3
    rootfs = tmp_path / "pods" / "uid-1" / "root"
    log = runner.log("uid-1")
    assert log[0] == f"{rootfs}/openfl/workspace"
    assert log[1:3] == ["shard_descriptor: {}", "KEY"]
    assert log[3:5] == ["440", "644"]
    assert log[5] == "..data/priv.key"
    assert log[6:8] == ["print('mod')", "name=envoy-1 expanded=hello envoy-1"]
    assert log[-1] == "127.0.0.9\tdirector"  # the pod's hosts file, not the machine's
    assert (rootfs / "openfl" / "workspace" / "envoy_config.yaml").is_file()  # subPath: a regular file
    assert not (rootfs / "openfl" / "workspace" / "envoy_config.yaml").is_symlink()

    runner.start(spec, spec["spec"]["containers"][0], lambda volume: VOLUMES[volume["name"]])  # a restart
    assert runner.log("uid-1", previous=True) == log
    runner.stop_all()
    assert not (tmp_path / "pods").exists()


def test_stop_kills_the_whole_process_group(tmp_path: Path) -> None:
    runner = ContainerRunner(tmp_path / "pods", Path(sys.executable).parent)
    spec = pod("uid-2")
    container = dict(spec["spec"]["containers"][0], args=["sleep 300 & sleep 300 & wait"], volumeMounts=[])
    runner.start(spec, container, lambda volume: None)
    time.sleep(0.3)
    group = runner.processes["uid-2"].popen.pid
    assert runner.running("uid-2")
    runner.stop_all()
    deadline = time.monotonic() + 3  # killed processes may linger a moment until their new parent reaps them
    while subprocess.run(["pgrep", "-g", str(group)], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "processes of the container's group survived"
        time.sleep(0.05)


def test_rewrite_maps_only_container_paths(tmp_path: Path) -> None:
    prefixes = ["/openfl/workspace"]
    assert _rewrite("x:/openfl/workspace/python", tmp_path, prefixes) == f"x:{tmp_path}/openfl/workspace/python"
    assert _rewrite("/openfl/workspace", tmp_path, prefixes) == f"{tmp_path}/openfl/workspace"
    for untouched in ("/bin/bash", "/openfl/workspaces", "cert/priv.key", "a/openfl/workspace"):
        assert _rewrite(untouched, tmp_path, prefixes) == untouched


def test_sitecustomize_resolves_the_pods_host_aliases(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hosts").write_text(
        "127.0.0.1\tlocalhost\n# Entries added by HostAliases.\n127.0.0.9\tdirector\n"
    )
    env = dict(os.environ, PYTHONPATH=str(PODENV), SANDBOX_POD_ROOT=str(tmp_path))
    code = "import socket; print(socket.gethostbyname('director'), socket.getaddrinfo('Director', 1)[0][4][0])"
    answer = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert answer.stdout.split() == ["127.0.0.9", "127.0.0.9"]
