"""KubeFATE test double: an in-memory KubeFATE v1.4.5 service on 127.0.0.1, written from its REST API.

It is not KubeFATE. It reproduces what clients observe (routes, redirects, gin-jwt auth, Go
binding errors, envelopes and texts, the asynchronous job progression) and installs charts on the
Kubernetes API test double with Helm's own template engine (`helm_python`). Tests and demos only.

Test knobs (constructor, `configure()`, or `POST /_sandbox/config` with a JSON object):
  job_latency      seconds a job stays Pending before its worker proceeds
  token_ttl        token lifetime in seconds (real: 1800)
  job_time_limit   seconds before an install/update that never gets Available fails (real: 3600);
                   also what jobs report as `time_limit` (nanoseconds)
  fault_rate       share r of authenticated requests that fail: every round(1/r)-th one, alternately
                   an empty HTTP 500 and a dropped connection; drops alternate between "handled,
                   then dropped" and "dropped unhandled". Login, logout, `/` and 401s never fault.
  service_version  e.g. "v1.4.4" to emulate KubeFATE < v1.9.0 (no valueTemplateExample route,
                   unchanged updates refused for every chart)
`POST /_sandbox/restart` draws a new signing key (every token invalid, as a real restart);
`POST /_sandbox/reset` forgets charts, clusters, jobs and Helm releases (Kubernetes is untouched).
`save_state()`/`load_state()` keep all of it across a stop and start (persist.py says what a
restart changes).

Known differences from the real service: Helm releases live in memory (no release Secrets);
upgrades replace objects instead of patching; the FATE upgrade manager (chart `fate` with a new
chartVersion) is not run; StatefulSets, ingresses and nodes are not consulted (`Info.ip` is "");
polling runs every 0.5 s instead of 1 s/5 s; a restart keeps running jobs going.
"""

from __future__ import annotations

import threading
from typing import Any

from . import persist
from .auth import TokenIssuer
from .kube import KubeClient
from .server import FaultInjector, KubeFateHTTPServer, Service
from .service import Handlers, Knobs, State
from .workers import Workers

__all__ = ["KubeFateServer"]


class KubeFateServer:
    """One emulated KubeFATE service: `start()` serves it in threads; `url` reaches it."""

    def __init__(
        self,
        kube_url: str,
        kube_token: str,
        username: str,
        password: str,
        host: str = "127.0.0.1",
        port: int = 0,
        job_latency: float = 0.0,
        token_ttl: float = 1800.0,
        fault_rate: float = 0.0,
        job_time_limit: float = 60.0,
    ) -> None:
        self.kube = KubeClient(kube_url, kube_token)
        self.state = State(self.kube, username, password, Knobs())
        self.workers = Workers(self.state)
        self.faults = FaultInjector()
        handlers = Handlers(self.state, self.workers.start)
        self.service = Service(self.state, handlers, TokenIssuer(), self.faults)
        self.configure(
            job_latency=job_latency, token_ttl=token_ttl, fault_rate=fault_rate, job_time_limit=job_time_limit
        )
        self._http = KubeFateHTTPServer((host, port), self.service)
        self._thread = threading.Thread(target=self._http.serve_forever, name="kubefate-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> int:
        """HTTP requests received since the start (test knobs included; not saved across a restart)."""
        return self.service.requests

    def configure(self, **knobs: Any) -> None:
        """Set test knobs: job_latency, token_ttl, job_time_limit (seconds), fault_rate (share of
        authenticated requests that fail), service_version (emulate an older service, e.g. "v1.4.4")."""
        self.service.configure(**knobs)

    def restart(self) -> None:
        """A simulated service restart: new signing key, so every issued token is invalid."""
        self.service.sandbox("sandbox_restart", b"")

    def reset(self) -> None:
        """Forget every chart, cluster and job (Kubernetes objects are left alone)."""
        self.state.reset()

    def save_state(self) -> dict[str, Any]:
        """The service's database (charts, clusters, jobs, users) and Helm releases, JSON-shaped."""
        return persist.save(self.state)

    def load_state(self, data: dict[str, Any]) -> None:
        """Load a `save_state()` before `start()`, as a restarted service finds its database (see persist.py)."""
        persist.load(self.state, data)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.workers.stop()
        if self._thread.is_alive():
            self._http.shutdown()
        self._http.server_close()
        self.kube.close()
