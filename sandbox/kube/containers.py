"""Real containers for the kubelet test double: a pod's own container command as a local process.

No image and no namespaces: the container's filesystem is a per-pod root directory holding what
the pod mounts, laid out as the kubelet lays it out, and the "image" is the OpenFL virtualenv.

- Volumes: a Secret/ConfigMap volume mounted at a directory gets Kubernetes' atomic-writer layout
  (`..<timestamp>/` with the files, `..data` -> it, and one symlink per top-level name), file modes
  from `items[].mode`, else `defaultMode`, else 0644. A `subPath` mount is a regular file (a bind
  mount of that one file in a cluster).
- Paths: the process runs in `<root><workingDir>`; in the command, args and env values every
  absolute path under the workingDir or a mount path is rewritten to `<root><path>`
  (`/openfl/workspace/python` -> `<root>/openfl/workspace/python`). Relative paths need nothing.
- Env: the image's (PATH with the OpenFL venv's bin first, HOME, HOSTNAME = pod name), then the
  container's `env` (`value` only, `$(VAR)` expanded as Kubernetes does), then PYTHONPATH gets the
  sandbox's `podenv` directory in front (its sitecustomize.py honours the pod's hosts file).
- hostAliases: written to `<root>/etc/hosts` as the kubelet writes /etc/hosts; the process finds it
  through SANDBOX_POD_ROOT (see podenv/sitecustomize.py: no root, no LD_PRELOAD).
- Output: stdout and stderr go to one file per container start; the current one is `kubectl logs`,
  the one before is `kubectl logs --previous`.
- Each process is a session leader; stopping kills its whole process group.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PODENV = Path(__file__).resolve().parent / "podenv"
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STOP_GRACE = 5.0
# (relative path in the volume, content, mode) for each file a volume projects.
VolumeFiles = list[tuple[str, bytes, int]]
VolumeReader = Callable[[dict], VolumeFiles | None]


@dataclass
class Process:
    popen: subprocess.Popen
    log_path: Path


class ContainerRunner:
    """Runs containers of pods as process groups under `root/<pod uid>/`."""

    def __init__(self, root: Path, image_bin: Path) -> None:
        self.root = Path(root)
        self.image_bin = Path(image_bin)
        self.processes: dict[str, Process] = {}

    def pod_dir(self, uid: str) -> Path:
        return self.root / uid

    def start(self, pod: dict, container: dict, volume_files: VolumeReader, extra_env: dict | None = None) -> None:
        """(Re)start the pod's container: lay out its files afresh, then spawn its command (with the
        kubelet's `extra_env` on top of the container's own)."""
        uid = pod["metadata"]["uid"]
        self.kill(uid)
        pod_dir = self.pod_dir(uid)
        rootfs = pod_dir / "root"
        if rootfs.exists():
            shutil.rmtree(rootfs)
        rootfs.mkdir(parents=True, mode=0o755)
        _lay_out_volumes(rootfs, pod, container, volume_files)
        _write_hosts(rootfs, pod)
        prefixes = _path_prefixes(container)
        env = {**self._env(rootfs, pod, container, prefixes), **(extra_env or {})}
        argv = [_rewrite(_expand_k8s(word, env), rootfs, prefixes) for word in _argv(container)]
        workdir = rootfs / (container.get("workingDir") or "/").lstrip("/")
        workdir.mkdir(parents=True, exist_ok=True)
        current, previous = pod_dir / "current.log", pod_dir / "previous.log"
        if current.exists():
            current.replace(previous)
        with open(current, "wb") as log:
            popen = subprocess.Popen(
                argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.processes[uid] = Process(popen, current)
        (pod_dir / "pid").write_text(f"{popen.pid}\n")  # `sandbox down` kills the group if this process cannot

    def _env(self, rootfs: Path, pod: dict, container: dict, prefixes: list[str]) -> dict[str, str]:
        env = {
            "PATH": f"{self.image_bin}:{IMAGE_PATH}",
            "HOME": str(rootfs / "root"),
            "HOSTNAME": pod["metadata"]["name"],
            "LANG": "C.UTF-8",
        }
        (rootfs / "root").mkdir(exist_ok=True)
        for item in container.get("env") or []:
            if "name" in item:
                env[item["name"]] = _rewrite(_expand_k8s(str(item.get("value", "")), env), rootfs, prefixes)
        env["PYTHONPATH"] = ":".join(p for p in (str(PODENV), env.get("PYTHONPATH", "")) if p)
        env["SANDBOX_POD_ROOT"] = str(rootfs)
        return env

    def exit_code(self, uid: str) -> int | None:
        """The exit code once the process has ended (signals as 128 + n), else None."""
        process = self.processes.get(uid)
        if process is None:
            return None
        code = process.popen.poll()
        if code is None:
            return None
        return 128 - code if code < 0 else code

    def running(self, uid: str) -> bool:
        return uid in self.processes and self.processes[uid].popen.poll() is None

    def log(self, uid: str, previous: bool = False) -> list[str] | None:
        """The container's output (this start, or the one before); None when it never started here."""
        path = self.pod_dir(uid) / ("previous.log" if previous else "current.log")
        try:
            return path.read_bytes().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            return None

    def kill(self, uid: str) -> None:
        process = self.processes.pop(uid, None)
        if process is not None:
            _stop_groups([process.popen])

    def discard(self, uid: str) -> None:
        """The pod is gone: stop its process and remove its directory."""
        self.kill(uid)
        shutil.rmtree(self.pod_dir(uid), ignore_errors=True)

    def stop_all(self) -> None:
        """Stop every process group (SIGTERM, then SIGKILL after a grace period) and remove every pod dir."""
        _stop_groups([p.popen for p in self.processes.values()])
        self.processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def _stop_groups(popens: list[subprocess.Popen]) -> None:
    for popen in popens:
        _signal_group(popen, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for popen in popens:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(max(0.0, deadline - time.monotonic()))
        _signal_group(popen, signal.SIGKILL)  # whatever is left in the group (e.g. children of bash)
        popen.wait()


def _signal_group(popen: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signum)


def _argv(container: dict) -> list[str]:
    return [str(w) for w in (container.get("command") or []) + (container.get("args") or [])]


def _expand_k8s(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion (`$$(VAR)` escapes; unknown names stay as written)."""
    return re.sub(
        r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
        text,
    )


def _path_prefixes(container: dict) -> list[str]:
    paths = [container.get("workingDir") or ""] + [m.get("mountPath", "") for m in container.get("volumeMounts") or []]
    cleaned = {p.rstrip("/") for p in paths if p.startswith("/") and p.rstrip("/")}
    return sorted(cleaned, key=len, reverse=True)


def _rewrite(text: str, rootfs: Path, prefixes: list[str]) -> str:
    """Map absolute container paths under the workingDir or a mount to the pod's root dir."""
    for prefix in prefixes:
        text = re.sub(rf"(?<![\w./-]){re.escape(prefix)}(?=/|$|[^\w.-])", lambda _m, p=prefix: f"{rootfs}{p}", text)
    return text


def _lay_out_volumes(rootfs: Path, pod: dict, container: dict, volume_files: VolumeReader) -> None:
    volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
    stamp = datetime.now(UTC).strftime("..%Y_%m_%d_%H_%M_%S.%f")
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name"))
        files = volume_files(volume) if volume else None
        if files is None:
            continue
        target = rootfs / mount["mountPath"].strip("/")
        if mount.get("subPath"):
            found = next(((data, mode) for path, data, mode in files if path == mount["subPath"]), None)
            if found is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                _write(target, *found)
            continue
        target.mkdir(parents=True, exist_ok=True)
        data_dir = target / stamp
        for path, data, mode in files:
            _write(data_dir / path, data, mode)
        data_dir.mkdir(parents=True, exist_ok=True)
        (target / "..data").symlink_to(stamp)
        for top in sorted({path.split("/", 1)[0] for path, _, _ in files}):
            (target / top).symlink_to(f"..data/{top}")


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, mode)


def _write_hosts(rootfs: Path, pod: dict) -> None:
    """The pod's /etc/hosts as the kubelet writes it, hostAliases last."""
    name = pod["metadata"]["name"]
    lines = [
        "# Kubernetes-managed hosts file.",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        f"{(pod.get('status') or {}).get('podIP') or '10.244.0.10'}\t{name}",
    ]
    aliases = pod["spec"].get("hostAliases") or []
    if aliases:
        lines.append("")
        lines.append("# Entries added by HostAliases.")
        lines += [f"{a.get('ip', '')}\t{chr(9).join(a.get('hostnames') or [])}" for a in aliases]
    (rootfs / "etc").mkdir(exist_ok=True)
    (rootfs / "etc" / "hosts").write_text("\n".join(lines) + "\n")
