"""The sandbox's real OpenFL director: `fx director start` on 127.0.0.1, TLS on, the project's certificate.

Nothing here is emulated: it is OpenFL's own director process (from the OpenFL virtualenv). The
sandbox only decides when it runs. The playbook's `pki` stage writes the director's certificate
(roles/director_cert: `director.crt`, `priv.key`, `root_ca.crt` in `<openfl_pki_dir>/director/`);
a watcher thread (every 0.5 s) starts the director as soon as those three files exist and
restarts it whenever one of them changes (a renewal), as a Deployment would roll out on a changed
`director-cert` Secret; a director that exits is started again 10 s after its last start. Until
the files exist there is no director, and envoys fail to connect as they would.

Files (all under the state dir):

- `director.yml` (published at start, rewritten when something changes): `fqdn_hint`, `ip`
  (127.0.0.1), `port` (a free loopback port, the same one across `down`/`up` while it is free),
  `agg_port`, `cert_dir`, `envoys` (real | emulated), `running`, `pid`, and `accepted_shards` (the
  shard names the director's log shows as accepted, in order). inventories/sandbox reads `ip` and
  `port` from it; `python -m sandbox status` prints it.
- `director.log`: the director's stdout and stderr, appended across restarts (kept by `down`).
- `run/director/`: its workspace (`director_config.yaml`, `cert/`), removed when it stops.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG_TEMPLATE = ROOT / "files" / "director" / "director_config.yaml"
CERT_FILES = ("director.crt", "priv.key", "root_ca.crt")
WATCH_INTERVAL = 0.5
READY_TIMEOUT = 60.0  # envoys wait at most this long for a starting director
RESTART_DELAY = 10.0  # a director that exited is started again this long after its last start
STOP_GRACE = 5.0
# OpenFL 1.5 logs `UpdateShardInfo request has got: node_info { name: "<shard>" ... }` over several
# lines, then `Request was accepted` (or `Request was not accepted`); 1.6 logs
# `Director accepted shard for <shard>`.
SHARD_NAME = re.compile(r'^\s*(?:\[[^\]]*\]\s*)?(?:\w+\s+)?name:\s+"([^"]+)"')
ACCEPTED = re.compile(r"\bRequest was accepted\b")
REQUEST = re.compile(r"UpdateShardInfo request has got")
ACCEPTED_16 = re.compile(r"\bDirector accepted shard for (\S+)")


def free_port(preferred: int | None = None) -> int:
    """`preferred` when it can be bound on 127.0.0.1, else a free port the kernel picks."""
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def accepted_shards(log_text: str) -> list[str]:
    """Shard names the director accepted, in order (each name once), read from its own log."""
    names: list[str] = []
    current: str | None = None
    in_request = False
    for line in log_text.splitlines():
        named = ACCEPTED_16.search(line)
        if named and named.group(1) not in names:
            names.append(named.group(1))
            continue
        if REQUEST.search(line):
            in_request, current = True, None
        match = SHARD_NAME.match(line)
        if in_request and match and current is None:
            current = match.group(1)
        if ACCEPTED.search(line):
            if current and current not in names:
                names.append(current)
            in_request, current = False, None
    return names


class Director:
    """Starts/restarts the real director when its certificate files appear/change; publishes its address."""

    def __init__(
        self,
        state_dir: Path,
        cert_dir: Path,
        openfl_bin: Path,
        envoys: str,
        port: int | None = None,
        agg_port: int | None = None,
    ) -> None:
        """`port`/`agg_port`: the ports of an earlier run, kept while free (so the envoys' specs stay the same)."""
        self.state_dir = Path(state_dir)
        self.cert_dir = Path(cert_dir)
        self.openfl_bin = Path(openfl_bin)
        self.envoys = envoys
        self.port = free_port(port)
        self.agg_port = free_port(agg_port)
        if self.agg_port == self.port:
            self.agg_port = free_port()
        self.workspace = self.state_dir / "run" / "director"
        self.log_path = self.state_dir / "director.log"
        self.info_path = self.state_dir / "director.yml"
        self._popen: subprocess.Popen | None = None
        self._signature: str | None = None
        self._started_at = 0.0
        self._ready = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="director", daemon=True)
        self._published: dict | None = None

    # lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Publish the address; with real envoys, start watching for the certificate files."""
        if self.envoys == "real":
            self._check()
            self._thread.start()
        self._publish()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with self._lock:
            self._kill()
        shutil.rmtree(self.workspace, ignore_errors=True)
        self._publish()

    def ready(self) -> bool:
        """May envoys start? Yes unless a director is starting (files there, not yet listening, < 60 s).

        Called by the kubelet under the store lock: it reads without taking the watcher's lock (which
        is held while a director stops), so the API never waits for a director restart.
        """
        popen = self._popen
        if popen is None or popen.poll() is not None or self._ready:
            return True
        return time.monotonic() - self._started_at > READY_TIMEOUT

    @property
    def pid(self) -> int | None:
        popen = self._popen
        return popen.pid if popen is not None and popen.poll() is None else None

    # watching ---------------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_INTERVAL):
            try:
                self._check()
                self._publish()
            except Exception as error:  # keep watching: a half-written file is read again next time
                print(f"director watcher: {error}", flush=True)

    def _check(self) -> None:
        signature = self._files_signature()
        with self._lock:
            if signature != self._signature:
                self._kill()
                self._signature = signature
                if signature is not None:
                    self._launch()
            elif self._popen is not None and self._popen.poll() is not None:
                # It exited: start it again after a pause, as a Deployment restarts a crashed director.
                if time.monotonic() - self._started_at > RESTART_DELAY:
                    self._launch()
            elif self._popen is not None and not self._ready:
                self._ready = _answers(self.port)

    def _files_signature(self) -> str | None:
        digest = hashlib.sha256()
        for name in CERT_FILES:
            try:
                digest.update((self.cert_dir / name).read_bytes())
            except OSError:
                return None
        return digest.hexdigest()

    def _launch(self) -> None:
        workspace = self.workspace
        shutil.rmtree(workspace, ignore_errors=True)
        (workspace / "cert").mkdir(parents=True, mode=0o700)
        for name in CERT_FILES:
            shutil.copyfile(self.cert_dir / name, workspace / "cert" / name)
            os.chmod(workspace / "cert" / name, 0o600)
        config = yaml.safe_load(CONFIG_TEMPLATE.read_text()) or {}
        config.setdefault("settings", {}).update(listen_host="127.0.0.1", listen_port=self.port)
        (workspace / "director_config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        env = {
            "PATH": f"{self.openfl_bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(workspace),
            "LANG": "C.UTF-8",
            "OVERRIDE_AGG_PORT": str(self.agg_port),
        }
        # The command of FedLCM's openfl-director chart, in its workspace.
        command = [str(self.openfl_bin / "fx"), "director", "start", "--director-config-path", "director_config.yaml",
                   "--root-cert-path", "cert/root_ca.crt", "--private-key-path", "cert/priv.key",
                   "--public-cert-path", "cert/director.crt"]  # fmt: skip
        self._started_at, self._ready = time.monotonic(), False  # before the process is visible to ready()
        descriptor = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "ab") as log:
            log.write(f"--- sandbox: fx director start on 127.0.0.1:{self.port} ({time.ctime()})\n".encode())
            log.flush()
            self._popen = subprocess.Popen(
                command, cwd=workspace, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        (workspace / "pid").write_text(f"{self._popen.pid}\n")  # `sandbox down` kills the group if we cannot

    def _kill(self) -> None:
        popen, self._popen = self._popen, None
        self._ready = False
        if popen is None:
            return
        _signal_group(popen.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(STOP_GRACE)
        _signal_group(popen.pid, signal.SIGKILL)  # whatever is left in its process group
        popen.wait()

    # publishing -------------------------------------------------------------------------------

    def info(self) -> dict:
        try:
            log_text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            log_text = ""
        # Only this run of the director counts (the log is appended across restarts).
        current_run = log_text.rsplit("--- sandbox: fx director start", 1)[-1] if self.pid else ""
        return {
            "ip": "127.0.0.1",
            "port": self.port,
            "agg_port": self.agg_port,
            "envoys": self.envoys,
            "cert_dir": str(self.cert_dir),
            "running": self.pid is not None,
            "listening": self._ready,
            "pid": self.pid,
            "log": str(self.log_path),
            "accepted_shards": accepted_shards(current_run),
        }

    def _publish(self) -> None:
        info = self.info()
        if info != self._published:
            from .core import write_private

            write_private(self.info_path, yaml.safe_dump(info, sort_keys=False))
            self._published = info


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True
