"""The sandbox orchestrator: per site, one Kubernetes API test double and one KubeFATE test double.

`Sandbox` runs everything in threads of the current process (tests use it directly); `python -m
sandbox up` runs the same class in a detached background process. Both write, under the state
directory, a kubeconfig (one context, cluster and user per site, named after the site) and
`kubefate.yml` with each site's KubeFATE URL and credentials. Files are written 0600.

With `persist=True` (what the CLI uses) the sandbox behaves like a cluster that is stopped and
started: `stop()` writes each site's full state to `<state dir>/state/<site>.json` (Kubernetes
objects with their resourceVersions and the kubelet's view of the pods; KubeFATE's charts,
clusters, jobs, users and Helm releases; the bearer token and the KubeFATE password), and
`start()` loads it back before serving. Without it (the default) every start is empty.

Envoys: `envoys="real"` (what `python -m sandbox up` uses by default) runs a real OpenFL director
(director.py) and each envoy pod's own container command as a local process (kube/containers.py),
both from the OpenFL virtualenv `openfl_venv`; `envoys="emulated"` (the default of this class, so
that contract tests need no OpenFL) writes the log lines a real envoy would (kube/envoy.py).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import yaml

from .director import Director
from .kube import KubeServer
from .kube.containers import ContainerRunner
from .kube.envoy import OPENFL_VERSIONS

SITE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
KUBEFATE_USERNAME = "admin"
STATE_FORMAT = 1
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OPENFL_VENV = ROOT / ".venv-openfl"
DEFAULT_DIRECTOR_CERT_DIR = ROOT / "pki" / "sandbox" / "director"
ENVOY_MODES = ("real", "emulated")


class OpenFLMissing(RuntimeError):
    """Real envoys were asked for, but there is no OpenFL virtualenv."""


def openfl_bin(venv: Path) -> Path:
    """The OpenFL virtualenv's bin dir; fails clearly when it has no `fx`."""
    if not (venv / "bin" / "fx").is_file():
        raise OpenFLMissing(
            f"real OpenFL envoys need the OpenFL virtualenv {venv} (with bin/fx): run `make openfl-venv`, "
            "or start the sandbox with --envoys emulated"
        )
    return venv / "bin"


def kubefate_server_class() -> type | None:
    """The KubeFATE test double, if `sandbox.kubefate` is present (import errors inside it propagate)."""
    if importlib.util.find_spec("sandbox.kubefate") is None:
        return None
    return importlib.import_module("sandbox.kubefate").KubeFateServer


@dataclass
class Site:
    """One emulated site: its Kubernetes API and (when available) its KubeFATE service."""

    name: str
    kube: KubeServer
    kubefate: object | None
    kubefate_username: str
    kubefate_password: str

    @property
    def kube_url(self) -> str:
        return self.kube.url

    @property
    def kube_token(self) -> str:
        return self.kube.token

    @property
    def kubefate_url(self) -> str | None:
        return getattr(self.kubefate, "url", None)


class Sandbox:
    """Loopback test doubles of Kubernetes and KubeFATE for tests, molecule and `make demo`."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        sites: tuple[str, ...] | list[str] = ("sandbox",),
        job_latency: float = 0.0,
        token_ttl: float = 1800.0,
        fault_rate: float = 0.0,
        job_time_limit: float = 60.0,
        persist: bool = False,
        envoys: str = "emulated",
        openfl_venv: str | os.PathLike[str] | None = None,
        director_cert_dir: str | os.PathLike[str] | None = None,
        openfl_version: str | None = None,
    ) -> None:
        """`openfl_version`: whose wording emulated envoys log (1.5 when None); real envoys run the
        OpenFL of `openfl_venv`, so it must stay None with them."""
        names = list(sites)
        bad = [n for n in names if not SITE_NAME.match(n)]
        if not names or bad or len(set(names)) != len(names):
            raise ValueError(f"site names must be unique DNS-1123 labels, got {names!r}")
        self.state_dir = Path(state_dir).resolve()
        self.site_names = names
        self.kubefate_options = {
            "job_latency": job_latency,
            "token_ttl": token_ttl,
            "fault_rate": fault_rate,
            "job_time_limit": job_time_limit,
        }
        self.persist = persist
        if envoys not in ENVOY_MODES:
            raise ValueError(f"envoys must be one of {', '.join(ENVOY_MODES)}, got {envoys!r}")
        self.envoys = envoys
        if openfl_version is not None and (envoys != "emulated" or openfl_version not in OPENFL_VERSIONS):
            raise ValueError(
                f"openfl_version {openfl_version!r}: emulated envoys imitate OpenFL {', '.join(OPENFL_VERSIONS)};"
                " real envoys run the OpenFL of openfl_venv (leave openfl_version unset, or use envoys='emulated')"
            )
        self.openfl_version = openfl_version or OPENFL_VERSIONS[0]
        self.openfl_venv = Path(openfl_venv or DEFAULT_OPENFL_VENV).resolve()
        self.director_cert_dir = Path(director_cert_dir or DEFAULT_DIRECTOR_CERT_DIR).resolve()
        self.director: Director | None = None
        self.sites: dict[str, Site] = {}
        self._started = False

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def viewer_kubeconfig(self) -> Path:
        """The same contexts as `kubeconfig`, with a read-only identity (kube/access.py)."""
        return self.state_dir / "kubeconfig-viewer"

    @property
    def kubefate_config(self) -> Path:
        return self.state_dir / "kubefate.yml"

    @property
    def saved_state_dir(self) -> Path:
        return self.state_dir / "state"

    def saved_state(self, site: str) -> Path:
        """Where `stop()` saves a site's state when persisting."""
        return self.saved_state_dir / f"{site}.json"

    @property
    def run_dir(self) -> Path:
        """Runtime files of real processes (pod root dirs, the director's workspace); removed by stop()."""
        return self.state_dir / "run"

    def start(self) -> Sandbox:
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        kubefate_class = kubefate_server_class()
        image_bin = openfl_bin(self.openfl_venv) if self.envoys == "real" else None
        try:
            ports = self._load_director_ports() if self.persist else {}
            self.director = Director(self.state_dir, self.director_cert_dir, image_bin or Path(), self.envoys, **ports)
            self.director.start()
            for name in self.site_names:
                self.sites[name] = self._start_site(name, kubefate_class)
        except BaseException:
            self.stop()
            raise
        self._started = True
        write_private(self.kubeconfig, yaml.safe_dump(self._kubeconfig(), sort_keys=False))
        write_private(self.viewer_kubeconfig, yaml.safe_dump(self._kubeconfig(viewer=True), sort_keys=False))
        write_private(self.kubefate_config, yaml.safe_dump(self._kubefate_yaml(), sort_keys=False))
        return self

    def _start_site(self, name: str, kubefate_class: type | None) -> Site:
        saved = self._load(name) if self.persist else None
        runner = None
        if self.envoys == "real":
            runner = ContainerRunner(self.run_dir / "pods" / name, openfl_bin(self.openfl_venv))
        gate = self.director.ready if self.director is not None else None
        tokens = {"token": saved["kube_token"], "viewer_token": saved.get("kube_viewer_token")} if saved else {}
        kube = KubeServer(**tokens, runner=runner, gate=gate, openfl_version=self.openfl_version)
        if saved:
            kube.load_state(saved["kube"])
        kube.start()
        password = saved["kubefate_password"] if saved else secrets.token_urlsafe(24)
        kubefate = None
        if kubefate_class is not None:
            kubefate = kubefate_class(kube.url, kube.token, KUBEFATE_USERNAME, password, **self.kubefate_options)
            if saved and saved.get("kubefate"):
                kubefate.load_state(saved["kubefate"])
            kubefate.start()
        return Site(name, kube, kubefate, KUBEFATE_USERNAME, password)

    def _load(self, name: str) -> dict | None:
        try:
            text = self.saved_state(name).read_text()
        except FileNotFoundError:
            return None
        saved = json.loads(text)
        if saved.get("format") != STATE_FORMAT or saved.get("site") != name:
            raise ValueError(f"{self.saved_state(name)}: not a saved state of site {name!r} (format {STATE_FORMAT})")
        return saved

    def _load_director_ports(self) -> dict[str, int]:
        try:
            saved = json.loads((self.saved_state_dir / "director.json").read_text())
            return {"port": int(saved["port"]), "agg_port": int(saved["agg_port"])}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def stop(self) -> None:
        """Stop every server and process; when persisting (and the start had completed), save each site's state."""
        for site in self.sites.values():
            if site.kubefate is not None:
                site.kubefate.stop()  # job workers first, so that nothing writes while saving
            site.kube.stop()  # stops the envoy processes too
        if self.director is not None:
            self.director.stop()
        if self.persist and self._started:
            self.saved_state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            for site in self.sites.values():
                write_private(self.saved_state(site.name), json.dumps(self._site_state(site), separators=(",", ":")))
            if self.director is not None:
                ports = {"port": self.director.port, "agg_port": self.director.agg_port}
                write_private(self.saved_state_dir / "director.json", json.dumps(ports))
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self._started = False
        self.director = None
        self.sites.clear()

    def stats(self) -> dict:
        """Counters since the start: `{"kubefate_requests": {"total": n, "sites": {site: n}}}`."""
        sites = {s.name: getattr(s.kubefate, "requests", 0) for s in self.sites.values()}
        return {"kubefate_requests": {"total": sum(sites.values()), "sites": sites}}

    def _site_state(self, site: Site) -> dict:
        kubefate = site.kubefate
        return {
            "format": STATE_FORMAT,
            "site": site.name,
            "kube_token": site.kube_token,
            "kube_viewer_token": site.kube.viewer_token,
            "kubefate_password": site.kubefate_password,
            "kube": site.kube.save_state(),
            "kubefate": kubefate.save_state() if kubefate is not None else None,  # type: ignore[attr-defined]
        }

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _kubeconfig(self, viewer: bool = False) -> dict:
        sites = list(self.sites.values())
        token = {s.name: s.kube.viewer_token if viewer else s.kube_token for s in sites}
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": s.name, "cluster": {"server": s.kube_url}} for s in sites],
            "users": [{"name": s.name, "user": {"token": token[s.name]}} for s in sites],
            "contexts": [{"name": s.name, "context": {"cluster": s.name, "user": s.name}} for s in sites],
            "current-context": sites[0].name,
        }

    def _kubefate_yaml(self) -> dict:
        entries = {}
        for site in self.sites.values():
            entry = {"url": site.kubefate_url} if site.kubefate_url else {}
            entry.update(username=site.kubefate_username, password=site.kubefate_password, kube_context=site.name)
            entries[site.name] = entry
        return {"sites": entries}


def write_private(path: Path, text: str) -> None:
    """Atomically write `text` to `path` with mode 0600."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
